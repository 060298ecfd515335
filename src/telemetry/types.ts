/**
 * The tracing facade's types: plain strings (a W3C `traceparent`) and attribute maps, so the API, the
 * delivery engine and the function runtime need no OpenTelemetry types.
 */

export type SpanKind = 'internal' | 'server' | 'client' | 'producer' | 'consumer';
export type SpanAttributes = Record<string, string | number | boolean | null | undefined>;

export interface SpanOptions {
  kind?: SpanKind;
  /** The parent's traceparent; absent, null or invalid starts a new trace. */
  parent?: string | null;
  attributes?: SpanAttributes;
}

export interface TraceSpan {
  /** This span's traceparent, to store with a message or send on a request; null when tracing is off. */
  readonly traceParent: string | null;
  /** null and undefined values are left out. */
  setAttributes(attributes: SpanAttributes): void;
  /** Marks the span failed (status ERROR) with the reason. */
  fail(reason: string): void;
  /** Idempotent: later calls do nothing. */
  end(): void;
}

export interface Tracing {
  readonly enabled: boolean;
  startSpan(name: string, opts?: SpanOptions): TraceSpan;
  /** Exports what is still queued and stops; called by Herald's close(). */
  shutdown(): Promise<void>;
}
