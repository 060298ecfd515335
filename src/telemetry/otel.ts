/**
 * The OpenTelemetry SDK behind the tracing facade. Loaded only by `startTracing` (a dynamic import),
 * so a Herald without an OTLP endpoint never loads the SDK. The provider is not registered as the
 * global one: Herald's spans are parented explicitly by traceparent (a message's trace crosses a
 * database and possibly another node, where no in-process context survives), and a library's own
 * instrumentation is not picked up by accident.
 */
import { ROOT_CONTEXT, SpanKind as OtelKind, SpanStatusCode, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { formatTraceParent, parseTraceParent } from './traceparent.js';
import type { SpanAttributes, SpanKind, SpanOptions, TraceSpan, Tracing } from './types.js';

const KINDS: Record<SpanKind, OtelKind> = {
  internal: OtelKind.INTERNAL,
  server: OtelKind.SERVER,
  client: OtelKind.CLIENT,
  producer: OtelKind.PRODUCER,
  consumer: OtelKind.CONSUMER,
};

function attributes(a: SpanAttributes | undefined): Attributes {
  const out: Attributes = {};
  if (a !== undefined) for (const [k, v] of Object.entries(a)) if (v !== null && v !== undefined) out[k] = v;
  return out;
}

/** A remote parent from its traceparent; an invalid one starts a new trace, as the W3C spec says. */
function parentContext(parent: string | null | undefined): Context {
  const tp = parseTraceParent(parent);
  if (tp === undefined) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, { traceId: tp.traceId, spanId: tp.spanId, traceFlags: tp.flags & 1, isRemote: true });
}

class OtelSpan implements TraceSpan {
  readonly traceParent: string;
  private ended = false;

  constructor(private readonly span: Span) {
    const c = span.spanContext();
    // An unsampled span has a context too: passing it on keeps the sampling decision downstream.
    this.traceParent = formatTraceParent({ traceId: c.traceId, spanId: c.spanId, flags: c.traceFlags });
  }

  setAttributes(a: SpanAttributes): void {
    this.span.setAttributes(attributes(a));
  }

  fail(reason: string): void {
    this.span.setStatus({ code: SpanStatusCode.ERROR, message: reason });
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.span.end();
  }
}

export function startOtelTracing(): Tracing {
  // Env (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES) wins over Herald's default name.
  const resource = defaultResource()
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: 'herald' }))
    .merge(detectResources({ detectors: [envDetector] }));
  // The exporter reads OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, _HEADERS, _TIMEOUT, _COMPRESSION; the
  // provider OTEL_TRACES_SAMPLER(_ARG) and span limits; the batch processor OTEL_BSP_*.
  const provider = new NodeTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())] });
  const tracer = provider.getTracer('herald');
  let stopped: Promise<void> | undefined;
  return {
    enabled: true,
    startSpan(name: string, opts: SpanOptions = {}): TraceSpan {
      const span = tracer.startSpan(name, { kind: KINDS[opts.kind ?? 'internal'], attributes: attributes(opts.attributes) }, parentContext(opts.parent));
      return new OtelSpan(span);
    },
    shutdown(): Promise<void> {
      stopped ??= provider.shutdown();
      return stopped;
    },
  };
}
