import fc from 'fast-check';

/**
 * Building blocks for fuzzing the HTTP API with fast-check. Generated values
 * stay small and printable in counterexamples: ids that only exist at run time
 * are `Ref`s, huge strings are `Rep`s, deep nesting is `Deep`, and all of them
 * are expanded only when the request is built. The second half holds values
 * for ONS fields and query parameters: plausible ones, so success paths run
 * too, mixed with junk.
 */

/** Live values the fuzz run resolves just before each request (the victim's current etag, say). */
export type RefName = 'tenancy' | 'compartment' | 'topic' | 'sub' | 'topicEtag' | 'subEtag' | 'topicName' | 'confirmToken' | 'unsubToken' | IamRefName;
/**
 * The Identity suite's: victims (user, group, membership, policy; `compartment` is its victim compartment), the
 * users and group of the victim membership, `home` (a compartment never addressed), a statement naming `home` by
 * id, an API key of the victim user, and public keys made at run time (four good ones, an EC one, a short RSA one).
 */
export type IamRefName =
  | 'user' | 'userEtag' | 'userName' | 'memberUser' | 'group' | 'groupEtag' | 'groupName' | 'memberGroup' | 'membership'
  | 'policy' | 'policyEtag' | 'policyName' | 'compartmentEtag' | 'compartmentName' | 'home' | 'homeStatement' | 'fingerprint'
  | 'pem1' | 'pem2' | 'pem3' | 'pem4' | 'ecPem' | 'smallPem';
/** Each suite resolves its own names; a Ref to one it does not resolve is a test bug. */
export type Env = Readonly<Partial<Record<RefName, string>>>;

export class Ref {
  constructor(readonly name: RefName) {}
  [fc.toStringMethod](): string {
    return `ref(${this.name})`;
  }
}

/** `unit` repeated `count` times. */
export class Rep {
  constructor(
    readonly unit: string,
    readonly count: number,
  ) {}
  [fc.toStringMethod](): string {
    return `rep(${JSON.stringify(this.unit)}, ${this.count})`;
  }
}

/** `depth` nested JSON arrays. */
export class Deep {
  constructor(readonly depth: number) {}
  [fc.toStringMethod](): string {
    return `deep(${this.depth})`;
  }
}

/** JSON text emitted verbatim (number literals JSON.stringify cannot produce, like 1e400). */
export class Raw {
  constructor(readonly json: string) {}
  [fc.toStringMethod](): string {
    return `raw(${this.json})`;
  }
}

export type Val = null | boolean | number | string | Ref | Rep | Deep | Raw | Val[] | { [key: string]: Val };

export const ref = (name: RefName): fc.Arbitrary<Val> => fc.constant(new Ref(name));
export const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>): fc.WeightedArbitrary<T> => ({ weight, arbitrary });

/** The value as a plain string, for path segments, query values and headers. */
export function text(v: Val, env: Env): string {
  if (typeof v === 'string') return v;
  if (v instanceof Ref) {
    const value = env[v.name];
    if (value === undefined) throw new Error(`ref(${v.name}) is not resolved by this suite`);
    return value;
  }
  if (v instanceof Rep) return v.unit.repeat(v.count);
  if (v === null || typeof v === 'number' || typeof v === 'boolean') return String(v);
  return toJson(v, env);
}

export function toJson(v: Val, env: Env): string {
  if (v instanceof Ref || v instanceof Rep) return JSON.stringify(text(v, env));
  if (v instanceof Deep) return '['.repeat(v.depth) + ']'.repeat(v.depth);
  if (v instanceof Raw) return v.json;
  if (Array.isArray(v)) return `[${v.map((x) => toJson(x, env)).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.entries(v)
      .map(([k, x]) => `${JSON.stringify(k)}:${toJson(x, env)}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Percent-encodes every byte, so invalid UTF-8 (%C0, %FF) reaches the server as sent. */
export function percentBytes(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => '%' + b.toString(16).padStart(2, '0').toUpperCase()).join('');
}

