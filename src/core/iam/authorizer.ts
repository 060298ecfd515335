/**
 * Decides whether a principal may perform an operation on a compartment, by
 * OCI's rules: grant-only statements, inherited down the compartment tree, every
 * permission of the operation needed. Policies are read per tenancy into a
 * snapshot that lives `ttlMs` (so a change made on another node applies within
 * that time) and is dropped at once when this node changes IAM.
 */
import type { HeraldError} from '../errors.js';
import { NotAuthorizedOrNotFoundError } from '../errors.js';
import { REGION } from '../ids.js';
import type { IdentityStore } from './identity-store.js';
import type { AccessSnapshotRows } from './models.js';
import { OPERATION_ALIASES, OPERATIONS, type OperationName } from './operations.js';
import { parseStatement, type Statement } from './policy-parser.js';
import { compartmentTree, statementAllows, type CompartmentTree, type RequestVariables } from './policy-eval.js';
import type { Principal } from './principal.js';

/** How long a node trusts its copy of a tenancy's policies: the "within seconds" of a change made elsewhere. */
export const ACCESS_SNAPSHOT_TTL_MS = 1000;
/** Decisions remembered per snapshot; the publish path asks the same question thousands of times a second. */
const MAX_CACHED_DECISIONS = 10_000;

/** Variables of the call's target beyond its compartment (target.user.id, target.policy.name, ...). */
export type TargetVariables = Readonly<Record<string, string>>;

interface CompiledPolicy {
  attachedTo: string;
  statements: Statement[];
}

class Snapshot {
  readonly tree: CompartmentTree;
  readonly compartmentIds: readonly string[];
  private readonly groupsOfUser = new Map<string, { ids: Set<string>; names: Set<string> }>();
  private readonly userNames = new Map<string, string>();
  readonly policies: CompiledPolicy[] = [];
  readonly decisions = new Map<string, boolean>();

  constructor(
    rows: AccessSnapshotRows,
    readonly loadedAt: number,
    tenancyId: string,
  ) {
    this.compartmentIds = rows.compartments.map((c) => c.id);
    this.tree = compartmentTree(tenancyId, rows.compartments);
    const groupName = new Map(rows.groups.map((g) => [g.id, g.name.toLowerCase()]));
    for (const u of rows.users) this.userNames.set(u.id, u.name);
    for (const m of rows.memberships) {
      const name = groupName.get(m.groupId);
      if (name === undefined) continue;
      let entry = this.groupsOfUser.get(m.userId);
      if (entry === undefined) this.groupsOfUser.set(m.userId, (entry = { ids: new Set(), names: new Set() }));
      entry.ids.add(m.groupId);
      entry.names.add(name);
    }
    for (const p of rows.policies) {
      const statements: Statement[] = [];
      for (const text of p.statements) {
        // createPolicy refuses bad statements; one that no longer parses (an older grammar) grants nothing.
        try {
          statements.push(parseStatement(text));
        } catch {
          continue;
        }
      }
      this.policies.push({ attachedTo: p.compartmentId, statements });
    }
  }

  groups(userId: string): { ids: ReadonlySet<string>; names: ReadonlySet<string> } {
    return this.groupsOfUser.get(userId) ?? { ids: new Set(), names: new Set() };
  }

  userName(userId: string): string | undefined {
    return this.userNames.get(userId);
  }
}

export class Authorizer {
  private readonly snapshots = new Map<string, Snapshot>();
  private readonly loading = new Map<string, Promise<Snapshot>>();
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(
    private readonly identity: Pick<IdentityStore, 'loadAccessSnapshot'>,
    opts: { ttlMs?: number; now?: () => number } = {},
  ) {
    this.ttlMs = opts.ttlMs ?? ACCESS_SNAPSHOT_TTL_MS;
    this.now = opts.now ?? Date.now;
  }

  /** Forgets the tenancy's policies; the next call reads them again. */
  invalidate(tenancyId: string): void {
    this.snapshots.delete(tenancyId);
    this.loading.delete(tenancyId);
  }

