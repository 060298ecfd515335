import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { heraldClient, send, type RawResponse } from '../helpers/oci.js';

/** Sends raw bytes and reads the whole answer (the server closes the connection after a refusal). */
function rawExchange(url: string, bytes: Buffer): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(Number(port), hostname, () => socket.end(bytes));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', body = ''] = text.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body });
    });
  });
}

describe('requests Node refuses before routing still get OCI errors', () => {
  let h: TestHerald;
  before(async () => {
    h = await startTestHerald('sqlite');
  });
  after(async () => {
    await h.stop();
  });

  it('headers over 16 KB: 431 RequestHeaderFieldsTooLarge with an opc-request-id', async () => {
    const res = await rawExchange(h.herald.url, Buffer.from(`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`));
    assert.equal(res.status, 431);
    assert.deepEqual(JSON.parse(res.body), { code: 'RequestHeaderFieldsTooLarge', message: 'The request headers are larger than 16 KB.' });
    assert.match(res.headers['opc-request-id'] ?? '', /^[0-9A-F]{32}$/);
    assert.equal(res.headers['content-type'], 'application/json');
  });

  it('a request line with raw non-ASCII bytes: 400 CannotParseRequest with an opc-request-id', async () => {
    const res = await rawExchange(h.herald.url, Buffer.concat([Buffer.from('GET /20181201/topics/'), Buffer.from([0xff, 0x00]), Buffer.from(' HTTP/1.1\r\nHost: x\r\n\r\n')]));
    assert.equal(res.status, 400);
    assert.equal((JSON.parse(res.body) as { code: string }).code, 'CannotParseRequest');
    assert.match(res.headers['opc-request-id'] ?? '', /^[0-9A-F]{32}$/);
  });

  it('a URL of ~100 KB (over the 16 KB header limit, which counts the request line): 431, OCI-shaped', async () => {
    const res = await rawExchange(h.herald.url, Buffer.from(`GET /20181201/topics/${'a'.repeat(100_000)} HTTP/1.1\r\nHost: x\r\n\r\n`));
    assert.equal(res.status, 431);
    assert.equal((JSON.parse(res.body) as { code: string }).code, 'RequestHeaderFieldsTooLarge');
    assert.match(res.headers['opc-request-id'] ?? '', /^[0-9A-F]{32}$/);
  });

  it('the server keeps answering afterwards', async () => {
    assert.equal((await fetch(`${h.herald.url}/health`)).status, 200);
  });
});

describe('the signature check guards routes by the route they match, not by how the path is spelled', () => {
  let h: TestHerald;
  before(async () => {
    h = await startTestHerald('sqlite');
  });
  after(async () => {
    await h.stop();
  });

  it('an unsigned /%68erald/v1/... is refused by the signature check exactly as /herald/v1/... is', async () => {
    for (const [plain, encoded] of [
      ['/herald/v1/mailbox', '/%68erald/v1/mailbox'],
      [`/20181201/topics?compartmentId=${h.tenancyId}`, `/2018120%31/topics?compartmentId=${h.tenancyId}`],
    ] as const) {
      const a = await fetch(h.herald.url + plain);
      const b = await fetch(h.herald.url + encoded);
      assert.equal(a.status, 401, plain);
      assert.equal(b.status, 401, encoded);
      assert.deepEqual(await b.json(), await a.json(), `${encoded} is refused with the signature check's own reason`);
    }
  });
});

/** The OCI error shape: exactly code and message, JSON, with an opc-request-id. */
function assertOciError(res: RawResponse, status: number, code: string): void {
  assert.equal(res.status, status, res.text.slice(0, 300));
  assert.deepEqual(Object.keys(res.json).sort(), ['code', 'message']);
  assert.equal(res.json.code, code);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  assert.match(String(res.headers['opc-request-id']), /^[0-9A-F]{32}$/);
}

describe('URLs and bodies fastify refuses are answered OCI-shaped', () => {
  let h: TestHerald;
  before(async () => {
    h = await startTestHerald('sqlite');
  });
  after(async () => {
    await h.stop();
  });

  it('a path parameter over the router limit (fastify would answer 414): 400 InvalidParameter, not echoing the URL', async () => {
    const long = 'a'.repeat(5000);
    for (const path of [`/20181201/topics/${long}`, `/20181201/subscriptions/${long}/confirmation?token=x`]) {
      const res = await send(new URL(h.herald.url + path), 'GET', {});
      assertOciError(res, 400, 'InvalidParameter');
      assert.match(String(res.json.message), /^'\/20181201\/\w+\/a{20,}…' is exceeding the max param length$/);
      assert.ok(res.text.length < 250, `a short answer, not the URL quoted back: ${res.text.length} bytes`);
    }
  });

  it('bad percent-encoding in the path: 400 InvalidParameter', async () => {
    for (const path of ['/20181201/topics/%E0%A4%A', '/herald/v1/%zz', '/console/%E0%A4%A']) {
      const res = await send(new URL(h.herald.url + path), 'GET', {});
      assertOciError(res, 400, 'InvalidParameter');
      assert.equal(res.json.message, 'The request URL is malformed.');
    }
  });

  it('a route that does not exist: 404 NotFound naming the method and path, signed or not', async () => {
    for (const [method, path] of [['GET', '/nope'], ['DELETE', '/20181201/noSuchResource'], ['POST', '/herald/v1/noSuchThing?x=1']] as const) {
      const res = await send(new URL(h.herald.url + path), method, {});
      assertOciError(res, 404, 'NotFound');
      assert.equal(res.json.message, `No route for ${method} ${path}.`);
    }
    const signed = await heraldClient(h).raw('GET', '/20181201/noSuchResource');
    assertOciError(signed, 404, 'NotFound');
  });

  it('a function invoke body over its 6 MB limit: 413 PayloadTooLarge; under it (over the 1 MB default) the route runs', async () => {
    const invoke = '/20181201/functions/ocid1.fnfunc.oc1.iad.aaaaaaaanosuchfn/actions/invoke';
    const huge = await heraldClient(h).raw('POST', invoke, Buffer.alloc(6 * 1024 * 1024 + 1), { 'content-type': 'application/octet-stream' });
    assertOciError(huge, 413, 'PayloadTooLarge');
    assert.equal(huge.json.message, 'The request body is too large.');
    const big = await heraldClient(h).raw('POST', invoke, Buffer.alloc(2 * 1024 * 1024), { 'content-type': 'application/octet-stream' });
    assertOciError(big, 404, 'NotAuthorizedOrNotFound');
  });

  it('a body over the limit on a signed route: 413 PayloadTooLarge', async () => {
    const body = JSON.stringify({ body: 'x'.repeat(1100 * 1024) });
    assertOciError(await heraldClient(h).raw('POST', '/20181201/topics/ocid1.onstopic.oc1..x/messages', body), 413, 'PayloadTooLarge');
  });

  it('a body over the limit on an unsigned route (console sign-in): 413 PayloadTooLarge', async () => {
    const body = JSON.stringify({ username: 'admin', password: 'x'.repeat(1100 * 1024) });
    assertOciError(await send(new URL(`${h.herald.url}/herald/v1/console/session`), 'POST', { 'content-type': 'application/json' }, body), 413, 'PayloadTooLarge');
  });
});