/** Strings that have broken parsers, SQL drivers and regexes before. */
export const NASTY: readonly string[] = [
  '', ' ', '\t', '\n', '\u0000', 'a\u0000b', '\ud800', '\udfff', '\ufeff', '\u202e', '💥', 'ǅ', 'İ', 'ß', 'ﬃ',
  'null', 'undefined', 'true', '0', '-1', '1e309', 'NaN', '[]', '{}', '"', '\\', '%', '%00', '%zz', '+', '&', '=', '?', '#', '/', '..',
  '../../etc/passwd', "' OR '1'='1", "'; DROP TABLE topics;--", '$1', '?', '__proto__', 'constructor', 'prototype', 'toString',
  '<script>alert(1)</script>', '${7*7}', 'ocid1.', 'ocid1.onstopic.oc1.iad.', 'ocid1.onstopic.oc1.iad.AAAAAAAA',
];

/** Short junk: safe in URLs and headers (well under Node's 16 KB header limit). */
export const shortJunk: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 24 }),
  fc.string({ unit: 'binary', maxLength: 16 }),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
  fc.constantFrom(...NASTY),
);

export const urlJunk: fc.Arbitrary<Val> = fc.oneof(
  { weight: 6, arbitrary: shortJunk },
  { weight: 1, arbitrary: fc.constantFrom(new Rep('x', 1000), new Rep('%', 300), new Rep('\u0000', 4)) },
);

/** Junk for body fields: also long, multi-byte and NUL-laden strings. */
export const bodyJunkString: fc.Arbitrary<Val> = fc.oneof(
  { weight: 6, arbitrary: shortJunk },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      new Rep('x', 257),
      new Rep('x', 401),
      new Rep('x', 4097),
      new Rep('é', 5000),
      new Rep('💥', 20000),
      new Rep('\u0000', 10),
      new Rep('\ud800', 5),
    ),
  },
);

export const oddNumbers: fc.Arbitrary<Val> = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom<Val>(-1, 0, 1, 1.5, 2 ** 31, 2 ** 53, 1e300, -0, new Raw('1e400'), new Raw('-1e400'), new Raw('1E2'), new Raw('0.0000001')),
);

export const deepJunk: fc.Arbitrary<Val> = fc.constantFrom(new Deep(50), new Deep(2000), new Deep(20000));

/** Any JSON value: wrong types, nested junk, arrays where objects belong. */
export const junk: fc.Arbitrary<Val> = fc.oneof(
  { weight: 4, arbitrary: bodyJunkString },
  { weight: 2, arbitrary: oddNumbers },
  { weight: 1, arbitrary: fc.constantFrom<Val>(null, true, false, [], {}) },
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Val> },
  { weight: 1, arbitrary: deepJunk },
);

const OCID_TYPES = ['onstopic', 'onssubscription', 'compartment', 'tenancy', 'fnfunc', 'user', 'ONSTOPIC', 'x'];

/** OCIDs that pass or nearly pass format checks but name nothing. */
export const fakeOcid = (type?: string): fc.Arbitrary<string> =>
  fc
    .tuple(
      type === undefined ? fc.constantFrom(...OCID_TYPES) : fc.constantFrom(type, type, type, ...OCID_TYPES),
      fc.constantFrom('iad', '', 'phx'),
      fc.oneof(fc.stringMatching(/^[a-z0-9]{8,40}$/), fc.stringMatching(/^[a-z0-9]{125,132}$/), fc.stringMatching(/^[A-Z0-9_.]{1,12}$/)),
    )
    .map(([t, region, unique]) => `ocid1.${t}.oc1.${region}.${unique}`);

/** Header-safe printable ASCII (undici refuses control characters). */
export const headerValue = (maxLength: number): fc.Arbitrary<string> =>
  fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength });

/** A random object whose known keys map to `fields` (often) or junk, plus stray keys. */
export function looseObject(fields: Record<string, fc.Arbitrary<Val>>): fc.Arbitrary<Val> {
  const loose: Record<string, fc.Arbitrary<Val>> = {};
  for (const [k, a] of Object.entries(fields)) loose[k] = fc.oneof({ weight: 3, arbitrary: a }, { weight: 1, arbitrary: junk });
  return fc
    .tuple(fc.record(loose, { requiredKeys: [] }), fc.dictionary(fc.oneof(shortJunk, fc.constantFrom('__proto__', 'constructor')), junk, { maxKeys: 2 }))
    .map(([known, stray]) => ({ ...stray, ...known }) as Val);
}

// --- ONS field values: plausible ones (so success paths run too) mixed with junk -------------

export const compartment = fc.oneof(w(3, ref('tenancy')), w(2, ref('compartment')), w(1, fakeOcid('compartment')), w(1, urlJunk));
export const topicRef = fc.oneof(w(5, ref('topic')), w(1, ref('sub')), w(2, fakeOcid('onstopic')), w(1, urlJunk));
export const tagsOk = fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 12 }), { maxKeys: 3 });
export const tags: fc.Arbitrary<Val> = fc.oneof(
  w(3, tagsOk),
  w(1, fc.dictionary(shortJunk, bodyJunkString, { maxKeys: 4 })),
  w(1, fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), fc.constant('v'), { minKeys: 51, maxKeys: 53 })),
  w(1, fc.constantFrom<Val>({ ['k'.repeat(101)]: 'v' }, { k: new Rep('v', 257) }, { '': 'v' })),
);
export const definedTags: fc.Arbitrary<Val> = fc.oneof(
  fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), junk, { maxKeys: 3 }), { maxKeys: 2 }),
  deepJunk.map((d): Val => ({ ns: { k: d } })),
  fc.constant<Val>({ ns: { k: new Rep('x', 12_000) } }),
);
export const topicName = fc.oneof(w(4, fc.stringMatching(/^fz-[A-Za-z0-9_-]{1,12}$/)), w(1, ref('topicName')), w(1, fc.constant(new Rep('a', 257))), w(1, shortJunk));
export const description = fc.oneof(fc.string({ maxLength: 40 }), bodyJunkString);
export const PROTOCOL_ENDPOINTS: [string, string][] = [
  ['HTTPS', 'http://127.0.0.1:9/hook'],
  ['CUSTOM_HTTPS', 'https://127.0.0.1:9/h?x=1'],
  ['EMAIL', 'fuzz@example.com'],
  ['SMS', '+14255550100'],
  ['SLACK', 'https://127.0.0.1:9/slack'],
  ['ORACLE_FUNCTIONS', 'ocid1.fnfunc.oc1.iad.aaaaaaaafuzzfunction'],
];
export const protocol = fc.oneof(w(4, fc.constantFrom('HTTPS', 'https', 'EMAIL', 'SMS', 'SLACK', 'PAGERDUTY', 'CUSTOM_HTTPS', 'ORACLE_FUNCTIONS', 'FAX', '')), w(1, shortJunk));
export const endpoint = fc.oneof(
  w(3, fc.constantFrom(...PROTOCOL_ENDPOINTS.map(([, e]) => e), 'ftp://example.com', 'https://x#frag', 'not a url', 'https://', 'a@b', '+1')),
  w(1, fc.constant(new Rep('https://127.0.0.1/', 40))),
  w(1, shortJunk),
);
export const retryPolicy = looseObject({ maxRetryDuration: fc.oneof(fc.integer({ min: 1, max: 7_200_000 }), oddNumbers), policyType: fc.constantFrom('EXPONENTIAL', 'exponential', 'LINEAR') });
export const messageBody = fc.oneof(
  w(4, fc.string({ maxLength: 60 })),
  w(2, fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify({ default: JSON.stringify(v), EMAIL: 'e' }))),
  w(1, fc.constantFrom<Val>(new Rep('a', 65536), new Rep('a', 65537), new Rep('é', 32769), new Rep('\u0000', 3))),
  w(1, bodyJunkString),
);

