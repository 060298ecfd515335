import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Application, FnFunction } from '../../src/core/function-models.js';
import type { FunctionInvoker } from '../../src/core/functions.js';
import { FunctionsHandler } from '../../src/delivery/protocols/functions.js';
import { message, messageCtx, subscription } from './fixtures.js';

/** An invoker that records each call's headers and answers 200 (the handler's side of the call is what is checked). */
function recordingInvoker(): { invoker: FunctionInvoker; headers: Record<string, string>[] } {
  const headers: Record<string, string>[] = [];
  const invoker = {
    invoke: async (_target: unknown, request: { headers: Record<string, string> }) => {
      headers.push(request.headers);
      return { status: 200, body: Buffer.from('ok'), headers: {} };
    },
  } as unknown as FunctionInvoker;
  return { invoker, headers };
}

describe('ORACLE_FUNCTIONS and trace context', () => {
  const target = { fn: { id: 'fn' } as FnFunction, app: { id: 'app' } as Application };
  const sub = subscription('ORACLE_FUNCTIONS', 'ocid1.fnfunc.oc1..x');
  const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

  it('passes the attempt span\'s traceparent to the function call', async () => {
    const { invoker, headers } = recordingInvoker();
    const handler = new FunctionsHandler(async () => target, invoker);
    assert.deepEqual(await handler.send(messageCtx(sub, message('hi'), { traceParent: tp })), { ok: true, statusCode: 200, responseExcerpt: 'ok' });
    assert.equal(headers[0]?.traceparent, tp);
  });

  it('adds no traceparent when tracing is off', async () => {
    const { invoker, headers } = recordingInvoker();
    const handler = new FunctionsHandler(async () => target, invoker);
    await handler.send(messageCtx(sub, message('hi')));
    assert.equal(headers.length, 1);
    assert.equal('traceparent' in headers[0]!, false);
  });
});
