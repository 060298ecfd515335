import { strict as assert } from 'node:assert';
import { getEventListeners } from 'node:events';
import { after, before, describe, it } from 'node:test';
import type { ServerResponse } from 'node:http';
import { PER_ENDPOINT } from '../../src/delivery/concurrency.js';
import { HttpClient, HttpTimeoutError } from '../../src/delivery/http-client.js';
import { eventually } from '../helpers/eventually.js';
import { captureServer } from './fixtures.js';
import type { CaptureServer } from './fixtures.js';

describe('HttpClient', () => {
  let server: CaptureServer;
  let client: HttpClient;
  before(async () => {
    server = await captureServer();
    client = new HttpClient({ allowPrivate: true, timeoutMs: 2000 });
  });
  after(async () => {
    await client.close();
    await server.close();
  });

  it('turns URL user-info into Basic auth and keeps it out of the request line', async () => {
    server.respond = () => ({ status: 204 });
    const answer = await client.post(`http://alice:s3cr%40t@127.0.0.1:${server.port}/hook?x=1`, { headers: { 'X-Test': 'yes' }, body: 'hello' });
    assert.equal(answer.statusCode, 204);
    const req = server.requests.at(-1);
    assert.ok(req);
    assert.equal(req.method, 'POST');
    assert.equal(req.url, '/hook?x=1');
    assert.equal(req.headers.authorization, `Basic ${Buffer.from('alice:s3cr@t').toString('base64')}`);
    assert.equal(req.headers['x-test'], 'yes');
    assert.equal(req.headers['content-length'], '5');
    assert.match(req.headers['user-agent'] ?? '', /^Herald/);
    assert.equal(req.body, 'hello');
  });

  it('an explicit Authorization header wins over user-info', async () => {
    server.respond = () => ({ status: 200 });
    await client.post(`http://bob:pw@127.0.0.1:${server.port}/`, { headers: { Authorization: 'Bearer abc' }, body: '' });
    assert.equal(server.requests.at(-1)?.headers.authorization, 'Bearer abc');
  });

  it('keeps an excerpt of a huge answer without reading all of it', async () => {
    let sent = 0;
    const closed = new Promise<{ finished: boolean }>((resolve) => {
      server.respond = (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        const chunk = 'y'.repeat(64 * 1024);
        // 64 MiB unless the client goes away first, which it should.
        const pump = (): void => {
          while (sent < 1024 && !res.destroyed) {
            sent += 1;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          if (!res.destroyed) res.end();
        };
        res.on('close', () => resolve({ finished: res.writableFinished }));
        pump();
      };
    });
    // A timeout long enough to read all 64 MiB, so only the client's own limit can stop the read early.
    const patient = new HttpClient({ allowPrivate: true, timeoutMs: 120_000 });
    const answer = await patient.post(`${server.origin}/big`, { headers: {}, body: 'x' }).finally(() => patient.close());
    assert.equal(answer.statusCode, 200);
    assert.equal(answer.bodyExcerpt, 'y'.repeat(512));
    // The client hung up: the server never got to finish its 64 MiB.
    const end = await closed;
    assert.equal(end.finished, false, 'the whole body was read');
    assert.ok(sent < 1024, `the server wrote all ${sent} chunks`);
  });

  it('honours a custom excerpt size', async () => {
    server.respond = () => ({ status: 200, body: 'é'.repeat(3000) });
    const answer = await client.post(server.origin, { headers: {}, body: '', excerptChars: 2000 });
    assert.equal(answer.bodyExcerpt, 'é'.repeat(2000));
  });

  it('reuses keep-alive connections for the same origin', async () => {
    server.respond = () => ({ status: 200, body: 'ok' });
    for (let i = 0; i < 6; i++) await client.post(`${server.origin}/${i}`, { headers: {}, body: String(i) });
    // undici may open a second socket while the first is still settling; it must not open one per request.
    const ports = new Set(server.requests.slice(-6).map((r) => r.remotePort));
    assert.ok(ports.size <= 2, `6 sequential requests used ${ports.size} sockets`);
  });

  it('keeps as many connections to one origin as an endpoint may have attempts at once, so none waits for a socket', async () => {
    // Every request is held until all PER_ENDPOINT have arrived together (or none has come for 3 s: then fewer were sent at once).
    const held: ServerResponse[] = [];
    let quiet: NodeJS.Timeout | undefined;
    const answerAll = (): void => {
      clearTimeout(quiet);
      for (const res of held.splice(0)) res.writeHead(200).end('ok');
    };
    server.respond = (_req, res) => {
      held.push(res);
      clearTimeout(quiet);
      if (held.length === PER_ENDPOINT) answerAll();
      else quiet = setTimeout(answerAll, 3000);
      return undefined;
    };
    const before = server.requests.length;
    const fresh = new HttpClient({ allowPrivate: true, timeoutMs: 30_000 });
    try {
      const answers = await Promise.all(Array.from({ length: PER_ENDPOINT }, (_, i) => fresh.post(`${server.origin}/c${i}`, { headers: {}, body: String(i) })));
      assert.ok(answers.every((a) => a.statusCode === 200));
      const ports = new Set(server.requests.slice(before).map((r) => r.remotePort));
      assert.equal(ports.size, PER_ENDPOINT, `${PER_ENDPOINT} requests at once used ${ports.size} sockets`);
    } finally {
      await fresh.close();
    }
  });

  it('times out with HttpTimeoutError and aborts on the caller signal', async () => {
    server.respond = () => undefined; // never answers
    await assert.rejects(client.post(server.origin, { headers: {}, body: '', timeoutMs: 150 }), HttpTimeoutError);
    const ac = new AbortController();
    const pending = client.post(server.origin, { headers: {}, body: '', signal: ac.signal });
    setTimeout(() => ac.abort(new Error('shutting down')), 50);
    await assert.rejects(pending, (err: Error) => !(err instanceof HttpTimeoutError));
  });

  it('an abort after the status line keeps the answer: its status, headers and the body read so far', async () => {
    server.respond = (_req, res) => {
      res.writeHead(503, { 'Retry-After': '7', 'content-type': 'text/plain' });
      res.write('busy, come back'); // and never ends the body
      return undefined;
    };
    const ac = new AbortController();
    const pending = client.post(server.origin, { headers: {}, body: '', signal: ac.signal });
    await new Promise((r) => setTimeout(r, 200));
    ac.abort(new Error('attempt timed out'));
    const answer = await pending;
    assert.equal(answer.statusCode, 503);
    assert.equal(answer.headers['retry-after'], '7');
    assert.equal(answer.bodyExcerpt, 'busy, come back');
  });

  it('gives header names lower-cased, a repeated header as a list, and the final answer after a 1xx one', async () => {
    server.respond = (_req, res) => {
      res.writeProcessing();
      res.setHeader('X-Multi', ['a', 'b']);
      res.setHeader('X-Single', 'one');
      res.writeHead(201).end('made');
      return undefined;
    };
    const answer = await client.post(server.origin, { headers: {}, body: '' });
    assert.equal(answer.statusCode, 201);
    assert.deepEqual(answer.headers['x-multi'], ['a', 'b']);
    assert.equal(answer.headers['x-single'], 'one');
    assert.equal(answer.bodyExcerpt, 'made');
  });

  it('an abort before the request is sent rejects it and sends nothing', async () => {
    server.respond = () => ({ status: 200 });
    const before = server.requests.length;
    const ac = new AbortController();
    ac.abort(new Error('stopping'));
    await assert.rejects(client.post(server.origin, { headers: {}, body: 'x', signal: ac.signal }), /stopping/);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(server.requests.length, before);
  });

  it('requests under one signal share one abort listener, and one abort ends them all', async () => {
    const held: ServerResponse[] = [];
    server.respond = (_req, res) => {
      held.push(res);
      return undefined;
    };
    const before = server.requests.length;
    const ac = new AbortController();
    const pending = Array.from({ length: 20 }, (_, i) => client.post(`${server.origin}/s${i}`, { headers: {}, body: '', signal: ac.signal }));
    await eventually(() => server.requests.length - before === 20, 10_000, 'all 20 requests at the server');
    assert.equal(getEventListeners(ac.signal, 'abort').length, 1);
    ac.abort(new Error('deadline'));
    const outcomes = await Promise.allSettled(pending);
    assert.ok(outcomes.every((o) => o.status === 'rejected'), 'a request outlived the abort');
    for (const res of held) res.destroy();
  });

  it('evicts the least recently used pool beyond maxOrigins and keeps working', async () => {
    const other = await captureServer();
    const small = new HttpClient({ allowPrivate: true, timeoutMs: 2000, maxOrigins: 1 });
    try {
      server.respond = () => ({ status: 200 });
      for (const origin of [server.origin, other.origin, server.origin]) {
        assert.equal((await small.post(origin, { headers: {}, body: '' })).statusCode, 200);
      }
    } finally {
      await small.close();
      await small.close(); // idempotent
      await other.close();
    }
    await assert.rejects(small.post(server.origin, { headers: {}, body: '' }), /closed/);
  });

  it('refuses non-HTTP schemes', async () => {
    await assert.rejects(client.post('ftp://127.0.0.1/', { headers: {}, body: '' }), /Unsupported URL scheme/);
  });
});
