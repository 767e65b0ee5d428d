import type { AttributeValue, Attributes } from '@opentelemetry/api'
import type { Sampler, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base'
import { isDisabledByEnv, logger } from '@traceweave/core/internal'
import type { SamplingOptions, TrustIncoming } from '@traceweave/core'
import { PROPAGATOR_NAMES, type PropagatorName } from './propagators'
import {
  resolveResourceSampling,
  type ResolvedResourceSampling,
  type ResourceSamplingOptions,
} from './resources/options'

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

/** The exporter decision after options and environment are merged. */
export type ExporterConfig =
  | { kind: 'memory'; maxSpans: number }
  | { kind: 'console'; write: ((text: string) => void) | undefined }
  | { kind: 'otlp'; otlp: OtlpOptions }
  | { kind: 'none' }
  | { kind: 'instance'; exporter: SpanExporter }

/** Every option with its default applied: the one place defaults live. */
export interface ResolvedConfig {
  disabled: boolean
  serviceName: string | undefined
  resourceAttributes: Attributes
  exporter: ExporterConfig
  batch: Required<BatchOptions>
  /** `undefined`: follow `OTEL_PROPAGATORS` (read and reported by propagators.ts). */
  propagators: PropagatorName[] | undefined
  sampling: SamplingOptions | undefined
  sampler: Sampler | undefined
  propagation: PropagationOptions
  correlation: boolean
  spanProcessors: SpanProcessor[]
  flushOnExit: boolean
  exitTimeoutMillis: number
  /** `undefined`: no background sampling. */
  resources: ResolvedResourceSampling | undefined
}

export const DEFAULTS = {
  exporter: 'otlp',
  maxQueueSize: 2048,
  maxExportBatchSize: 512,
  scheduledDelayMillis: 5000,
  consoleScheduledDelayMillis: 200,
  exportTimeoutMillis: 30000,
  memoryMaxSpans: 10000,
  flushOnExit: true,
  exitTimeoutMillis: 5000,
} as const

const OPTION_KEYS: ReadonlySet<string> = new Set<keyof SetupTracingOptions>([
  'serviceName',
  'resourceAttributes',
  'exporter',
  'otlp',
  'console',
  'memory',
  'batch',
  'propagators',
  'sampling',
  'sampler',
  'propagation',
  'correlation',
  'spanProcessors',
  'disabled',
  'flushOnExit',
  'exitTimeoutMillis',
  'resources',
])
const EXPORTER_NAMES: readonly ExporterName[] = ['memory', 'console', 'otlp', 'none']
const ENV_EXPORTER_NAMES = ['otlp', 'console', 'none'] as const

/**
 * Validates `options` and merges them with the `OTEL_*` environment. Bad options throw a
 * TypeError/RangeError naming the option; bad environment values are reported through `diag` and
 * replaced by the default, since the environment is often outside the developer's hands.
 */
export function resolveConfig(options: SetupTracingOptions | undefined): ResolvedConfig {
  if (options === undefined || options === null) options = {}
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`setupTracing: options must be an object; got ${describe(options)}`)
  }
  checkKeys('options', options, OPTION_KEYS)

  const disabled = optionalBoolean('disabled', options.disabled) ?? isDisabledByEnv()
  const serviceName = optionalString('serviceName', options.serviceName)
  const resourceAttributes = resolveResourceAttributes(options.resourceAttributes)
  const exporter = resolveExporter(options)
  return {
    disabled,
    serviceName,
    resourceAttributes,
    exporter,
    batch: resolveBatch(options.batch, exporter.kind),
    propagators: resolvePropagatorOption(options.propagators),
    sampling: resolveSampling(options),
    sampler: resolveSampler(options.sampler),
    propagation: resolvePropagation(options.propagation),
    correlation: optionalBoolean('correlation', options.correlation) ?? true,
    spanProcessors: resolveSpanProcessors(options.spanProcessors),
    flushOnExit: optionalBoolean('flushOnExit', options.flushOnExit) ?? DEFAULTS.flushOnExit,
    exitTimeoutMillis:
      optionalNumber('exitTimeoutMillis', options.exitTimeoutMillis, { min: 0 }) ??
      DEFAULTS.exitTimeoutMillis,
    resources: resolveResourceSampling(options.resources),
  }
}

/** Duck-typed so a user's exporter from another copy or version of the SDK is accepted. */
export function isSpanExporter(value: unknown): value is SpanExporter {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as SpanExporter).export === 'function' &&
    typeof (value as SpanExporter).shutdown === 'function'
  )
}

