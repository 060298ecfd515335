import { DatabaseError, type Pool, type PoolClient } from 'pg';
import { ConflictError } from '../../core/errors.js';
import type { Application, FnFunction, FunctionBundle, FunctionCallRecord } from '../../core/function-models.js';
import type { Page } from '../../core/models.js';
import { applicationValues, callValues, functionValues, toApplication, toBundle, toCall, toFunction } from '../function-rows.js';
import { FN_SQL as SQL, listApplicationsSql, listFunctionsSql } from '../function-sql.js';
import {
  FUNCTION_CALLS_KEPT,
  type DeleteApplicationResult,
  type FunctionStore,
  type ListApplicationsQuery,
  type ListFunctionsQuery,
} from '../../core/ports/functions.js';
import { CallBatch } from '../call-batch.js';
import { num, type Row } from '../rows.js';
import { toPage } from '../sql.js';
import type { CasResult } from '../../core/cas.js';
import { casMiss, first, rows, transaction } from './pg-query.js';

function nameConflict(err: unknown, table: 'applications' | 'functions', name: string): unknown {
  if (err instanceof DatabaseError && err.code === '23505' && err.constraint === `${table}_live_name`) {
    const where = table === 'applications' ? 'this compartment' : 'this application';
    return new ConflictError(`${table === 'applications' ? 'Application' : 'Function'} with name "${name}" already exists in ${where}.`);
  }
  return err;
}

/**
 * The functions side of PostgresStore. An application delete locks the
 * application row FOR UPDATE and a function insert locks it FOR SHARE, so the
 * two serialise: either the delete sees the new function, or the insert sees
 * the application gone.
 */
export class PostgresFunctions implements FunctionStore {
  private readonly calls = new CallBatch((batch) => this.writeCalls(batch));

  constructor(private readonly pool: Pool) {}

