/**
 * Parser for OCI policy statements (../shared/reference/oci-identity.md §4):
 *
 *   Allow <subject> to <verb> <resource-type> in <location> [where <condition>]
 *   Allow <subject> to {PERM_A, PERM_B} in <location> [where <condition>]
 *
 * Hand-written and scannerless: what a character means depends on where it
 * appears (`/` separates a domain from a group name but opens a condition
 * pattern), so each grammar rule reads the raw text itself. Keywords, verbs and
 * resource types are case-insensitive and whitespace is insignificant. Errors
 * carry the 0-based offset of the offending token so the API can point at it.
 */
import { ALL_PERMISSIONS, isResourceType, isVerb, permissionsFor, RESOURCE_TYPES } from './permissions.js';
import type { ResourceType, Verb } from './permissions.js';

export type Subject =
  | { kind: 'any-user' }
  | { kind: 'any-group' }
  | { kind: 'group-names'; names: string[] }
  | { kind: 'group-ids'; ids: string[] };

export type Grant =
  | { kind: 'verb'; verb: Verb; resourceType: ResourceType; permissions: ReadonlySet<string> }
  | { kind: 'permissions'; permissions: ReadonlySet<string> };

export type Location = { kind: 'tenancy' } | { kind: 'compartment-path'; path: string[] } | { kind: 'compartment-id'; id: string };

export type Condition =
  | { kind: 'all' | 'any'; items: Condition[] }
  | {
      kind: 'compare';
      /** Lower-cased, e.g. `request.user.id`. */
      variable: string;
      op: '=' | '!=';
      value: { kind: 'string'; text: string } | { kind: 'pattern'; pattern: string };
    };

export interface Statement {
  text: string;
  subject: Subject;
  grant: Grant;
  location: Location;
  condition: Condition | null;
}

export class PolicySyntaxError extends Error {
  override name = 'PolicySyntaxError';
  constructor(
    /** 0-based index of the statement in the policy; the message numbers statements from 1. */
    readonly statementIndex: number,
    /** 0-based character offset in that statement. */
    readonly position: number,
    /** The message without its "Statement n, position p: " prefix. */
    readonly reason: string,
  ) {
    super(`Statement ${statementIndex + 1}, position ${position}: ${reason}`);
  }
}