function resolveExporter(options: SetupTracingOptions): ExporterConfig {
  const { exporter } = options
  let name: ExporterName
  if (exporter === undefined) {
    name = exporterFromEnv()
  } else if (isSpanExporter(exporter)) {
    checkUnusedSettings(options, undefined)
    return { kind: 'instance', exporter }
  } else if (typeof exporter === 'string' && (EXPORTER_NAMES as readonly string[]).includes(exporter)) {
    name = exporter as ExporterName
  } else {
    throw new TypeError(
      `setupTracing: option "exporter" must be one of ${quoteList(EXPORTER_NAMES)} or a SpanExporter ` +
        `(an object with export() and shutdown()); got ${describe(exporter)}`,
    )
  }
  const otlp = resolveOtlp(options.otlp)
  const write = resolveConsole(options.console)
  const maxSpans = resolveMemory(options.memory)
  if (exporter !== undefined) checkUnusedSettings(options, name)
  switch (name) {
    case 'memory':
      return { kind: 'memory', maxSpans }
    case 'console':
      return { kind: 'console', write }
    case 'otlp':
      return { kind: 'otlp', otlp }
    case 'none':
      return { kind: 'none' }
  }
}

// Settings for an exporter that was not chosen in code are almost always a mistake (a typo in
// `exporter`, or a leftover); saying so beats silently ignoring them.
function checkUnusedSettings(options: SetupTracingOptions, chosen: ExporterName | undefined): void {
  for (const key of ['otlp', 'console', 'memory'] as const) {
    if (options[key] !== undefined && chosen !== key) {
      throw new TypeError(
        `setupTracing: option "${key}" only applies with exporter: '${key}'; got exporter: ${describe(options.exporter)}`,
      )
    }
  }
}

function exporterFromEnv(): ExporterName {
  const raw = process.env.OTEL_TRACES_EXPORTER?.trim().toLowerCase()
  if (!raw) return DEFAULTS.exporter
  const names = raw
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
  const known = names.filter((part): part is (typeof ENV_EXPORTER_NAMES)[number] =>
    (ENV_EXPORTER_NAMES as readonly string[]).includes(part),
  )
  if (known.length !== names.length || known.length > 1) {
    logger.warn(
      `OTEL_TRACES_EXPORTER=${JSON.stringify(raw)}: expected one of ${quoteList(ENV_EXPORTER_NAMES)}; ` +
        `using '${known[0] ?? DEFAULTS.exporter}'`,
    )
  }
  return known[0] ?? DEFAULTS.exporter
}

function resolveOtlp(otlp: OtlpOptions | undefined): OtlpOptions {
  if (otlp === undefined) return {}
  checkObject('otlp', otlp)
  checkKeys('otlp', otlp, new Set(['url', 'headers', 'timeoutMillis']))
  const result: OtlpOptions = {}
  if (otlp.url !== undefined) {
    if (typeof otlp.url !== 'string' || !isHttpUrl(otlp.url)) {
      throw new TypeError(
        `setupTracing: option "otlp.url" must be an http:// or https:// URL; got ${describe(otlp.url)}`,
      )
    }
    result.url = otlp.url
  }
  if (otlp.headers !== undefined) {
    checkObject('otlp.headers', otlp.headers)
    for (const [key, value] of Object.entries(otlp.headers)) {
      if (typeof value !== 'string') {
        throw new TypeError(
          `setupTracing: option "otlp.headers" values must be strings; got ${describe(value)} for "${key}"`,
        )
      }
    }
    result.headers = { ...otlp.headers }
  }
  const timeoutMillis = optionalNumber('otlp.timeoutMillis', otlp.timeoutMillis, { min: 1 })
  if (timeoutMillis !== undefined) result.timeoutMillis = timeoutMillis
  return result
}

function resolveConsole(options: ConsoleOptions | undefined): ((text: string) => void) | undefined {
  if (options === undefined) return undefined
  checkObject('console', options)
  checkKeys('console', options, new Set(['write']))
  if (options.write !== undefined && typeof options.write !== 'function') {
    throw new TypeError(
      `setupTracing: option "console.write" must be a function (text: string) => void; got ${describe(options.write)}`,
    )
  }
  return options.write
}

function resolveMemory(options: MemoryOptions | undefined): number {
  if (options === undefined) return DEFAULTS.memoryMaxSpans
  checkObject('memory', options)
  checkKeys('memory', options, new Set(['maxSpans']))
  return (
    optionalNumber('memory.maxSpans', options.maxSpans, { min: 1, integer: true }) ?? DEFAULTS.memoryMaxSpans
  )
}

