import Database from 'better-sqlite3';
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
import { num } from '../rows.js';
import { toPage } from '../sql.js';
import type { CasResult } from '../../core/cas.js';
import type { SqliteDb } from './sqlite-db.js';

/** Translates the live-name unique indexes' violations; they are the only UNIQUE constraints on display_name. */
function nameConflict(err: unknown, table: 'applications' | 'functions', name: string): unknown {
  if (err instanceof Database.SqliteError && err.code === 'SQLITE_CONSTRAINT_UNIQUE' && err.message.includes(`${table}.display_name`)) {
    const where = table === 'applications' ? 'this compartment' : 'this application';
    return new ConflictError(`${table === 'applications' ? 'Application' : 'Function'} with name "${name}" already exists in ${where}.`);
  }
  return err;
}

/**
 * The functions side of SqliteStore, on the same connection. SQLite has one
 * writer and transactions are IMMEDIATE, so checks and writes inside one are atomic.
 */
export class SqliteFunctions implements FunctionStore {
  private readonly calls = new CallBatch((batch) => this.writeCalls(batch));

  constructor(private readonly sql: SqliteDb) {}

  async insertApplication(a: Application): Promise<void> {
    await this.sql.pass();
    try {
      this.sql.run(SQL.insertApplication, ...applicationValues(a));
    } catch (err) {
      throw nameConflict(err, 'applications', a.displayName);
    }
  }

  async getApplication(tenancyId: string, id: string): Promise<Application | undefined> {
    const row = this.sql.get(SQL.getApplication, tenancyId, id);
    return row && toApplication(row);
  }

  async listApplications(q: ListApplicationsQuery): Promise<Page<Application>> {
    const { sql, params } = listApplicationsSql(q);
    return toPage(this.sql.stmt(sql).all(...params), q.offset, q.limit, toApplication);
  }

  async replaceApplication(next: Application, expectedEtag: string): Promise<CasResult<Application>> {
    await this.sql.pass();
    const u = SQL.replaceApplication;
    try {
      return this.sql.cas(SQL.applicationEtag, next.tenancyId, next.id, () => {
        const row = this.sql.get(u.sql, ...u.params(applicationValues(next), next.tenancyId, next.id, expectedEtag));
        if (row !== undefined) this.sql.run(SQL.syncFunctionCompartments, next.compartmentId, next.id, next.compartmentId);
        return row;
      }, toApplication);
    } catch (err) {
      throw nameConflict(err, 'applications', next.displayName);
    }
  }

  async deleteApplication(tenancyId: string, id: string, expectedEtag: string, now: number): Promise<DeleteApplicationResult> {
    await this.sql.pass();
    return this.sql.tx((): DeleteApplicationResult => {
      const cur = this.sql.get(SQL.applicationEtag, tenancyId, id);
      if (cur === undefined) return { ok: false, reason: 'not-found' };
      if (cur.etag !== expectedEtag) return { ok: false, reason: 'etag-mismatch' };
      if (num(this.sql.get(SQL.countLiveFunctions, id)?.n ?? 0) > 0) return { ok: false, reason: 'has-functions' };
      const row = this.sql.get(SQL.deleteApplication, now, tenancyId, id, expectedEtag);
      return row === undefined ? { ok: false, reason: 'not-found' } : { ok: true, value: toApplication(row) };
    });
  }

  async insertFunction(f: FnFunction): Promise<boolean> {
    await this.sql.pass();
    try {
      return this.sql.tx(() => {
        if (this.sql.get(SQL.activeApplication, f.tenancyId, f.applicationId) === undefined) return false;
        this.sql.run(SQL.insertFunction, ...functionValues(f));
        return true;
      });
    } catch (err) {
      throw nameConflict(err, 'functions', f.displayName);
    }
  }

  async getFunction(tenancyId: string, id: string): Promise<FnFunction | undefined> {
    const row = this.sql.get(SQL.getFunction, tenancyId, id);
    return row && toFunction(row);
  }

  async getFunctionById(id: string): Promise<FnFunction | undefined> {
    const row = this.sql.get(SQL.getFunctionById, id);
    return row && toFunction(row);
  }

  async listFunctions(q: ListFunctionsQuery): Promise<Page<FnFunction>> {
    const { sql, params } = listFunctionsSql(q);
    return toPage(this.sql.stmt(sql).all(...params), q.offset, q.limit, toFunction);
  }

  async replaceFunction(next: FnFunction, expectedEtag: string): Promise<CasResult<FnFunction>> {
    await this.sql.pass();
    const u = SQL.replaceFunction;
    try {
      return this.sql.cas(SQL.functionEtag, next.tenancyId, next.id, () => this.sql.get(u.sql, ...u.params(functionValues(next), next.tenancyId, next.id, expectedEtag)), toFunction);
    } catch (err) {
      throw nameConflict(err, 'functions', next.displayName);
    }
  }

  async deleteFunction(tenancyId: string, id: string, expectedEtag: string, now: number): Promise<CasResult<FnFunction>> {
    await this.sql.pass();
    return this.sql.cas(SQL.functionEtag, tenancyId, id, () => this.sql.get(SQL.deleteFunction, now, tenancyId, id, expectedEtag), toFunction);
  }

  async putBundle(tenancyId: string, b: FunctionBundle): Promise<void> {
    await this.sql.pass();
    this.sql.tx(() => {
      this.sql.run(SQL.putBundle, b.digest, b.bytes, b.size, b.createdAt);
      this.sql.run(SQL.putBundleOwner, tenancyId, b.digest, b.createdAt);
    });
  }

  async getBundle(digest: string): Promise<FunctionBundle | undefined> {
    const row = this.sql.get(SQL.getBundle, digest);
    return row && toBundle(row);
  }

  async ownsBundle(tenancyId: string, digest: string): Promise<boolean> {
    return this.sql.get(SQL.ownsBundle, tenancyId, digest) !== undefined;
  }

  insertFunctionCall(c: FunctionCallRecord): Promise<void> {
    return this.calls.add(c);
  }

  /** Writes the call records still waiting for their batch (the store's close). */
  flushCalls(): Promise<void> {
    return this.calls.flush();
  }

  private async writeCalls(batch: FunctionCallRecord[]): Promise<void> {
    await this.sql.pass();
    // A call's log line is bookkeeping, not an accepted message: waiting for fsync on every invoke cost the invoke
    // API most of its overhead over the FDK (bench (g)); a power cut may lose the latest lines.
    this.sql.relaxedTx(() => {
      for (const c of batch) this.sql.run(SQL.insertCall, ...callValues(c));
      for (const id of new Set(batch.map((c) => c.functionId))) this.sql.run(SQL.pruneCalls, id, id, FUNCTION_CALLS_KEPT - 1);
    });
  }

  async listFunctionCalls(functionId: string, limit: number): Promise<FunctionCallRecord[]> {
    await this.calls.flush();
    return this.sql.stmt(SQL.listCalls).all(functionId, limit).map(toCall);
  }
}