/** Names, OCIDs, verbs and variables. `/` and `:` are excluded: the grammar gives them meaning. */
const WORD_CHAR = /[A-Za-z0-9_.\-@+#$]/;
const VARIABLE = /^(request|target)(\.[a-z0-9_-]+)+$/i;

interface Word {
  text: string;
  /** Lower-cased, for keyword comparison. */
  key: string;
  start: number;
}

class Cursor {
  private pos = 0;

  constructor(
    private readonly text: string,
    private readonly index: number,
  ) {}

  fail(position: number, reason: string): never {
    throw new PolicySyntaxError(this.index, position, reason);
  }

  /** Skips whitespace and returns where the next token starts. */
  here(): number {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos] ?? '')) this.pos++;
    return this.pos;
  }

  atEnd(): boolean {
    return this.here() >= this.text.length;
  }

  peekChar(): string | undefined {
    return this.text[this.here()];
  }

  eatChar(c: string): boolean {
    if (this.peekChar() !== c) return false;
    this.pos++;
    return true;
  }

  peekWord(): Word | undefined {
    const start = this.here();
    let end = start;
    while (end < this.text.length && WORD_CHAR.test(this.text[end] ?? '')) end++;
    if (end === start) return undefined;
    const text = this.text.slice(start, end);
    return { text, key: text.toLowerCase(), start };
  }

  word(): Word | undefined {
    const w = this.peekWord();
    if (w !== undefined) this.pos = w.start + w.text.length;
    return w;
  }

  /** The next token as an error message shows it. */
  describeNext(): string {
    const start = this.here();
    if (start >= this.text.length) return 'the end of the statement';
    const w = this.peekWord();
    if (w !== undefined) return `"${w.text}"`;
    if (this.text[start] === "'") {
      const close = this.text.indexOf("'", start + 1);
      return `"${this.text.slice(start, close < 0 ? undefined : close + 1)}"`;
    }
    return `"${this.text[start] ?? ''}"`;
  }

  expected(what: string): never {
    const at = this.here();
    return this.fail(at, `expected ${what}, found ${this.describeNext()}`);
  }

  keyword(kw: string, context: string): void {
    const w = this.peekWord();
    if (w?.key !== kw) this.expected(`"${kw}" ${context}`);
    this.word();
  }

  operator(): '=' | '!=' | undefined {
    const at = this.here();
    if (this.text[at] === '=') {
      this.pos = at + 1;
      return '=';
    }
    if (this.text.startsWith('!=', at)) {
      this.pos = at + 2;
      return '!=';
    }
    return undefined;
  }

  /** Text between single quotes; OCI defines no escapes, so the first `'` closes it. */
  quoted(): string {
    const start = this.here();
    const close = this.text.indexOf("'", start + 1);
    if (close < 0) this.fail(start, 'unterminated quoted string');
    const s = this.text.slice(start + 1, close);
    if (s.trim() === '') this.fail(start, 'empty quoted string');
    this.pos = close + 1;
    return s;
  }

  /** `/.../`: a condition pattern, returned without its slashes. */
  pattern(): string {
    const start = this.here();
    const close = this.text.indexOf('/', start + 1);
    if (close < 0) this.fail(start, 'unterminated pattern (expected a closing "/")');
    const p = this.text.slice(start + 1, close);
    if (p === '') this.fail(start, 'empty pattern');
    this.pos = close + 1;
    return p;
  }

  /** A name that may be quoted to hold spaces or other characters. */
  name(what: string, reserved: readonly string[]): string {
    if (this.peekChar() === "'") return this.quoted();
    const w = this.peekWord();
    if (w === undefined || reserved.includes(w.key)) this.expected(what);
    this.word();
    return w.text;
  }
}

/** Comma-separated list of at least one item. */
function list<T>(c: Cursor, item: () => T): T[] {
  const out = [item()];
  while (c.eatChar(',')) out.push(item());
  return out;
}

function parseSubject(c: Cursor): Subject {
  const w = c.peekWord();
  switch (w?.key) {
    case 'any-user':
      c.word();
      return { kind: 'any-user' };
    case 'any-group':
      c.word();
      return { kind: 'any-group' };
    case 'dynamic-group':
      // Herald has no instance or resource principals, so a dynamic group could never match anyone.
      return c.fail(w.start, 'dynamic-group subjects are not supported');
    case 'group':
      break;
    default:
      return c.expected('a subject (group, group id, any-user or any-group)');
  }
  c.word();
  if (c.peekWord()?.key === 'id') {
    const ids = list(c, () => {
      c.keyword('id', 'before each group OCID');
      return c.name('a group OCID', ['to']);
    });
    return { kind: 'group-ids', ids };
  }
  const names = list(c, () => {
    const first = c.name('a group name', ['to', 'id']);
    // Identity-domain tenancies write `Domain/Name`; groups are matched by name alone, so the domain is dropped.
    if (c.eatChar('/')) return c.name('a group name after "/"', ['to']);
    const slash = first.indexOf('/');
    return slash < 0 ? first : first.slice(slash + 1);
  });
  return { kind: 'group-names', names };
}

