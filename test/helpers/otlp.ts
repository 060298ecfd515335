import assert from 'node:assert/strict';
import type { ServeFlags } from '../../src/config/config.js';
import { startTestHerald, type StoreKind, type TestHerald } from './herald.js';
import type { Receiver } from './receiver.js';

/** A span as the OTLP/HTTP JSON exporter sends it (ids in hex). */
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: { stringValue?: string; intValue?: string | number } }[];
}

export interface OtlpExport {
  resourceSpans: { resource: { attributes: OtlpSpan['attributes'] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
}

export const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/;

/** Every span the receiver (standing in for a collector at OTEL_EXPORTER_OTLP_ENDPOINT) was sent so far. */
export function spansOf(otlp: Receiver): OtlpSpan[] {
  return otlp.requests
    .filter((r) => r.method === 'POST' && r.path === '/v1/traces')
    .flatMap((r) => (JSON.parse(r.body) as OtlpExport).resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans)));
}

export function attr(span: OtlpSpan, key: string): string | number | undefined {
  const v = span.attributes.find((a) => a.key === key)?.value;
  return v?.stringValue ?? (v?.intValue === undefined ? undefined : Number(v.intValue));
}

/** The trace and span ids of a sampled W3C traceparent; fails the test on anything else. */
export function traceparentParts(tp: unknown): { traceId: string; spanId: string } {
  const m = TRACEPARENT.exec(typeof tp === 'string' ? tp : '');
  assert.ok(m, `a sampled W3C traceparent, got ${String(tp)}`);
  return { traceId: m[1]!, spanId: m[2]! };
}

/** Starts Herald with the OTEL_* variables set only while it starts (the SDK reads them then). */
export async function startWithEnv(kind: StoreKind, env: Record<string, string>, flags: ServeFlags = {}): Promise<TestHerald> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return await startTestHerald(kind, flags);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}
