import { strict as assert } from 'node:assert';
import { createHash, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import * as common from 'oci-common';
import { NotAuthenticatedError } from '../../../src/core/errors.js';
import { KINDS, startTestHerald, type TestHerald } from '../../helpers/herald.js';
import { send, type RawResponse } from '../../helpers/oci.js';
import {
  EMPTY_BODY_SHA256,
  parseAuthorization,
  signRequest,
  verifyOciSignature,
} from '../../../src/api/auth/signature.js';
import type { PublicKeyLookup, SignedRequest } from '../../../src/api/auth/signature.js';

const TENANCY = 'ocid1.tenancy.oc1..aaaaaaaatenancy';
const USER = 'ocid1.user.oc1..aaaaaaaauser';
const ORIGIN = 'http://127.0.0.1:18181';

interface TestKey {
  privateKeyPem: string;
  publicKeyPem: string;
  fingerprint: string;
}

function makeKey(format: 'pkcs8' | 'pkcs1'): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: format, format: 'pem' },
  });
  const der = createPublicKey(publicKey).export({ type: 'spki', format: 'der' });
  const fingerprint = createHash('md5').update(der).digest('hex').replace(/(..)(?!$)/g, '$1:');
  return { privateKeyPem: privateKey, publicKeyPem: publicKey, fingerprint };
}

// Key generation is the slow part of this suite; share a few keys.
const KEY = makeKey('pkcs8');
const PKCS1_KEY = makeKey('pkcs1');
const OTHER_KEY = makeKey('pkcs8');

function lookupFor(...keys: TestKey[]): PublicKeyLookup {
  return async (tenancyId, userId, fingerprint) => {
    if (tenancyId !== TENANCY || userId !== USER) return undefined;
    return keys.find((k) => k.fingerprint === fingerprint)?.publicKeyPem;
  };
}

function keyIdOf(key: TestKey): string {
  return `${TENANCY}/${USER}/${key.fingerprint}`;
}

/**
 * Signs with oci-common's own DefaultRequestSigner and returns what a Node
 * server would see: path+query as on the wire, lowercased headers, raw body.
 */
async function sdkSign(
  method: common.Method,
  uri: string,
  body: string | undefined,
  key = KEY,
  xDate?: string,
): Promise<SignedRequest> {
  const provider = new common.SimpleAuthenticationDetailsProvider(TENANCY, USER, key.fingerprint, key.privateKeyPem, null);
  const signer = new common.DefaultRequestSigner(provider);
  // As in the SDK's composeRequest: normalise through WHATWG URL (space → %20).
  const normalised = new URL(uri).href;
  const request: common.HttpRequest = {
    method,
    uri: normalised,
    headers: new Headers({ 'content-type': 'application/json', 'opc-request-id': 'TEST-REQ-1' }),
    body,
  };
  // The signer keeps an x-date that is already set (it does so on retries).
  if (xDate !== undefined) request.headers.set('x-date', xDate);
  await signer.signHttpRequest(request);
  const headers: Record<string, string> = {};
  request.headers.forEach((value, name) => {
    headers[name] = value;
  });
  const url = new URL(normalised);
  return { method, url: url.pathname + url.search, headers, body: body === undefined ? undefined : Buffer.from(body, 'utf8') };
}

/** The Python SDK's layout: signs `date` (no x-date) and lists parameters in another order. */
function pythonStyleSign(method: string, path: string, body: string | undefined, key = KEY, now = new Date()): SignedRequest {
  const headers: Record<string, string> = { host: '127.0.0.1:18181', date: now.toUTCString(), 'content-type': 'application/json' };
  const names = ['date', '(request-target)', 'host'];
  const payload = Buffer.from(body ?? '', 'utf8');
  if (['POST', 'PUT', 'PATCH'].includes(method)) {
    headers['content-length'] = String(payload.length);
    headers['x-content-sha256'] = createHash('sha256').update(payload).digest('base64');
    names.push('content-length', 'content-type', 'x-content-sha256');
  }
  const signingString = names
    .map((n) => (n === '(request-target)' ? `${n}: ${method.toLowerCase()} ${path}` : `${n}: ${headers[n]}`))
    .join('\n');
  const signature = sign('sha256', Buffer.from(signingString), key.privateKeyPem).toString('base64');
  headers['authorization'] =
    `Signature algorithm="rsa-sha256",headers="${names.join(' ')}",keyId="${keyIdOf(key)}",signature="${signature}",version="1"`;
  return { method, url: path, headers, body: body === undefined ? undefined : payload };
}