  /** Whether every permission the operation needs is granted on the compartment. */
  async allows(p: Principal, op: OperationName, compartmentId: string, target: TargetVariables = {}): Promise<boolean> {
    const snap = await this.snapshot(p.tenancyId);
    const key = `${p.userId}\0${op}\0${compartmentId}\0${Object.entries(target).flat().join('\0')}`;
    const hit = snap.decisions.get(key);
    if (hit !== undefined) return hit;
    const decision = this.decide(snap, p, op, compartmentId, target);
    if (snap.decisions.size >= MAX_CACHED_DECISIONS) snap.decisions.clear();
    snap.decisions.set(key, decision);
    return decision;
  }

  /**
   * Throws unless allowed. The refusal defaults to OCI's 404 NotAuthorizedOrNotFound; callers
   * acting on a named resource pass the same error a missing one gets, so the two look alike.
   */
  async require(
    p: Principal,
    op: OperationName,
    compartmentId: string,
    opts: { target?: TargetVariables; refusal?: () => HeraldError } = {},
  ): Promise<void> {
    if (await this.allows(p, op, compartmentId, opts.target)) return;
    throw opts.refusal?.() ?? new NotAuthorizedOrNotFoundError();
  }

  /** The compartments (of those given) where the operation is allowed, for lists that filter. */
  async filterAllowed(p: Principal, op: OperationName, compartmentIds: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (const id of new Set(compartmentIds)) if (await this.allows(p, op, id)) out.add(id);
    return out;
  }

  /** Whether the operation is allowed in at least one compartment (for calls that name none, like a bundle upload). */
  async allowsSomewhere(p: Principal, op: OperationName): Promise<boolean> {
    const snap = await this.snapshot(p.tenancyId);
    for (const id of snap.compartmentIds) if (await this.allows(p, op, id)) return true;
    return false;
  }

  private decide(snap: Snapshot, p: Principal, op: OperationName, compartmentId: string, target: TargetVariables): boolean {
    const compartment = snap.tree.get(compartmentId);
    if (compartment === undefined) return false;
    const groups = snap.groups(p.userId);
    const alias = OPERATION_ALIASES[op];
    const base: Record<string, string | readonly string[]> = {
      'request.user.id': p.userId,
      'request.groups.id': [...groups.ids],
      'request.operation': alias === undefined ? op : [op, alias],
      'request.principal.type': 'user',
      'request.region': REGION,
      'target.compartment.id': compartment.id,
      'target.compartment.name': compartment.name,
      ...target,
    };
    const userName = snap.userName(p.userId);
    if (userName !== undefined) base['request.user.name'] = userName;
    return OPERATIONS[op].every((permission) => {
      const vars: RequestVariables = { ...base, 'request.permission': permission };
      return snap.policies.some((policy) =>
        policy.statements.some((st) =>
          statementAllows(st, {
            groupIds: groups.ids,
            groupNames: groups.names,
            permission,
            targetCompartmentId: compartmentId,
            attachedTo: policy.attachedTo,
            tree: snap.tree,
            vars,
          }),
        ),
      );
    });
  }

  private async snapshot(tenancyId: string): Promise<Snapshot> {
    const cached = this.snapshots.get(tenancyId);
    if (cached !== undefined) {
      const age = this.now() - cached.loadedAt;
      if (age < this.ttlMs) {
        // Half-way through its life a fresh copy starts loading in the background, so the requests of a busy
        // tenancy do not all queue behind a reload every second.
        if (age >= this.ttlMs / 2) void this.load(tenancyId).catch(() => undefined);
        return cached;
      }
    }
    return this.load(tenancyId);
  }

  /** One read per tenancy however many requests arrive while it is in flight. */
  private load(tenancyId: string): Promise<Snapshot> {
    let pending = this.loading.get(tenancyId);
    if (pending === undefined) {
      const startedAt = this.now();
      pending = this.identity.loadAccessSnapshot(tenancyId).then((rows) => new Snapshot(rows, startedAt, tenancyId));
      this.loading.set(tenancyId, pending);
      pending.then(
        (snap) => {
          if (this.loading.get(tenancyId) === pending) {
            this.loading.delete(tenancyId);
            this.snapshots.set(tenancyId, snap);
          }
        },
        () => {
          if (this.loading.get(tenancyId) === pending) this.loading.delete(tenancyId);
        },
      );
    }
    return pending;
  }
}