function parseGrant(c: Cursor): Grant {
  if (c.eatChar('{')) {
    const perms = new Set<string>();
    list(c, () => {
      const w = c.word();
      if (w === undefined) c.expected('a permission name');
      const name = w.text.toUpperCase();
      if (!ALL_PERMISSIONS.has(name)) c.fail(w.start, `unknown permission "${w.text}"`);
      perms.add(name);
    });
    if (!c.eatChar('}')) c.expected('"," or "}" in the permission list');
    return { kind: 'permissions', permissions: perms };
  }
  const v = c.word();
  if (v === undefined) c.expected('a verb (inspect, read, use or manage) or a {PERMISSION} list');
  if (!isVerb(v.key)) c.fail(v.start, `unknown verb "${v.text}" (expected inspect, read, use or manage)`);
  const t = c.word();
  if (t === undefined) c.expected(`a resource type after "${v.text}"`);
  if (!isResourceType(t.key)) {
    c.fail(t.start, `unknown resource type "${t.text}" (expected one of ${RESOURCE_TYPES.join(', ')})`);
  }
  return { kind: 'verb', verb: v.key, resourceType: t.key, permissions: permissionsFor(v.key, t.key) };
}

function parseLocation(c: Cursor): Location {
  const w = c.peekWord();
  if (w?.key === 'tenancy') {
    c.word();
    return { kind: 'tenancy' };
  }
  if (w?.key !== 'compartment') return c.expected('"tenancy" or "compartment" after "in"');
  c.word();
  if (c.peekWord()?.key === 'id') {
    c.word();
    return { kind: 'compartment-id', id: c.name('a compartment OCID after "compartment id"', ['where']) };
  }
  const path = [c.name('a compartment name', ['where'])];
  while (c.eatChar(':')) path.push(c.name('a compartment name after ":"', ['where']));
  return { kind: 'compartment-path', path };
}

function parseCondition(c: Cursor): Condition {
  const w = c.peekWord();
  if (w !== undefined && (w.key === 'any' || w.key === 'all')) {
    c.word();
    if (!c.eatChar('{')) c.expected(`"{" after "${w.text}"`);
    const items = list(c, () => parseCondition(c));
    if (!c.eatChar('}')) c.expected(`"," or "}" closing "${w.text}"`);
    return { kind: w.key, items };
  }
  const v = c.word();
  if (v === undefined) return c.expected('a condition (a variable such as request.user.id, or any {…} / all {…})');
  if (!VARIABLE.test(v.text)) c.fail(v.start, `"${v.text}" is not a variable (expected a name such as request.user.id)`);
  const op = c.operator();
  if (op === undefined) return c.expected(`"=" or "!=" after "${v.text}"`);
  const ch = c.peekChar();
  if (ch === "'") return { kind: 'compare', variable: v.key, op, value: { kind: 'string', text: c.quoted() } };
  if (ch === '/') return { kind: 'compare', variable: v.key, op, value: { kind: 'pattern', pattern: c.pattern() } };
  return c.expected(`a quoted 'value' or a /pattern/ after "${op}"`);
}

/** Parses one statement; `statementIndex` only labels errors. */
export function parseStatement(text: string, statementIndex = 0): Statement {
  const c: Cursor = new Cursor(text, statementIndex);
  const head = c.peekWord();
  if (head !== undefined && ['define', 'endorse', 'admit', 'deny'].includes(head.key)) {
    c.fail(head.start, `"${head.text}" statements are not supported (only "Allow")`);
  }
  c.keyword('allow', 'at the start of the statement');
  const subject = parseSubject(c);
  c.keyword('to', 'after the subject');
  const grant = parseGrant(c);
  c.keyword('in', grant.kind === 'verb' ? 'after the resource type' : 'after the permission list');
  const location = parseLocation(c);
  let condition: Condition | null = null;
  if (c.peekWord()?.key === 'where') {
    c.word();
    condition = parseCondition(c);
  }
  if (!c.atEnd()) c.expected(condition === null ? '"where" or the end of the statement' : 'the end of the statement');
  return { text, subject, grant, location, condition };
}

/** Parses a policy's statements, failing on the first bad one (its index is in the error). */
export function parsePolicyStatements(statements: string[]): Statement[] {
  return statements.map((s, i) => parseStatement(s, i));
}
