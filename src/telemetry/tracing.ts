/**
 * The tracing facade the API, the delivery engine and the function runtime use. It speaks plain
 * strings (a W3C `traceparent`), so callers need no OpenTelemetry types, and its no-op form costs a
 * function call: when no OTLP endpoint is configured the SDK is never loaded (`startTracing`
 * imports it lazily).
 */

import type { TraceSpan, Tracing } from './types.js';

export type { SpanAttributes, SpanKind, SpanOptions, TraceSpan, Tracing } from './types.js';

const NO_SPAN: TraceSpan = {
  traceParent: null,
  setAttributes: () => {},
  fail: () => {},
  end: () => {},
};

/** Tracing off: no spans, no traceparent stored or sent. */
export const NO_TRACING: Tracing = {
  enabled: false,
  startSpan: () => NO_SPAN,
  shutdown: async () => {},
};

type Env = Readonly<Record<string, string | undefined>>;

const set = (v: string | undefined): boolean => v !== undefined && v.trim() !== '';

/**
 * Tracing is on when an OTLP endpoint is configured (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or
 * OTEL_EXPORTER_OTLP_ENDPOINT), unless OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none, as the
 * OpenTelemetry specification defines those two.
 */
export function tracingWanted(env: Env): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  if (env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() === 'none') return false;
  return set(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) || set(env.OTEL_EXPORTER_OTLP_ENDPOINT);
}

/**
 * The tracing the environment asks for. On, the OpenTelemetry SDK is loaded and reads the standard
 * OTEL_* variables itself (endpoint, headers, timeout, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES,
 * OTEL_TRACES_SAMPLER(_ARG), OTEL_BSP_*): the exporter reads `process.env`, so `env` only decides
 * whether tracing is on.
 */
export async function startTracing(env: Env = process.env): Promise<Tracing> {
  if (!tracingWanted(env)) return NO_TRACING;
  const { startOtelTracing } = await import('./otel.js');
  return startOtelTracing();
}