// --- ONS query values -----------------------------------------------------------------------------

export const token = (x: unknown): string => Buffer.from(JSON.stringify(x)).toString('base64url');
export const limit = fc.oneof(fc.constantFrom('-1', '0', '1', '2', '100', '1000', '1001', '1e9', '1e3', 'abc', '1.5', '', ' 1', '0x10', '１', '+5', '007'), fc.integer().map(String));
export const page = fc.oneof(
  w(3, fc.constantFrom(...[0, 1, 2, 5, 1000, 2 ** 53 - 1, 2 ** 53, 1e300, -1, 1.5, '1', null].map((o) => token({ v: 1, o })), token(null), token([]), token('x'), '', '=', '!!!')),
  w(1, shortJunk),
);
export const sortBy = fc.oneof(fc.constantFrom('TIMECREATED', 'timeCreated', 'LIFECYCLESTATE', 'lifecycleState', 'NAME', '__proto__', 'toString', ''), shortJunk);
export const sortOrder = fc.oneof(fc.constantFrom('ASC', 'asc', 'DESC', 'desc', 'Desc', ''), shortJunk);
export const lifecycleState = fc.oneof(fc.constantFrom('ACTIVE', 'active', 'DELETING', 'CREATING', 'DELETED', 'PENDING', ''), shortJunk);
export const linkToken = fc.oneof(w(3, ref('confirmToken')), w(3, ref('unsubToken')), w(1, fc.stringMatching(/^[A-Za-z0-9_-]{43}$/)), w(1, urlJunk));

// --- IAM field and query values (the Identity suite) -----------------------------------------------

