/**
 * The options of `setupTracing()`: what a user reads, with their defaults and the `OTEL_*` variable
 * each one beats. Only types live here; resolve.ts checks them and merges in the environment.
 */
import type { Attributes } from '@opentelemetry/api'
import type { Sampler, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base'
import type { SamplingOptions, TrustIncoming } from '@traceweave/core'
import type { PropagatorName } from '../propagators'
import type { ResourceSamplingOptions } from '../resources/options'

/**
 * The exporters `setupTracing()` knows by name.
 *
 * @example `setupTracing({ exporter: 'console' })`
 */
export type ExporterName = 'memory' | 'console' | 'otlp' | 'none'

/**
 * Where the OTLP exporter sends spans (over HTTP, protobuf unless `OTEL_EXPORTER_OTLP_PROTOCOL=http/json`).
 * Each field beats its `OTEL_EXPORTER_OTLP_*` variable.
 *
 * @example `setupTracing({ exporter: 'otlp', otlp: { url: 'https://otlp.example.com/v1/traces', headers: { 'x-api-key': key } } })`
 */
export interface OtlpOptions {
  /**
   * Full URL of the traces endpoint. Default: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, else
   * `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`, else `http://localhost:4318/v1/traces`.
   */
  url?: string
  /**
   * Extra request headers (for example an API key). Merged over `OTEL_EXPORTER_OTLP_HEADERS` and
   * `OTEL_EXPORTER_OTLP_TRACES_HEADERS`; a key set here wins. Default: none.
   */
  headers?: Record<string, string>
  /** How long one export request may take. Default: `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT`, else 10000. */
  timeoutMillis?: number
}

/**
 * The bounded queue between finished spans and the exporter (console, otlp and instance exporters).
 * Each field beats its `OTEL_BSP_*` variable. When the queue holds `maxQueueSize` spans, further spans
 * are dropped and counted in `stats().droppedSpans`; memory never grows past the bound.
 *
 * @example `setupTracing({ batch: { maxQueueSize: 10000, scheduledDelayMillis: 1000 } })`
 */
export interface BatchOptions {
  /** Most spans held waiting for export. Default: `OTEL_BSP_MAX_QUEUE_SIZE`, else 2048. */
  maxQueueSize?: number
  /** Most spans per export call, at most `maxQueueSize`. Default: `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, else 512. */
  maxExportBatchSize?: number
  /**
   * Delay between two scheduled exports. Default: `OTEL_BSP_SCHEDULE_DELAY`, else 5000 ms (200 ms
   * for the `'console'` exporter, so a request prints about when it ends).
   */
  scheduledDelayMillis?: number
  /** How long one export may run before it is abandoned. Default: `OTEL_BSP_EXPORT_TIMEOUT`, else 30000 ms. */
  exportTimeoutMillis?: number
}

/**
 * Options of the `'console'` exporter.
 *
 * @example `setupTracing({ exporter: 'console', console: { write: (text) => logFile.write(text) } })`
 */
export interface ConsoleOptions {
  /** Receives each printed block of lines. Default: writes to `process.stdout` (asynchronously). */
  write?: (text: string) => void
}

/**
 * Options of the `'memory'` exporter.
 *
 * @example `setupTracing({ exporter: 'memory', memory: { maxSpans: 500 } })`
 */
export interface MemoryOptions {
  /**
   * Most finished spans kept; past it the oldest are discarded and counted in
   * `stats().droppedSpans`. Default 10000.
   */
  maxSpans?: number
}

/**
 * Options of {@link setupTracing}. All optional; an option given in code beats the matching
 * `OTEL_*` environment variable, which beats the default.
 *
 * @example
 * ```ts
 * setupTracing({ serviceName: 'checkout', exporter: 'otlp', otlp: { url: 'http://collector:4318/v1/traces' } })
 * ```
 */
export interface SetupTracingOptions {
  /**
   * The `service.name` resource attribute. Default: `OTEL_SERVICE_NAME`, else `service.name` in
   * `OTEL_RESOURCE_ATTRIBUTES`, else the `name` of the nearest package.json above `process.cwd()`,
   * else `unknown_service:node`.
   */
  serviceName?: string
  /**
   * Extra resource attributes, merged over `OTEL_RESOURCE_ATTRIBUTES` (a key set here wins).
   * Default: none.
   */
  resourceAttributes?: Attributes
  /**
   * Where finished spans go: `'memory'` (for tests: each span is stored as it ends, read them with
   * `handle.memory`), `'console'` (one line per span, indented by parent), `'otlp'` (OTLP over HTTP,
   * protobuf by default), `'none'`, or any `SpanExporter`. Default: `OTEL_TRACES_EXPORTER` (`otlp`, `console` or
   * `none`), else `'otlp'`.
   */
  exporter?: ExporterName | SpanExporter
  /** Settings of the `'otlp'` exporter. Default: from `OTEL_EXPORTER_OTLP_*`. */
  otlp?: OtlpOptions
  /** Settings of the `'console'` exporter. Default: writes to `process.stdout`. */
  console?: ConsoleOptions
  /** Settings of the `'memory'` exporter. Default: keeps up to 10000 spans. */
  memory?: MemoryOptions
  /** The bounded export queue (not used by `'memory'` and `'none'`). Default: from `OTEL_BSP_*`, else 2048 spans. */
  batch?: BatchOptions
  /**
   * Header formats injected into outgoing requests and read from incoming ones, in order:
   * `'tracecontext'`, `'baggage'`, `'b3'` (single header), `'b3multi'`; `[]` for none.
   * Default: `OTEL_PROPAGATORS`, else `['tracecontext', 'baggage']`.
   */
  propagators?: PropagatorName[]
  /**
   * traceweave's per-request sampling: parent, users, rules, ratio or adaptive, rate limit, deferred
   * decisions (see docs/sampling.md). Default: `OTEL_TRACES_SAMPLER` / `_ARG` mapped onto
   * it, else parent-based, keep everything.
   */
  sampling?: SamplingOptions
  /**
   * Your own OpenTelemetry `Sampler` instead of traceweave's (then `sampling` cannot be given, and
   * deferred decisions are not available). Default: none.
   */
  sampler?: Sampler
  /** How incoming trace headers are trusted. Default: `{ trustIncoming: true }`. */
  propagation?: PropagationOptions
  /**
   * Copy `request.id`, `session.*` and `user.id` of the current request onto every span started during
   * it, other libraries' spans included (traceweave's `CorrelationSpanProcessor`). Default `true`.
   */
  correlation?: boolean
  /** Span processors that run before the exporting one (for example a correlation processor). Default: none. */
  spanProcessors?: SpanProcessor[]
  /**
   * Turns tracing off: `setupTracing()` registers nothing and returns no-op pieces. Default:
   * `OTEL_SDK_DISABLED=true`, else `false`.
   */
  disabled?: boolean
  /**
   * Flush pending spans on `SIGTERM` and `SIGINT`. If no other listener handles the signal, it is
   * raised again after the flush so the process still exits as it would have. Default `true`.
   */
  flushOnExit?: boolean
  /** Longest wait for that flush before the process is let go. Default 5000 ms. */
  exitTimeoutMillis?: number
  /**
   * Sample the process's CPU percent and RSS in the background with pidusage: `true` (every 5 s) or
   * `{ sampleEveryMs }`. Exported as the gauges `process.cpu.utilization` and `process.memory.usage`
   * when a MeterProvider is registered, and put on server spans of `traceweave({ resources })`. The
   * timer is `unref`ed and stops on `shutdown()`. Default: off.
   */
  resources?: boolean | ResourceSamplingOptions
}

/**
 * Propagation settings of `setupTracing()`.
 *
 * @example `setupTracing({ propagation: { trustIncoming: (headers, get) => get.get(headers, 'x-internal') === '1' } })`
 */
export interface PropagationOptions {
  /**
   * Continue the caller's trace (`true`), always start a new one linked to it (`false`), or decide from
   * the incoming headers. This policy sits in the propagator, so it also applies when OpenTelemetry's
   * http instrumentation extracts before the middleware runs. Default `true`.
   */
  trustIncoming?: TrustIncoming
}
