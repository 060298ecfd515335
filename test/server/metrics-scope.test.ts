import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/eventually.js';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { heraldClient } from '../helpers/oci.js';

/**
 * /metrics answers anyone who can reach the port, so it may only say what is true of the whole installation:
 * no series per tenancy, compartment, topic or subscription, and no resource id anywhere in the text.
 */
describe('unauthenticated /metrics is installation-wide only', () => {
  let h: TestHerald;
  before(async () => {
    h = await startTestHerald('sqlite');
  });
  after(async () => {
    await h.stop();
  });

  it('carries no tenancy, compartment, topic or subscription label and no OCID, after real traffic', async () => {
    const signed = heraldClient(h);
    const { topicId } = await signed.call<{ topicId: string }>('POST', '/20181201/topics', { name: 'metrics-scope', compartmentId: h.tenancyId });
    await signed.call('POST', `/20181201/topics/${topicId}/messages`, { body: 'counted, not named' });
    const text = await eventually(async () => {
      const t = await (await fetch(`${h.herald.url}/metrics`)).text();
      return /^herald_messages_published_total [1-9]/m.test(t) ? t : undefined;
    }, 10_000, 'the publish to be counted');

    assert.doesNotMatch(text, /ocid1\./, 'no resource id appears');
    const labels = new Set<string>();
    for (const line of text.split('\n')) {
      const braces = /^[a-zA-Z_:][\w:]*\{([^}]*)\}/.exec(line);
      for (const m of braces?.[1]?.matchAll(/([a-zA-Z_]\w*)="/g) ?? []) labels.add(m[1]!);
    }
    for (const name of labels) assert.doesNotMatch(name, /tenan|compartment|topic|subscription|user|endpoint/i, `label ${name}`);
  });
});