const BATCH_ENV: Record<keyof BatchOptions, string> = {
  maxQueueSize: 'OTEL_BSP_MAX_QUEUE_SIZE',
  maxExportBatchSize: 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE',
  scheduledDelayMillis: 'OTEL_BSP_SCHEDULE_DELAY',
  exportTimeoutMillis: 'OTEL_BSP_EXPORT_TIMEOUT',
}
const BATCH_LIMITS: Record<keyof BatchOptions, { min: number; integer?: boolean }> = {
  maxQueueSize: { min: 1, integer: true },
  maxExportBatchSize: { min: 1, integer: true },
  scheduledDelayMillis: { min: 0 },
  exportTimeoutMillis: { min: 1 },
}

function resolveBatch(
  batch: BatchOptions | undefined,
  exporter: ExporterConfig['kind'],
): Required<BatchOptions> {
  if (batch !== undefined) {
    checkObject('batch', batch)
    checkKeys('batch', batch, new Set(Object.keys(BATCH_ENV)))
  }
  // A person reads the console exporter while making the request: a short delay, unless set.
  const fallback = (key: keyof BatchOptions): number =>
    key === 'scheduledDelayMillis' && exporter === 'console'
      ? DEFAULTS.consoleScheduledDelayMillis
      : DEFAULTS[key]
  const pick = (key: keyof BatchOptions): number =>
    optionalNumber(`batch.${key}`, batch?.[key], BATCH_LIMITS[key]) ??
    numberFromEnv(BATCH_ENV[key], BATCH_LIMITS[key]) ??
    fallback(key)
  const resolved = {
    maxQueueSize: pick('maxQueueSize'),
    maxExportBatchSize: pick('maxExportBatchSize'),
    scheduledDelayMillis: pick('scheduledDelayMillis'),
    exportTimeoutMillis: pick('exportTimeoutMillis'),
  }
  if (resolved.maxExportBatchSize > resolved.maxQueueSize) {
    if (batch?.maxExportBatchSize !== undefined && batch.maxQueueSize !== undefined) {
      throw new RangeError(
        `setupTracing: option "batch.maxExportBatchSize" (${resolved.maxExportBatchSize}) must be at most ` +
          `"batch.maxQueueSize" (${resolved.maxQueueSize})`,
      )
    }
    // One side came from a default or the environment: a smaller queue simply means smaller batches.
    resolved.maxExportBatchSize = resolved.maxQueueSize
  }
  return resolved
}

function resolvePropagatorOption(value: PropagatorName[] | undefined): PropagatorName[] | undefined {
  if (value === undefined) return undefined
  const valid = `an array of ${quoteList(PROPAGATOR_NAMES)}`
  if (!Array.isArray(value)) {
    throw new TypeError(`setupTracing: option "propagators" must be ${valid}; got ${describe(value)}`)
  }
  for (const name of value) {
    if (!(PROPAGATOR_NAMES as readonly unknown[]).includes(name)) {
      throw new TypeError(
        `setupTracing: option "propagators" must be ${valid}; got ${describe(name)} in the list`,
      )
    }
  }
  return [...new Set(value)]
}

function resolveSampling(options: SetupTracingOptions): SamplingOptions | undefined {
  if (options.sampling === undefined) return undefined
  if (options.sampler !== undefined) {
    throw new TypeError(
      'setupTracing: give either option "sampling" (traceweave\'s sampler) or "sampler" (your own), not both',
    )
  }
  if (typeof options.sampling !== 'object' || options.sampling === null) {
    throw new TypeError(
      `setupTracing: option "sampling" must be an object of sampling options; got ${describe(options.sampling)}`,
    )
  }
  return options.sampling
}

function resolvePropagation(propagation: PropagationOptions | undefined): PropagationOptions {
  if (propagation === undefined) return {}
  if (typeof propagation !== 'object' || propagation === null) {
    throw new TypeError(
      `setupTracing: option "propagation" must be an object such as { trustIncoming: false }; got ${describe(propagation)}`,
    )
  }
  checkKeys('propagation', propagation, new Set(['trustIncoming']))
  const { trustIncoming } = propagation
  if (
    trustIncoming !== undefined &&
    typeof trustIncoming !== 'boolean' &&
    typeof trustIncoming !== 'function'
  ) {
    throw new TypeError(
      `setupTracing: option "propagation.trustIncoming" must be true, false or a function (headers, getter) => boolean; got ${describe(trustIncoming)}`,
    )
  }
  return propagation
}