/** The Identity suite's home compartment and its child: never addressed by the fuzzer, named by statements. */
export const HOME_NAME = 'FuzzHome';
export const INNER_NAME = 'Inner';
/** Where IAM bodies and queries point: the tenancy, the home compartment, the victim compartment, near misses. */
export const iamCompartment = fc.oneof(w(4, ref('tenancy')), w(2, ref('home')), w(1, ref('compartment')), w(1, fakeOcid('compartment')), w(1, urlJunk));
/** Names of users, groups, policies and compartments: mostly valid, sometimes taken, too long or junk. */
export const iamName = fc.oneof(
  w(4, fc.stringMatching(/^fz-[a-z0-9]{1,10}$/)),
  w(1, fc.constantFrom('fz+ops@example.com', 'fz.a_b-c', 'fz name', 'admin', 'Administrators', 'Tenant-Admin-Policy', HOME_NAME, 'é', '')),
  w(1, fc.constantFrom<Val>(new Rep('a', 100), new Rep('a', 101))),
  w(1, shortJunk),
);
/** Query values as the Identity SDK sends them, unencoded: `+`, `%` and broken escapes for the raw query reader. */
export const rawQueryJunk = fc.constantFrom(
  '+', 'a+b', 'fz+ops@example.com', '%', '%%', '%2', '%zz', '%2B', '%252B', '%00', '%C0%AF', '%FF', '%ED%A0%80', '%F0%9F%92%A5', '100%', '%u0041', 'a=b', 'a&b', '%20', '%2',
);
export const email = fc.oneof(w(3, fc.constantFrom('fz@example.com', 'a+b@x.io', '')), w(1, fc.constantFrom<Val>('not-an-email', 'a @b', '@', new Rep('a', 330))), w(1, bodyJunkString));
export const versionDate = fc.oneof(
  w(3, fc.constantFrom<Val>('2024-01-01', '2024-02-29T12:00:00.000Z', '2024-02-29T12:00:00+01:00', '', null)),
  w(1, fc.constantFrom('2023-02-30', '2024-13-45', '24-1-1', 'yesterday', '2024-01-01T', '2024-01-01Tx')),
  w(1, junk),
);
export const accessLevel = fc.oneof(fc.constantFrom('ANY', 'ACCESSIBLE', 'any', 'accessible', 'NONE', ''), shortJunk);
export const boolQuery = fc.oneof(fc.constantFrom('true', 'false', 'TRUE', '1', ''), shortJunk);
export const fakeFingerprint = fc.oneof(fc.stringMatching(/^([0-9a-f]{2}:){15}[0-9a-f]{2}$/), fc.stringMatching(/^[0-9A-F]{32}$/));
/** API keys: RSA public keys made at run time, then an EC key, a short key, broken PEMs and junk. */
export const publicKey: fc.Arbitrary<Val> = fc.oneof(
  w(4, fc.constantFrom(new Ref('pem1'), new Ref('pem2'), new Ref('pem3'), new Ref('pem4'))),
  w(1, fc.constantFrom(new Ref('ecPem'), new Ref('smallPem'))),
  w(1, fc.constantFrom<Val>(
    'not a pem',
    '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----',
    '-----BEGIN RSA PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----',
    '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----',
    new Rep('A', 20_000),
  )),
  w(1, bodyJunkString),
);
/** Statements that parse and, attached to the tenancy, resolve (some also from the home compartment). */
export const goodStatement = fc.oneof(
  w(6, fc.constantFrom(
    `Allow group fz-readers to read ons-topics in compartment ${HOME_NAME}`,
    `Allow group fz-a, fz-b to use ons-family in compartment ${HOME_NAME}:${INNER_NAME}`,
    `allow group fz-c to manage ons-topics in compartment ${INNER_NAME}`,
    'allow any-user to inspect compartments in tenancy',
    'Allow group id ocid1.group.oc1..aaaaaaaafuzz to manage fn-app in tenancy',
    `Allow group fz-x to {ONS_TOPIC_INSPECT, ONS_TOPIC_READ} in compartment ${HOME_NAME}`,
    "Allow any-group to read policies in tenancy where any {request.operation = 'GetPolicy', target.policy.name = /fz-*/}",
    "Allow group fz-ops to use users in tenancy where target.user.name != 'admin'",
  )),
  w(1, ref('homeStatement')),
);
export const badStatement: fc.Arbitrary<Val> = fc.oneof(
  fc.constantFrom<Val>(
    '', ' ', 'Allow', 'Deny group fz-a to manage all-resources in tenancy', 'Allow group fz-a to fly ons-topics in tenancy',
    'Allow group fz-a to read ons-topics in compartment Nowhere', `Allow group fz-a to read ons-topics in compartment ${HOME_NAME}:Nowhere`,
    'Allow group fz-a to read ons-topics in tenancy where', 'Allow group fz-a to read ons-topics in tenancy where any {',
    "Allow group fz-a to read ons-topics in tenancy where request.user.name = 'open", 'Allow group fz-a to {NOT_A_PERMISSION} in tenancy',
    'Allow group to read ons-topics in tenancy', 'Allow group fz-a to read ons-topics in compartment id ocid1.compartment.oc1..nowhere',
    new Rep('Allow group fz-a to read ons-topics in tenancy ', 90),
    `Allow any-user to read ons-topics in tenancy where ${'any {'.repeat(780)}`,
  ),
  shortJunk,
);
export const statements = {
  strict: fc.array(goodStatement, { minLength: 1, maxLength: 3 }) as fc.Arbitrary<Val>,
  loose: fc.oneof(
    w(4, fc.array(fc.oneof(w(2, goodStatement), w(2, badStatement), w(1, junk)), { maxLength: 4 })),
    w(1, fc.constantFrom<Val>(Array.from({ length: 50 }, () => 'allow any-user to inspect compartments in tenancy'), Array.from({ length: 51 }, () => 'allow any-user to inspect compartments in tenancy'))),
    w(1, junk),
  ) as fc.Arbitrary<Val>,
};
