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
} from '../function-store.js';
import { num, type Row } from '../rows.js';
import { toPage } from '../sql.js';
import type { CasResult } from '../store.js';
import type { WriteGate } from './write-gate.js';

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
  private readonly statements = new Map<string, Database.Statement<unknown[], Row>>();

  constructor(
    private readonly db: Database.Database,
    private readonly gate: WriteGate,
  ) {}

  private stmt(sql: string): Database.Statement<unknown[], Row> {
    let s = this.statements.get(sql);
    if (s === undefined) {
      s = this.db.prepare<unknown[], Row>(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  private get(sql: string, ...params: unknown[]): Row | undefined {
    return this.stmt(sql).get(...params);
  }

  private run(sql: string, ...params: unknown[]): number {
    return this.stmt(sql).run(...params).changes;
  }

  private tx<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  /** Runs an etag-guarded write and explains a miss by looking the row up in the same transaction. */
  private cas<T>(etagSql: string, tenancyId: string, id: string, write: () => Row | undefined, map: (r: Row) => T): CasResult<T> {
    return this.tx(() => {
      const row = write();
      if (row !== undefined) return { ok: true, value: map(row) };
      const exists = this.get(etagSql, tenancyId, id) !== undefined;
      return { ok: false, reason: exists ? 'etag-mismatch' : 'not-found' };
    });
  }

  async insertApplication(a: Application): Promise<void> {
    await this.gate.pass();
    try {
      this.run(SQL.insertApplication, ...applicationValues(a));
    } catch (err) {
      throw nameConflict(err, 'applications', a.displayName);
    }
  }

  async getApplication(tenancyId: string, id: string): Promise<Application | undefined> {
    const row = this.get(SQL.getApplication, tenancyId, id);
    return row && toApplication(row);
  }

  async listApplications(q: ListApplicationsQuery): Promise<Page<Application>> {
    const { sql, params } = listApplicationsSql(q);
    return toPage(this.stmt(sql).all(...params), q.offset, q.limit, toApplication);
  }

  async replaceApplication(next: Application, expectedEtag: string): Promise<CasResult<Application>> {
    await this.gate.pass();
    const u = SQL.replaceApplication;
    try {
      return this.cas(SQL.applicationEtag, next.tenancyId, next.id, () => {
        const row = this.get(u.sql, ...u.params(applicationValues(next), next.tenancyId, next.id, expectedEtag));
        if (row !== undefined) this.run(SQL.syncFunctionCompartments, next.compartmentId, next.id, next.compartmentId);
        return row;
      }, toApplication);
    } catch (err) {
      throw nameConflict(err, 'applications', next.displayName);
    }
  }

  async deleteApplication(tenancyId: string, id: string, expectedEtag: string, now: number): Promise<DeleteApplicationResult> {
    await this.gate.pass();
    return this.tx((): DeleteApplicationResult => {
      const cur = this.get(SQL.applicationEtag, tenancyId, id);
      if (cur === undefined) return { ok: false, reason: 'not-found' };
      if (cur.etag !== expectedEtag) return { ok: false, reason: 'etag-mismatch' };
      if (num(this.get(SQL.countLiveFunctions, id)?.n ?? 0) > 0) return { ok: false, reason: 'has-functions' };
      const row = this.get(SQL.deleteApplication, now, tenancyId, id, expectedEtag);
      return row === undefined ? { ok: false, reason: 'not-found' } : { ok: true, value: toApplication(row) };
    });
  }

  async insertFunction(f: FnFunction): Promise<boolean> {
    await this.gate.pass();
    try {
      return this.tx(() => {
        if (this.get(SQL.activeApplication, f.tenancyId, f.applicationId) === undefined) return false;
        this.run(SQL.insertFunction, ...functionValues(f));
        return true;
      });
    } catch (err) {
      throw nameConflict(err, 'functions', f.displayName);
    }
  }

  async getFunction(tenancyId: string, id: string): Promise<FnFunction | undefined> {
    const row = this.get(SQL.getFunction, tenancyId, id);
    return row && toFunction(row);
  }

  async getFunctionById(id: string): Promise<FnFunction | undefined> {
    const row = this.get(SQL.getFunctionById, id);
    return row && toFunction(row);
  }

  async listFunctions(q: ListFunctionsQuery): Promise<Page<FnFunction>> {
    const { sql, params } = listFunctionsSql(q);
    return toPage(this.stmt(sql).all(...params), q.offset, q.limit, toFunction);
  }

  async replaceFunction(next: FnFunction, expectedEtag: string): Promise<CasResult<FnFunction>> {
    await this.gate.pass();
    const u = SQL.replaceFunction;
    try {
      return this.cas(SQL.functionEtag, next.tenancyId, next.id, () => this.get(u.sql, ...u.params(functionValues(next), next.tenancyId, next.id, expectedEtag)), toFunction);
    } catch (err) {
      throw nameConflict(err, 'functions', next.displayName);
    }
  }

  async deleteFunction(tenancyId: string, id: string, expectedEtag: string, now: number): Promise<CasResult<FnFunction>> {
    await this.gate.pass();
    return this.cas(SQL.functionEtag, tenancyId, id, () => this.get(SQL.deleteFunction, now, tenancyId, id, expectedEtag), toFunction);
  }

  async putBundle(tenancyId: string, b: FunctionBundle): Promise<void> {
    await this.gate.pass();
    this.tx(() => {
      this.run(SQL.putBundle, b.digest, b.bytes, b.size, b.createdAt);
      this.run(SQL.putBundleOwner, tenancyId, b.digest, b.createdAt);
    });
  }

  async getBundle(digest: string): Promise<FunctionBundle | undefined> {
    const row = this.get(SQL.getBundle, digest);
    return row && toBundle(row);
  }

  async ownsBundle(tenancyId: string, digest: string): Promise<boolean> {
    return this.get(SQL.ownsBundle, tenancyId, digest) !== undefined;
  }

  async insertFunctionCall(c: FunctionCallRecord): Promise<void> {
    await this.gate.pass();
    this.tx(() => {
      this.run(SQL.insertCall, ...callValues(c));
      this.run(SQL.pruneCalls, c.functionId, c.functionId, FUNCTION_CALLS_KEPT);
    });
  }

  async listFunctionCalls(functionId: string, limit: number): Promise<FunctionCallRecord[]> {
    return this.stmt(SQL.listCalls).all(functionId, limit).map(toCall);
  }
}