/**
 * Signs exactly `names` over exactly these header values, as a hand-rolled client would: a valid signature over
 * whatever the headers say, so a check that is not made lets the request through (rather than failing on the
 * signature by accident).
 */
function signExactly(method: string, path: string, headers: Record<string, string>, names: string[], body?: string | Buffer, key = KEY): SignedRequest {
  const signingString = names.map((n) => (n === '(request-target)' ? `${n}: ${method.toLowerCase()} ${path}` : `${n}: ${headers[n]}`)).join('\n');
  const signature = sign('sha256', Buffer.from(signingString), key.privateKeyPem).toString('base64');
  const authorization = `Signature version="1",keyId="${keyIdOf(key)}",algorithm="rsa-sha256",headers="${names.join(' ')}",signature="${signature}"`;
  return { method, url: path, headers: { ...headers, authorization }, body: body === undefined ? undefined : Buffer.from(body) };
}

const sha256b64 = (body: string): string => createHash('sha256').update(body).digest('base64');

async function rejects(p: Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof NotAuthenticatedError, `expected NotAuthenticatedError, got ${String(err)}`);
    assert.equal(err.code, 'NotAuthenticated');
    assert.match(err.message, message);
    return true;
  });
}

describe('verifyOciSignature with requests signed by oci-common', () => {
  it('accepts a GET with a query string containing %20', async () => {
    const req = await sdkSign('GET', `${ORIGIN}/20181201/topics?compartmentId=ocid1.x&name=my topic&limit=10`, undefined);
    assert.equal(req.url, '/20181201/topics?compartmentId=ocid1.x&name=my%20topic&limit=10');
    assert.match(String(req.headers['authorization']), /^Signature version="1",keyId="/);
    const caller = await verifyOciSignature(req, lookupFor(KEY));
    assert.deepEqual(caller, { tenancyId: TENANCY, userId: USER, fingerprint: KEY.fingerprint });
  });

  it('accepts a POST with a JSON body (non-ASCII included)', async () => {
    const body = JSON.stringify({ name: 'orders', compartmentId: 'ocid1.compartment.oc1..x', description: 'Crème brûlée ✓' });
    const req = await sdkSign('POST', `${ORIGIN}/20181201/topics`, body);
    assert.equal(req.headers['content-length'], String(Buffer.byteLength(body)));
    assert.match(String(req.headers['authorization']), /headers="x-date \(request-target\) host Content-Type Content-Length x-content-sha256"/);
    await verifyOciSignature(req, lookupFor(KEY));
  });

  it('accepts a POST with an empty body (content-length 0)', async () => {
    const req = await sdkSign('POST', `${ORIGIN}/20181201/subscriptions/ocid1.onssubscription.oc1.iad.x/resendConfirmation`, undefined);
    assert.equal(req.headers['content-length'], '0');
    assert.equal(req.headers['x-content-sha256'], EMPTY_BODY_SHA256);
    await verifyOciSignature(req, lookupFor(KEY));
    await verifyOciSignature({ ...req, body: Buffer.alloc(0) }, lookupFor(KEY));
  });

  it('accepts PUT and DELETE', async () => {
    await verifyOciSignature(await sdkSign('PUT', `${ORIGIN}/20181201/topics/ocid1.onstopic.oc1.iad.x`, '{"description":"d"}'), lookupFor(KEY));
    await verifyOciSignature(await sdkSign('DELETE', `${ORIGIN}/20181201/topics/ocid1.onstopic.oc1.iad.x`, undefined), lookupFor(KEY));
  });

  it('accepts a PKCS#1 private key on the client side', async () => {
    assert.match(PKCS1_KEY.privateKeyPem, /BEGIN RSA PRIVATE KEY/);
    const req = await sdkSign('POST', `${ORIGIN}/20181201/topics/ocid1.onstopic.oc1.iad.x/messages`, '{"body":"hi"}', PKCS1_KEY);
    const caller = await verifyOciSignature(req, lookupFor(KEY, PKCS1_KEY));
    assert.equal(caller.fingerprint, PKCS1_KEY.fingerprint);
  });

  it('accepts the Python SDK layout (date instead of x-date)', async () => {
    await verifyOciSignature(pythonStyleSign('GET', '/20181201/topics?compartmentId=c', undefined), lookupFor(KEY));
    await verifyOciSignature(pythonStyleSign('POST', '/20181201/topics', '{"name":"t"}'), lookupFor(KEY));
  });

  it('accepts array-valued and mixed-case header maps', async () => {
    const req = await sdkSign('GET', `${ORIGIN}/20181201/topics`, undefined);
    const headers: SignedRequest['headers'] = { 'X-Date': req.headers['x-date'], Host: req.headers['host'] };
    headers['authorization'] = req.headers['authorization'];
    headers['accept'] = ['a', 'b'];
    await verifyOciSignature({ ...req, headers }, lookupFor(KEY));
  });
});

describe('verifyOciSignature rejections', () => {
  it('rejects a signature made with a different registered key', async () => {
    const req = await sdkSign('GET', `${ORIGIN}/20181201/topics`, undefined, OTHER_KEY);
    // The lookup hands back KEY's public key for OTHER_KEY's fingerprint.
    const wrong: PublicKeyLookup = async () => KEY.publicKeyPem;
    await rejects(verifyOciSignature(req, wrong), /signature is invalid/);
  });

  it('rejects a tampered body (x-content-sha256 mismatch)', async () => {
    const req = await sdkSign('POST', `${ORIGIN}/20181201/topics`, '{"name":"a"}');
    await rejects(verifyOciSignature({ ...req, body: Buffer.from('{"name":"b"}') }, lookupFor(KEY)), /x-content-sha256/);
  });

  it('rejects a tampered path', async () => {
    const req = await sdkSign('GET', `${ORIGIN}/20181201/topics/ocid1.onstopic.oc1.iad.a`, undefined);
    await rejects(verifyOciSignature({ ...req, url: '/20181201/topics/ocid1.onstopic.oc1.iad.b' }, lookupFor(KEY)), /signature is invalid/);
    await rejects(verifyOciSignature({ ...req, method: 'DELETE' }, lookupFor(KEY)), /signature is invalid/);
  });

  it('rejects a stale date (6 minutes old) and a future date', async () => {
    const req = await sdkSign('GET', `${ORIGIN}/20181201/topics`, undefined);
    const signedAt = Date.parse(String(req.headers['x-date']));
    await rejects(verifyOciSignature(req, lookupFor(KEY), { now: signedAt + 6 * 60_000 }), /in the past/);
    await rejects(verifyOciSignature(req, lookupFor(KEY), { now: signedAt - 6 * 60_000 }), /in the future/);
    // Inside the window is fine, and the window is configurable.
    await verifyOciSignature(req, lookupFor(KEY), { now: signedAt + 4 * 60_000 });
    await rejects(verifyOciSignature(req, lookupFor(KEY), { now: signedAt + 2_000, maxSkewMs: 1_000 }), /in the past/);
    const old = pythonStyleSign('GET', '/20181201/topics', undefined, KEY, new Date(Date.now() - 6 * 60_000));
    await rejects(verifyOciSignature(old, lookupFor(KEY)), /date header is more than/);
  });

  it('rejects an unsigned request and a garbled authorization header', async () => {
    const req = await sdkSign('GET', `${ORIGIN}/20181201/topics`, undefined);
    const { authorization: _dropped, ...unsigned } = req.headers;
    await rejects(verifyOciSignature({ ...req, headers: unsigned }, lookupFor(KEY)), /authorization header is missing/);
    for (const garbled of ['Bearer abc', 'Signature', 'Signature keyId=abc', 'Signature keyId="a",keyId="b"', 'Signature keyId="a" junk']) {
      await rejects(verifyOciSignature({ ...req, headers: { ...req.headers, authorization: garbled } }, lookupFor(KEY)), /authorization header/);
    }
  });

  it('rejects an unknown fingerprint', async () => {
    const req = await sdkSign('GET', `${ORIGIN}/20181201/topics`, undefined, OTHER_KEY);
    await rejects(verifyOciSignature(req, lookupFor(KEY)), /No API key with fingerprint/);
  });

  it('rejects a request missing a header it claims to sign', async () => {
    const req = await sdkSign('POST', `${ORIGIN}/20181201/topics`, '{"name":"a"}');
    const { 'content-type': _ct, ...headers } = req.headers;
    await rejects(verifyOciSignature({ ...req, headers }, lookupFor(KEY)), /signed header "content-type" is missing/);
  });

  it('rejects wrong version, algorithm and keyId shapes', async () => {
    const req = await sdkSign('GET', `${ORIGIN}/20181201/topics`, undefined);
    const auth = String(req.headers['authorization']);
    const withAuth = (a: string): SignedRequest => ({ ...req, headers: { ...req.headers, authorization: a } });
    await rejects(verifyOciSignature(withAuth(auth.replace('version="1"', 'version="2"')), lookupFor(KEY)), /version "1"/);
    await rejects(verifyOciSignature(withAuth(auth.replace('version="1",', '')), lookupFor(KEY)), /version "1"/);
    await rejects(verifyOciSignature(withAuth(auth.replace('rsa-sha256', 'hmac-sha256')), lookupFor(KEY)), /algorithm/);
    await rejects(verifyOciSignature(withAuth(auth.replace(`${USER}/`, '')), lookupFor(KEY)), /keyId must have the form/);
    await rejects(verifyOciSignature(withAuth(auth.replace(/keyId="[^"]*"/, 'keyId="ST$eyJhbGciOi"')), lookupFor(KEY)), /ST\$/);
  });

  it('rejects signatures that omit the date, the request target, or the body headers', async () => {
    const noDate = pythonStyleSign('GET', '/20181201/topics', undefined);
    const auth = String(noDate.headers['authorization']);
    const drop = (list: string): SignedRequest => ({
      ...noDate,
      headers: { ...noDate.headers, authorization: auth.replace(/headers="[^"]*"/, `headers="${list}"`) },
    });
    await rejects(verifyOciSignature(drop('(request-target) host'), lookupFor(KEY)), /x-date or date/);
    await rejects(verifyOciSignature(drop('date host'), lookupFor(KEY)), /\(request-target\)/);

    // A body whose hash is not signed could be swapped freely.
    const get = await sdkSign('GET', `${ORIGIN}/20181201/topics`, undefined);
    await rejects(verifyOciSignature({ ...get, body: Buffer.from('{"x":1}') }, lookupFor(KEY)), /must sign the x-content-sha256/);
    const post = pythonStyleSign('POST', '/20181201/topics', '{"name":"t"}');
    const postAuth = String(post.headers['authorization']).replace(/headers="[^"]*"/, 'headers="date (request-target) host x-content-sha256"');
    await rejects(verifyOciSignature({ ...post, headers: { ...post.headers, authorization: postAuth } }, lookupFor(KEY)), /must sign the content-length/);
  });

  it('lets lookup failures propagate as they are (not as 401)', async () => {
    const req = await sdkSign('GET', `${ORIGIN}/20181201/topics`, undefined);
    const boom = new Error('store down');
    await assert.rejects(verifyOciSignature(req, async () => Promise.reject(boom)), (err) => err === boom);
  });
});

describe('verifyOciSignature edge cases', () => {
  const HOST = '127.0.0.1:18181';
  const date = (): string => new Date().toUTCString();

  it('accepts what signExactly makes when nothing is wrong (so the refusals below are the rule, not the helper)', async () => {
    await verifyOciSignature(signExactly('GET', '/20181201/topics', { host: HOST, 'x-date': date() }, ['x-date', '(request-target)', 'host']), lookupFor(KEY));
    const body = '{"name":"t"}';
    const headers = { host: HOST, 'x-date': date(), 'content-type': 'application/json', 'content-length': String(body.length), 'x-content-sha256': sha256b64(body) };
    await verifyOciSignature(signExactly('POST', '/20181201/topics', headers, ['x-date', '(request-target)', 'host', 'content-type', 'content-length', 'x-content-sha256'], body), lookupFor(KEY));
  });

  it('refuses an otherwise valid signature that does not cover host', async () => {
    for (const names of [['x-date', '(request-target)'], ['(request-target)', 'x-date', 'content-type']]) {
      const req = signExactly('GET', '/20181201/topics', { host: HOST, 'x-date': date(), 'content-type': 'application/json' }, names);
      await rejects(verifyOciSignature(req, lookupFor(KEY)), /must cover the host header/);
    }
  });

  it('refuses a request signed for another host', async () => {
    const req = await sdkSign('GET', 'http://herald.example.com:8443/20181201/topics', undefined);
    assert.equal(req.headers['host'], 'herald.example.com:8443');
    await verifyOciSignature(req, lookupFor(KEY));
    // The same signature arriving at another host (replayed, or the Host rewritten on the way).
    for (const host of [HOST, 'herald.example.com', 'herald.example.com:8444', 'HERALD.example.com:8443']) {
      await rejects(verifyOciSignature({ ...req, headers: { ...req.headers, host } }, lookupFor(KEY)), /signature is invalid/);
    }
    const { host: _dropped, ...noHost } = req.headers;
    await rejects(verifyOciSignature({ ...req, headers: noHost }, lookupFor(KEY)), /signed header "host" is missing/);
  });

  it('answers a signature value that is not base64 with NotAuthenticated (401), and one of the wrong size as invalid', async () => {
    const req = await sdkSign('GET', `${ORIGIN}/20181201/topics`, undefined);
    const auth = String(req.headers['authorization']);
    const withSignature = (value: string): SignedRequest => ({ ...req, headers: { ...req.headers, authorization: auth.replace(/signature="[^"]*"/, `signature="${value}"`) } });
    for (const bad of ['!!!!', 'abc$def', 'c2ln-_8', 'c2 ln', 'c2ln===', '=c2ln', 'c2ln\\u00e9', 'é']) {
      await rejects(verifyOciSignature(withSignature(bad), lookupFor(KEY)), /not valid base64/);
    }
    // Base64, but not 256 bytes of RSA signature: still a 401, never an exception out of crypto.
    for (const short of ['AAAA', 'c2ln', Buffer.alloc(255, 1).toString('base64'), Buffer.alloc(512, 1).toString('base64')]) {
      await rejects(verifyOciSignature(withSignature(short), lookupFor(KEY)), /signature is invalid/);
    }
  });

  it('refuses a content-length that does not match the body, even when it is signed and the body hash matches', async () => {
    const body = '{"name":"orders"}';
    const names = ['x-date', '(request-target)', 'host', 'content-type', 'content-length', 'x-content-sha256'];
    const headers = (length: string, hashOf = body): Record<string, string> => ({ host: HOST, 'x-date': date(), 'content-type': 'application/json', 'content-length': length, 'x-content-sha256': sha256b64(hashOf) });
    for (const length of ['999', String(body.length - 1), String(body.length + 1), '0', `0${body.length}`, `${body.length} `, '']) {
      await rejects(verifyOciSignature(signExactly('POST', '/20181201/topics', headers(length), names, body), lookupFor(KEY)), /content-length header does not match/);
    }
    // A signed length and hash that describe a body that did not arrive.
    for (const absent of [undefined, Buffer.alloc(0)]) {
      const req = signExactly('POST', '/20181201/topics', headers(String(body.length)), names, body);
      await rejects(verifyOciSignature({ ...req, body: absent }, lookupFor(KEY)), /does not match the request body/);
      const emptyHash = signExactly('POST', '/20181201/topics', headers(String(body.length), ''), names);
      await rejects(verifyOciSignature({ ...emptyHash, body: absent }, lookupFor(KEY)), /content-length header does not match/);
    }
    // The length matches but the hash is of another body of the same length.
    const swapped = signExactly('POST', '/20181201/topics', headers(String(body.length), body.replace('orders', 'ORDERS')), names, body);
    await rejects(verifyOciSignature(swapped, lookupFor(KEY)), /x-content-sha256/);
    // An empty body declared as empty is fine.
    await verifyOciSignature(signExactly('POST', '/20181201/topics', headers('0', ''), names), lookupFor(KEY));
  });

  it('answers an unusable stored public key with NotAuthenticated, never an exception', async () => {
    const req = await sdkSign('GET', `${ORIGIN}/20181201/topics`, undefined);
    for (const pem of ['not a key', '', '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n', KEY.publicKeyPem.slice(0, 200)]) {
      await rejects(verifyOciSignature(req, async () => pem), /cannot be parsed/);
    }
    // Parseable but not RSA: the RSA signature cannot verify against it (Ed25519 makes crypto.verify throw).
    for (const type of ['ec', 'ed25519'] as const) {
      const { publicKey } = type === 'ec' ? generateKeyPairSync('ec', { namedCurve: 'P-256', publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } }) : generateKeyPairSync('ed25519', { publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
      await rejects(verifyOciSignature(req, async () => publicKey), /signature is invalid/);
    }
  });
});

/** The same edge cases through a running Herald: a clean OCI error with a request id, and the server goes on answering. */
for (const kind of KINDS) {
  describe(`signature edge cases over HTTP (${kind})`, () => {
    let h: TestHerald;
    let keyId: string;
    let privateKeyPem: string;
    before(async () => {
      h = await startTestHerald(kind);
      keyId = await h.provider.getKeyId();
      privateKeyPem = h.provider.getPrivateKey();
    });
    after(async () => {
      await h?.stop();
    });

    const listUrl = (): URL => new URL(`${h.herald.url}/20181201/topics?compartmentId=${h.tenancyId}`);
    function assertNotAuthenticated(res: RawResponse, what: string): void {
      assert.equal(res.status, 401, `${what}: ${res.status} ${res.text}`);
      assert.equal(res.json.code, 'NotAuthenticated', what);
      assert.equal(typeof res.json.message, 'string', what);
      assert.ok(typeof res.headers['opc-request-id'] === 'string' && res.headers['opc-request-id'] !== '', what);
    }
    async function stillAnswers(): Promise<void> {
      const ok = await send(listUrl(), 'GET', signRequest({ method: 'GET', url: listUrl(), headers: {}, keyId, privateKeyPem }));
      assert.equal(ok.status, 200, ok.text);
    }

    it('refuses a request signed for another host', async () => {
      const signedFor = new URL(listUrl().href.replace('127.0.0.1', 'localhost'));
      const { host: _h, ...headers } = signRequest({ method: 'GET', url: signedFor, headers: {}, keyId, privateKeyPem });
      assertNotAuthenticated(await send(listUrl(), 'GET', headers), 'signed for localhost, sent to 127.0.0.1');
      await stillAnswers();
    });

    it('answers a non-base64 signature with 401, not 500', async () => {
      const headers = signRequest({ method: 'GET', url: listUrl(), headers: {}, keyId, privateKeyPem });
      for (const bad of ['!!!!', 'not base64 at all', '%%%']) {
        const res = await send(listUrl(), 'GET', { ...headers, authorization: headers['authorization']!.replace(/signature="[^"]*"/, `signature="${bad}"`) });
        assertNotAuthenticated(res, `signature="${bad}"`);
      }
      await stillAnswers();
    });

    it('answers a request whose stored public key cannot be used with 401 (and keeps serving)', async () => {
      // Herald validates keys when they are registered; this one reached the store some other way.
      const userId = h.provider.getUser();
      const ed = generateKeyPairSync('ed25519', { publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
      const keys = [
        { fingerprint: '00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff', publicKeyPem: '-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n' },
        { fingerprint: 'ff:ee:dd:cc:bb:aa:99:88:77:66:55:44:33:22:11:00', publicKeyPem: ed.publicKey },
      ];
      for (const k of keys) {
        await h.herald.store.directory.insertApiKey({ tenancyId: h.tenancyId, userId, fingerprint: k.fingerprint, publicKeyPem: k.publicKeyPem, createdAt: Date.now() });
        const headers = signRequest({ method: 'GET', url: listUrl(), headers: {}, keyId: `${h.tenancyId}/${userId}/${k.fingerprint}`, privateKeyPem });
        assertNotAuthenticated(await send(listUrl(), 'GET', headers), `stored key ${k.fingerprint}`);
      }
      await stillAnswers();
    });
  });
}

describe('signRequest', () => {
  const now = new Date();

  it('produces what oci-common produces for a POST', async () => {
    const body = '{"name":"orders","compartmentId":"c"}';
    const url = new URL(`${ORIGIN}/20181201/topics`);
    const ours = signRequest({ method: 'POST', url, headers: {}, body, keyId: keyIdOf(KEY), privateKeyPem: KEY.privateKeyPem, now });
    const sdk = await sdkSign('POST', url.href, body);
    for (const name of ['host', 'content-type', 'content-length', 'x-content-sha256']) assert.equal(ours[name], sdk.headers[name], name);
    assert.equal(ours['x-date'], now.toUTCString());
    assert.equal(ours['date'], now.toUTCString());
    // RSA PKCS#1 v1.5 is deterministic: same x-date ⇒ byte-identical authorization.
    const sdkSameDate = await sdkSign('POST', url.href, body, KEY, now.toUTCString());
    assert.equal(ours['authorization'], sdkSameDate.headers['authorization']);
    for (const method of ['GET', 'DELETE', 'PUT'] as const) {
      const b = method === 'PUT' ? body : undefined;
      const mine = signRequest({ method, url, headers: {}, body: b, keyId: keyIdOf(KEY), privateKeyPem: KEY.privateKeyPem, now });
      const theirs = await sdkSign(method, url.href, b, KEY, now.toUTCString());
      assert.equal(mine['authorization'], theirs.headers['authorization'], method);
    }
  });

  it('output verifies for GET (with %20), POST with Buffer body, and empty POST', async () => {
    const cases: Array<{ method: string; url: string; body?: Buffer | string }> = [
      { method: 'GET', url: `${ORIGIN}/20181201/topics?name=a b&limit=5` },
      { method: 'POST', url: `${ORIGIN}/20181201/topics/t/messages`, body: Buffer.from('{"body":"é"}') },
      { method: 'POST', url: `${ORIGIN}/20181201/subscriptions/s/resendConfirmation` },
      { method: 'put', url: `${ORIGIN}/20181201/topics/t`, body: '{}' },
    ];
    for (const c of cases) {
      const url = new URL(c.url);
      const headers = signRequest({ method: c.method, url, headers: { 'Opc-Request-Id': 'r1' }, body: c.body, keyId: keyIdOf(PKCS1_KEY), privateKeyPem: PKCS1_KEY.privateKeyPem });
      assert.equal(headers['opc-request-id'], 'r1');
      const body = c.body === undefined ? undefined : Buffer.from(c.body);
      await verifyOciSignature({ method: c.method.toUpperCase(), url: url.pathname + url.search, headers, body }, lookupFor(PKCS1_KEY));
    }
  });
});

describe('parseAuthorization', () => {
  it('parses parameters in any order and lowercases the header list', () => {
    const parsed = parseAuthorization('Signature headers="X-Date (request-target) Host",signature="c2ln",version="1",algorithm="rsa-sha256",keyId="t/u/f"');
    assert.deepEqual(parsed, { version: '1', keyId: 't/u/f', algorithm: 'rsa-sha256', headers: ['x-date', '(request-target)', 'host'], signature: 'c2ln' });
  });

  it('rejects oversized and array-valued headers', () => {
    assert.throws(() => parseAuthorization(`Signature keyId="${'a'.repeat(20_000)}"`), NotAuthenticatedError);
    assert.throws(() => parseAuthorization(['Signature a="b"', 'Signature c="d"']), NotAuthenticatedError);
    assert.throws(() => parseAuthorization('Signature keyId="a",signature="b",algorithm="rsa-sha256"'), /headers list/);
  });
});
