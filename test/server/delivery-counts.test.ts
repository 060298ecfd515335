import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
import { LabelHistogram, PairCounter } from '../../src/server/delivery-counts.js';

const BOUNDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** The same observations given to prom-client's own Counter and Histogram and to the counting ones. */
function both() {
  const reference = new Registry();
  const counted = new Registry();
  const refCounter = new Counter({ name: 'x_attempts_total', help: 'Attempts.', labelNames: ['protocol', 'outcome'], registers: [reference] });
  const refHistogram = new Histogram({ name: 'x_duration_seconds', help: 'Durations.', labelNames: ['protocol'], buckets: BOUNDS, registers: [reference] });
  const counter = new PairCounter('x_attempts_total', 'Attempts.', ['protocol', 'outcome'], counted);
  const histogram = new LabelHistogram('x_duration_seconds', 'Durations.', 'protocol', BOUNDS, counted);
  return {
    reference,
    counted,
    inc(protocol: string, outcome: string) {
      refCounter.labels({ protocol, outcome }).inc();
      counter.inc(protocol, outcome);
    },
    observe(protocol: string, seconds: number) {
      refHistogram.labels({ protocol }).observe(seconds);
      histogram.observe(protocol, seconds);
    },
    reset() {
      reference.resetMetrics();
      counted.resetMetrics();
    },
  };
}

describe('delivery counts', () => {
  it('expose the same text and JSON as prom-client for the same counts and observations', async () => {
    const m = both();
    // Nothing counted yet: HELP and TYPE only, as prom-client's labelled metrics print.
    assert.equal(await m.counted.metrics(), await m.reference.metrics());
    const seconds = [0, 0.0004, 0.001, 0.0011, 0.005, 0.0123, 0.3, 1, 2.5, 29.9, 30, 31, 600];
    for (const [i, s] of seconds.entries()) {
      m.observe(i % 3 === 0 ? 'EMAIL' : 'CUSTOM_HTTPS', s);
      m.inc(i % 3 === 0 ? 'EMAIL' : 'CUSTOM_HTTPS', i % 4 === 0 ? 'failure' : 'success');
    }
    m.inc('SLACK', 'success');
    m.observe('SLACK', 0.0025);
    const text = await m.counted.metrics();
    assert.equal(text, await m.reference.metrics());
    // As JSON, as a reader of getMetricsAsJSON sees it (prom-client's objects also hold keys set to undefined).
    const json = async (r: Registry): Promise<unknown> => JSON.parse(JSON.stringify(await r.getMetricsAsJSON())) as unknown;
    assert.deepEqual(await json(m.counted), await json(m.reference));
    // The bounds are inclusive (le): 0.001 and 30 count in their own buckets; 31 only in +Inf.
    assert.match(text, /^x_duration_seconds_bucket\{le="0.001",protocol="CUSTOM_HTTPS"\} 2$/m);
    assert.match(text, /^x_duration_seconds_bucket\{le="30",protocol="CUSTOM_HTTPS"\} 7$/m);
    assert.match(text, /^x_duration_seconds_bucket\{le="\+Inf",protocol="CUSTOM_HTTPS"\} 8$/m);
    assert.match(text, /^x_attempts_total\{protocol="SLACK",outcome="success"\} 1$/m);
  });

  it('leave out a duration that is not a finite number rather than make the sum NaN', async () => {
    const registry = new Registry();
    const histogram = new LabelHistogram('x_duration_seconds', 'Durations.', 'protocol', BOUNDS, registry);
    histogram.observe('CUSTOM_HTTPS', 0.02);
    histogram.observe('CUSTOM_HTTPS', Number.NaN);
    histogram.observe('CUSTOM_HTTPS', Number.POSITIVE_INFINITY);
    const text = await registry.metrics();
    assert.match(text, /^x_duration_seconds_count\{protocol="CUSTOM_HTTPS"\} 1$/m);
    assert.match(text, /^x_duration_seconds_sum\{protocol="CUSTOM_HTTPS"\} 0.02$/m);
  });

  it('start from nothing again after a registry reset', async () => {
    const m = both();
    m.inc('CUSTOM_HTTPS', 'success');
    m.observe('CUSTOM_HTTPS', 0.02);
    m.reset();
    m.inc('SMS', 'failure');
    const text = await m.counted.metrics();
    assert.equal(text, await m.reference.metrics());
    assert.doesNotMatch(text, /CUSTOM_HTTPS/);
  });
});