function resolveSampler(sampler: Sampler | undefined): Sampler | undefined {
  if (sampler === undefined) return undefined
  if (typeof sampler !== 'object' || sampler === null || typeof sampler.shouldSample !== 'function') {
    throw new TypeError(
      `setupTracing: option "sampler" must be a Sampler (an object with shouldSample()); got ${describe(sampler)}`,
    )
  }
  return sampler
}

function resolveSpanProcessors(processors: SpanProcessor[] | undefined): SpanProcessor[] {
  if (processors === undefined) return []
  if (!Array.isArray(processors)) {
    throw new TypeError(
      `setupTracing: option "spanProcessors" must be an array of SpanProcessor; got ${describe(processors)}`,
    )
  }
  for (const processor of processors) {
    const methods = ['onStart', 'onEnd', 'forceFlush', 'shutdown'] as const
    if (
      typeof processor !== 'object' ||
      processor === null ||
      methods.some((m) => typeof processor[m] !== 'function')
    ) {
      throw new TypeError(
        `setupTracing: option "spanProcessors" must hold SpanProcessors (objects with ${methods.join(', ')}); ` +
          `got ${describe(processor)} in the list`,
      )
    }
  }
  return [...processors]
}

function resolveResourceAttributes(attributes: Attributes | undefined): Attributes {
  if (attributes === undefined) return {}
  checkObject('resourceAttributes', attributes)
  for (const [key, value] of Object.entries(attributes)) {
    if (!isAttributeValue(value)) {
      throw new TypeError(
        `setupTracing: option "resourceAttributes" values must be strings, numbers, booleans or arrays of one ` +
          `of those; got ${describe(value)} for "${key}"`,
      )
    }
  }
  return { ...attributes }
}

function isAttributeValue(value: unknown): value is AttributeValue {
  const primitive = (v: unknown) => ['string', 'number', 'boolean'].includes(typeof v)
  return primitive(value) || (Array.isArray(value) && value.every((v) => v == null || primitive(v)))
}

function numberFromEnv(name: string, limits: { min: number; integer?: boolean }): number | undefined {
  const raw = process.env[name]?.trim()
  if (!raw) return undefined
  const value = Number(raw)
  if (!Number.isFinite(value) || value < limits.min || (limits.integer && !Number.isInteger(value))) {
    logger.warn(
      `${name}=${JSON.stringify(raw)} is not a valid ${limits.integer ? 'integer' : 'number'} >= ${limits.min}; using the default`,
    )
    return undefined
  }
  return value
}

function optionalNumber(
  name: string,
  value: unknown,
  limits: { min: number; integer?: boolean },
): number | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new TypeError(`setupTracing: option "${name}" must be a number; got ${describe(value)}`)
  }
  if (!Number.isFinite(value) || value < limits.min || (limits.integer && !Number.isInteger(value))) {
    throw new RangeError(
      `setupTracing: option "${name}" must be a finite ${limits.integer ? 'integer' : 'number'} >= ${limits.min}; got ${value}`,
    )
  }
  return value
}

function optionalBoolean(name: string, value: unknown): boolean | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'boolean') {
    throw new TypeError(`setupTracing: option "${name}" must be true or false; got ${describe(value)}`)
  }
  return value
}

function optionalString(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value.trim() === '') {
    throw new TypeError(`setupTracing: option "${name}" must be a non-empty string; got ${describe(value)}`)
  }
  return value
}

function checkObject(name: string, value: unknown): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`setupTracing: option "${name}" must be an object; got ${describe(value)}`)
  }
}

function checkKeys(name: string, value: object, allowed: ReadonlySet<string>): void {
  for (const key of Object.keys(value)) {
    if (!allowed.has(key)) {
      const where = name === 'options' ? 'option' : `key in option "${name}"`
      throw new TypeError(`setupTracing: unknown ${where} "${key}"; valid: ${[...allowed].join(', ')}`)
    }
  }
}

function isHttpUrl(value: string): boolean {
  try {
    const { protocol } = new URL(value)
    return protocol === 'http:' || protocol === 'https:'
  } catch {
    return false
  }
}

function quoteList(values: readonly string[]): string {
  return values.map((v) => `'${v}'`).join(', ')
}

/** A short, safe rendering of a bad value for an error message. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return `'${value.length > 40 ? `${value.slice(0, 40)}...` : value}'`
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'object')
    return `an object (${Object.keys(value).slice(0, 5).join(', ') || 'no keys'})`
  if (typeof value === 'function') return 'a function'
  return String(value)
}
