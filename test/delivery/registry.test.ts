import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { Application, FnFunction } from '../../src/core/function-models.js';
import { DevMailbox } from '../../src/delivery/mail-sink.js';
import { buildProtocolRegistry } from '../../src/delivery/protocols/index.js';
import { SECRET, captureServer, message, messageCtx, subscription } from './fixtures.js';
import type { CaptureServer } from './fixtures.js';

describe('buildProtocolRegistry', () => {
  let server: CaptureServer;
  before(async () => {
    server = await captureServer();
  });
  after(async () => {
    await server.close();
  });

  function registry(allowPrivateEndpoints: boolean) {
    return buildProtocolRegistry({
      allowPrivateEndpoints,
      signingSecret: () => SECRET,
      mailSink: new DevMailbox(async (mail) => ({ ...mail, id: 1 })),
      mailFrom: 'herald@localhost',
      httpTimeoutMs: 2000,
    });
  }

  it('serves every protocol but ORACLE_FUNCTIONS, HTTPS and CUSTOM_HTTPS by one handler', async () => {
    const reg = registry(false);
    assert.deepEqual([...reg.keys()].sort(), ['CUSTOM_HTTPS', 'EMAIL', 'HTTPS', 'PAGERDUTY', 'SLACK', 'SMS']);
    assert.equal(reg.get('HTTPS'), reg.get('CUSTOM_HTTPS'));
    for (const h of reg.values()) await h.close(); // shared resources close once, idempotently
  });

  it('serves ORACLE_FUNCTIONS when given a function lookup and invoker, by that invoker', async () => {
    const invoked: string[] = [];
    const reg = buildProtocolRegistry({
      allowPrivateEndpoints: false,
      signingSecret: () => SECRET,
      mailSink: new DevMailbox(async (mail) => ({ ...mail, id: 1 })),
      mailFrom: 'herald@localhost',
      httpTimeoutMs: 2000,
      functions: {
        // Only the function the subscription names exists; the handler passes what it found to the invoker.
        lookup: async (_tenancyId, functionId) => (functionId === 'ocid1.fnfunc.oc1.iad.known' ? { fn: { id: functionId } as FnFunction, app: {} as Application } : undefined),
        invoker: {
          invoke: async (target, req) => {
            invoked.push(`${target.fn.id} ${req.body.toString('utf8')}`);
            return { status: 200, body: Buffer.from('done'), headers: {} };
          },
        },
      },
    });
    assert.deepEqual([...reg.keys()].sort(), ['CUSTOM_HTTPS', 'EMAIL', 'HTTPS', 'ORACLE_FUNCTIONS', 'PAGERDUTY', 'SLACK', 'SMS']);
    const handler = reg.get('ORACLE_FUNCTIONS');
    assert.ok(handler);
    const missing = await handler.send(messageCtx(subscription('ORACLE_FUNCTIONS', 'ocid1.fnfunc.oc1.iad.gone'), message('hi')));
    assert.equal(missing.ok, false);
    const found = await handler.send(messageCtx(subscription('ORACLE_FUNCTIONS', 'ocid1.fnfunc.oc1.iad.known'), message('hi')));
    assert.equal(found.ok, true);
    assert.deepEqual(invoked, ['ocid1.fnfunc.oc1.iad.known hi']);
    for (const h of new Set(reg.values())) await h.close();
  });

  it('applies allowPrivateEndpoints to tenant endpoints', async () => {
    for (const allow of [false, true]) {
      const reg = registry(allow);
      const handler = reg.get('CUSTOM_HTTPS');
      assert.ok(handler);
      const result = await handler.send(messageCtx(subscription('CUSTOM_HTTPS', `${server.origin}/x`), message('hi')));
      assert.equal(result.ok, allow);
      if (!result.ok) assert.equal(result.retryable, false);
      for (const h of new Set(reg.values())) await h.close();
    }
  });

  it('an SMS subscription without SMS configuration fails visibly', async () => {
    const reg = registry(false);
    const result = await reg.get('SMS')?.send(messageCtx(subscription('SMS', '+14255550100'), message('hi')));
    assert.equal(result?.ok, false);
    for (const h of new Set(reg.values())) await h.close();
  });
});
