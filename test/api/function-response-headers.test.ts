import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { functionResponseHeaders } from '../../src/api/function-response-headers.js';

/** Which of a function's response headers the invoke route returns (src/api/function-response-headers.ts). */

const DROPPED: readonly string[] = [
  'Set-Cookie',
  'set-cookie',
  'SET-COOKIE',
  'Set-Cookie2',
  'Connection',
  'Keep-Alive',
  'Proxy-Authenticate',
  'Proxy-Authorization',
  'Proxy-Connection',
  'TE',
  'te',
  'Trailer',
  'Trailers',
  'Transfer-Encoding',
  'Upgrade',
  'Access-Control-Allow-Origin',
  'access-control-allow-credentials',
  'Access-Control-Allow-Methods',
  'Access-Control-Allow-Headers',
  'Access-Control-Expose-Headers',
  'Access-Control-Max-Age',
  'Access-Control-Allow-Private-Network',
  'Strict-Transport-Security',
  'Content-Security-Policy',
  'content-security-policy',
  'Content-Length',
  'opc-request-id',
  'OPC-Request-Id',
];

const KEPT: readonly string[] = [
  'Content-Type',
  'content-type',
  'X-Custom',
  'Fn-Call-Id',
  'Fn-Http-Status',
  'Cache-Control',
  'ETag',
  'Location',
  'Content-Encoding',
  'Content-Security-Policy-Report-Only-Not-Really',
  'X-Access-Control-Allow-Origin',
  'Cookie',
  'Teapot',
  'X-Connection',
];

describe('functionResponseHeaders', () => {
  for (const name of DROPPED) {
    it(`drops ${name}`, () => {
      assert.deepEqual(functionResponseHeaders({ [name]: 'v', 'X-Custom': 'kept' }), { 'X-Custom': 'kept' });
    });
  }

  for (const name of KEPT) {
    it(`keeps ${name}, under the function's own spelling`, () => {
      assert.deepEqual(functionResponseHeaders({ [name]: 'v' }), { [name]: 'v' });
    });
  }

  it('drops the headers the Connection header names, whatever their case and spacing', () => {
    const out = functionResponseHeaders({
      connection: 'close, X-Hop ,x-other-HOP,,  ',
      'x-hop': '1',
      'X-Other-Hop': '2',
      'X-Stays': '3',
      'Content-Type': 'text/plain',
    });
    assert.deepEqual(out, { 'X-Stays': '3', 'Content-Type': 'text/plain' });
  });

  it('lets a Connection header name only what it names', () => {
    assert.deepEqual(functionResponseHeaders({ Connection: 'keep-alive', 'X-Custom': 'a' }), { 'X-Custom': 'a' });
    assert.deepEqual(functionResponseHeaders({ Connection: '', 'X-Custom': 'a' }), { 'X-Custom': 'a' });
  });

  it('returns a new object and leaves the input alone', () => {
    const input = { 'Set-Cookie': 'sid=1', 'X-Custom': 'a' };
    const out = functionResponseHeaders(input);
    assert.notEqual(out, input);
    assert.deepEqual(input, { 'Set-Cookie': 'sid=1', 'X-Custom': 'a' });
  });

  it('returns nothing for nothing', () => {
    assert.deepEqual(functionResponseHeaders({}), {});
  });
});
