import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatTraceParent, parseTraceParent } from '../../src/telemetry/traceparent.js';
import { NO_TRACING, startTracing, tracingWanted } from '../../src/telemetry/tracing.js';

const T = '4bf92f3577b34da6a3ce929d0e0e4736';
const S = '00f067aa0ba902b7';

describe('W3C traceparent', () => {
  it('accepts version 00 and later versions with extra fields, and round-trips', () => {
    assert.deepEqual(parseTraceParent(`00-${T}-${S}-01`), { traceId: T, spanId: S, flags: 1 });
    assert.deepEqual(parseTraceParent(`cc-${T}-${S}-00-whatever`), { traceId: T, spanId: S, flags: 0 });
    assert.equal(formatTraceParent({ traceId: T, spanId: S, flags: 1 }), `00-${T}-${S}-01`);
  });

  it('rejects what the spec calls invalid, so it is ignored rather than continued', () => {
    for (const bad of [
      '',
      'garbage',
      `ff-${T}-${S}-01`,
      `00-${T}-${S}-01-extra`,
      `00-${T.toUpperCase()}-${S}-01`,
      `00-${'0'.repeat(32)}-${S}-01`,
      `00-${T}-${'0'.repeat(16)}-01`,
      `00-${T.slice(1)}-${S}-01`,
      `00-${T}-${S}-1`,
    ]) {
      assert.equal(parseTraceParent(bad), undefined, bad);
    }
    assert.equal(parseTraceParent(undefined), undefined);
  });
});

describe('startTracing', () => {
  it('is on only with an OTLP endpoint, and off with OTEL_SDK_DISABLED or OTEL_TRACES_EXPORTER=none', async () => {
    assert.equal(tracingWanted({}), false);
    assert.equal(tracingWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }), true);
    assert.equal(tracingWanted({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' }), true);
    assert.equal(tracingWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x', OTEL_SDK_DISABLED: 'true' }), false);
    assert.equal(tracingWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x', OTEL_TRACES_EXPORTER: 'none' }), false);
    assert.equal(await startTracing({}), NO_TRACING);
    assert.equal(NO_TRACING.startSpan('x', { parent: `00-${T}-${S}-01` }).traceParent, null);
  });
});