  private tx<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    return transaction(this.pool, fn);
  }

  async insertApplication(a: Application): Promise<void> {
    try {
      await rows(this.pool, SQL.insertApplication, applicationValues(a));
    } catch (err) {
      throw nameConflict(err, 'applications', a.displayName);
    }
  }

  async getApplication(tenancyId: string, id: string): Promise<Application | undefined> {
    const row = await first(this.pool, SQL.getApplication, [tenancyId, id]);
    return row && toApplication(row);
  }

  async listApplications(q: ListApplicationsQuery): Promise<Page<Application>> {
    const { sql, params } = listApplicationsSql(q);
    return toPage(await rows(this.pool, sql, params), q.offset, q.limit, toApplication);
  }

  async replaceApplication(next: Application, expectedEtag: string): Promise<CasResult<Application>> {
    const u = SQL.replaceApplication;
    try {
      return await this.tx(async (c): Promise<CasResult<Application>> => {
        const row = await first(c, u.sql, u.params(applicationValues(next), next.tenancyId, next.id, expectedEtag));
        if (row === undefined) return casMiss(c, SQL.applicationEtag, next.tenancyId, next.id);
        await rows(c, SQL.syncFunctionCompartments, [next.compartmentId, next.id, next.compartmentId]);
        return { ok: true, value: toApplication(row) };
      });
    } catch (err) {
      throw nameConflict(err, 'applications', next.displayName);
    }
  }

  async deleteApplication(tenancyId: string, id: string, expectedEtag: string, now: number): Promise<DeleteApplicationResult> {
    return this.tx(async (c): Promise<DeleteApplicationResult> => {
      const cur = await first(c, SQL.applicationEtag + ' FOR UPDATE', [tenancyId, id]);
      if (cur === undefined) return { ok: false, reason: 'not-found' };
      if (cur.etag !== expectedEtag) return { ok: false, reason: 'etag-mismatch' };
      if (num((await first(c, SQL.countLiveFunctions, [id]))?.n ?? 0) > 0) return { ok: false, reason: 'has-functions' };
      const row = await first(c, SQL.deleteApplication, [now, tenancyId, id, expectedEtag]);
      return row === undefined ? { ok: false, reason: 'not-found' } : { ok: true, value: toApplication(row) };
    });
  }

  async insertFunction(f: FnFunction): Promise<boolean> {
    try {
      return await this.tx(async (c) => {
        if ((await first(c, SQL.activeApplication + ' FOR SHARE', [f.tenancyId, f.applicationId])) === undefined) return false;
        await rows(c, SQL.insertFunction, functionValues(f));
        return true;
      });
    } catch (err) {
      throw nameConflict(err, 'functions', f.displayName);
    }
  }

  async getFunction(tenancyId: string, id: string): Promise<FnFunction | undefined> {
    const row = await first(this.pool, SQL.getFunction, [tenancyId, id]);
    return row && toFunction(row);
  }

  async getFunctionById(id: string): Promise<FnFunction | undefined> {
    const row = await first(this.pool, SQL.getFunctionById, [id]);
    return row && toFunction(row);
  }

  async listFunctions(q: ListFunctionsQuery): Promise<Page<FnFunction>> {
    const { sql, params } = listFunctionsSql(q);
    return toPage(await rows(this.pool, sql, params), q.offset, q.limit, toFunction);
  }

  async replaceFunction(next: FnFunction, expectedEtag: string): Promise<CasResult<FnFunction>> {
    const u = SQL.replaceFunction;
    try {
      const row = await first(this.pool, u.sql, u.params(functionValues(next), next.tenancyId, next.id, expectedEtag));
      return row !== undefined ? { ok: true, value: toFunction(row) } : await casMiss(this.pool, SQL.functionEtag, next.tenancyId, next.id);
    } catch (err) {
      throw nameConflict(err, 'functions', next.displayName);
    }
  }

  async deleteFunction(tenancyId: string, id: string, expectedEtag: string, now: number): Promise<CasResult<FnFunction>> {
    const row = await first(this.pool, SQL.deleteFunction, [now, tenancyId, id, expectedEtag]);
    return row !== undefined ? { ok: true, value: toFunction(row) } : casMiss(this.pool, SQL.functionEtag, tenancyId, id);
  }

  async putBundle(tenancyId: string, b: FunctionBundle): Promise<void> {
    // Two tenancies uploading the same bytes at once: the second insert waits on the first's
    // uniqueness check and does nothing, and its owner row then references the committed bytes.
    await this.tx(async (c) => {
      await rows(c, SQL.putBundle, [b.digest, b.bytes, b.size, b.createdAt]);
      await rows(c, SQL.putBundleOwner, [tenancyId, b.digest, b.createdAt]);
    });
  }

  async getBundle(digest: string): Promise<FunctionBundle | undefined> {
    const row: Row | undefined = await first(this.pool, SQL.getBundle, [digest]);
    return row && toBundle(row);
  }

  async ownsBundle(tenancyId: string, digest: string): Promise<boolean> {
    return (await first(this.pool, SQL.ownsBundle, [tenancyId, digest])) !== undefined;
  }

  insertFunctionCall(c: FunctionCallRecord): Promise<void> {
    return this.calls.add(c);
  }

  /** Writes the call records still waiting for their batch (the store's close). */
  flushCalls(): Promise<void> {
    return this.calls.flush();
  }

  private async writeCalls(batch: FunctionCallRecord[]): Promise<void> {
    await this.tx(async (client) => {
      for (const c of batch) await rows(client, SQL.insertCall, callValues(c));
      for (const id of new Set(batch.map((c) => c.functionId))) await rows(client, SQL.pruneCalls, [id, id, FUNCTION_CALLS_KEPT - 1]);
    });
  }

  async listFunctionCalls(functionId: string, limit: number): Promise<FunctionCallRecord[]> {
    await this.calls.flush();
    return (await rows(this.pool, SQL.listCalls, [functionId, limit])).map(toCall);
  }
}
