/**
 * Checks the options of `setupTracing()` and merges them with the `OTEL_*` environment and the
 * defaults: the one place defaults live. Bad options throw a `ConfigError` from core's validation kit
 * ("traceweave: `otlp.url` must be an http:// or https:// URL; got 'collector:4318'"); bad environment
 * values are reported and replaced (env.ts).
 */
import type { Attributes } from '@opentelemetry/api'
import type { Sampler, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base'
import type { SamplingOptions } from '@traceweave/core'
import {
  checkBoolean,
  checkFunction,
  checkKeys,
  checkNonEmptyString,
  checkNumber,
  checkObject,
  configError,
  describeValue,
  invalidOption,
  isAttributeValue,
  isDisabledByEnv,
  quoteList,
  type NumberRule,
} from '@traceweave/core/internal'
import { PROPAGATOR_NAMES, type PropagatorName } from '../propagators'
import { resolveResourceSampling, type ResolvedResourceSampling } from '../resources/options'
import { BATCH_ENV, exporterFromEnv, numberFromEnv } from './env'
import type {
  BatchOptions,
  ConsoleOptions,
  ExporterName,
  MemoryOptions,
  OtlpOptions,
  PropagationOptions,
  SetupTracingOptions,
} from './types'

/** The exporter decision after options and environment are merged. */
export type ExporterConfig =
  | { kind: 'memory'; maxSpans: number }
  | { kind: 'console'; write: ((text: string) => void) | undefined }
  | { kind: 'otlp'; otlp: OtlpOptions }
  | { kind: 'none' }
  | { kind: 'instance'; exporter: SpanExporter }

/** Every option with its default applied. */
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
const SPAN_PROCESSOR_METHODS = ['onStart', 'onEnd', 'forceFlush', 'shutdown'] as const

/**
 * Validates `options` and merges them with the `OTEL_*` environment. Bad options throw a `ConfigError`
 * naming the option and its valid values; bad environment values are reported through `diag` and
 * replaced by the default, since the environment is often outside the developer's hands.
 */
export function resolveConfig(options: SetupTracingOptions | undefined): ResolvedConfig {
  if (options === undefined || options === null) options = {}
  checkObject('setupTracing(options)', options)
  checkKeys('setupTracing(options)', options, OPTION_KEYS)

  const disabled = optional(options.disabled, (v) => checkBoolean('disabled', v)) ?? isDisabledByEnv()
  const serviceName = optional(options.serviceName, (v) => checkNonEmptyString('serviceName', v))
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
    correlation: optional(options.correlation, (v) => checkBoolean('correlation', v)) ?? true,
    spanProcessors: resolveSpanProcessors(options.spanProcessors),
    flushOnExit: optional(options.flushOnExit, (v) => checkBoolean('flushOnExit', v)) ?? DEFAULTS.flushOnExit,
    exitTimeoutMillis:
      optional(options.exitTimeoutMillis, (v) => checkNumber('exitTimeoutMillis', v, { min: 0 })) ??
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

/** `check(value)` when the option is given; `undefined` (the default applies) when it is not. */
function optional<T>(value: unknown, check: (value: unknown) => T): T | undefined {
  return value === undefined ? undefined : check(value)
}

function resolveExporter(options: SetupTracingOptions): ExporterConfig {
  const { exporter } = options
  let name: ExporterName
  if (exporter === undefined) {
    name = exporterFromEnv(DEFAULTS.exporter)
  } else if (isSpanExporter(exporter)) {
    checkUnusedSettings(options, undefined)
    return { kind: 'instance', exporter }
  } else if (typeof exporter === 'string' && (EXPORTER_NAMES as readonly string[]).includes(exporter)) {
    name = exporter as ExporterName
  } else {
    invalidOption(
      'exporter',
      `one of ${quoteList(EXPORTER_NAMES)} or a SpanExporter (an object with export() and shutdown())`,
      exporter,
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
      configError(
        key,
        `go with exporter: '${key}' (it applies to that exporter only)`,
        `exporter: ${describeValue(options.exporter)}`,
      )
    }
  }
}

function resolveOtlp(otlp: OtlpOptions | undefined): OtlpOptions {
  if (otlp === undefined) return {}
  checkObject('otlp', otlp, 'an object { url, headers, timeoutMillis }')
  checkKeys('otlp', otlp, ['url', 'headers', 'timeoutMillis'])
  const result: OtlpOptions = {}
  if (otlp.url !== undefined) {
    if (typeof otlp.url !== 'string' || !isHttpUrl(otlp.url)) {
      invalidOption('otlp.url', 'an http:// or https:// URL', otlp.url)
    }
    result.url = otlp.url
  }
  if (otlp.headers !== undefined) {
    checkObject('otlp.headers', otlp.headers, 'an object of header names to string values')
    for (const [key, value] of Object.entries(otlp.headers)) {
      if (typeof value !== 'string') {
        configError(
          'otlp.headers',
          'have string values',
          `${describeValue(value)} for key ${describeValue(key)}`,
        )
      }
    }
    result.headers = { ...otlp.headers }
  }
  const timeoutMillis = optional(otlp.timeoutMillis, (v) => checkNumber('otlp.timeoutMillis', v, { min: 1 }))
  if (timeoutMillis !== undefined) result.timeoutMillis = timeoutMillis
  return result
}

function resolveConsole(options: ConsoleOptions | undefined): ((text: string) => void) | undefined {
  if (options === undefined) return undefined
  checkObject('console', options, 'an object { write }')
  checkKeys('console', options, ['write'])
  return optional(options.write, (v) =>
    checkFunction<(text: string) => void>('console.write', v, '(text: string) => void'),
  )
}

function resolveMemory(options: MemoryOptions | undefined): number {
  if (options === undefined) return DEFAULTS.memoryMaxSpans
  checkObject('memory', options, 'an object { maxSpans }')
  checkKeys('memory', options, ['maxSpans'])
  return (
    optional(options.maxSpans, (v) => checkNumber('memory.maxSpans', v, { min: 1, integer: true })) ??
    DEFAULTS.memoryMaxSpans
  )
}

const BATCH_LIMITS: Readonly<Record<keyof BatchOptions, NumberRule>> = {
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
    checkObject('batch', batch, `an object { ${Object.keys(BATCH_ENV).join(', ')} }`)
    checkKeys('batch', batch, Object.keys(BATCH_ENV))
  }
  // A person reads the console exporter while making the request: a short delay, unless set.
  const fallback = (key: keyof BatchOptions): number =>
    key === 'scheduledDelayMillis' && exporter === 'console'
      ? DEFAULTS.consoleScheduledDelayMillis
      : DEFAULTS[key]
  const pick = (key: keyof BatchOptions): number =>
    optional(batch?.[key], (v) => checkNumber(`batch.${key}`, v, BATCH_LIMITS[key])) ??
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
      invalidOption(
        'batch.maxExportBatchSize',
        `at most batch.maxQueueSize (${resolved.maxQueueSize})`,
        resolved.maxExportBatchSize,
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
  if (!Array.isArray(value)) invalidOption('propagators', valid, value)
  for (const name of value) {
    if (!(PROPAGATOR_NAMES as readonly unknown[]).includes(name)) {
      configError('propagators', `be ${valid}`, `${describeValue(name)} in the list`)
    }
  }
  return [...new Set(value)]
}

function resolveSampling(options: SetupTracingOptions): SamplingOptions | undefined {
  if (options.sampling === undefined) return undefined
  if (options.sampler !== undefined) {
    configError(
      'sampler',
      "be left out with sampling (give traceweave's sampling or your own sampler, not both)",
      'both',
    )
  }
  checkObject('sampling', options.sampling, 'an object of sampling options')
  return options.sampling
}

function resolvePropagation(propagation: PropagationOptions | undefined): PropagationOptions {
  if (propagation === undefined) return {}
  checkObject('propagation', propagation, 'an object such as { trustIncoming: false }')
  checkKeys('propagation', propagation, ['trustIncoming'])
  const { trustIncoming } = propagation
  if (
    trustIncoming !== undefined &&
    typeof trustIncoming !== 'boolean' &&
    typeof trustIncoming !== 'function'
  ) {
    invalidOption(
      'propagation.trustIncoming',
      'true, false or a function (headers, getter) => boolean',
      trustIncoming,
    )
  }
  return propagation
}

function resolveSampler(sampler: Sampler | undefined): Sampler | undefined {
  if (sampler === undefined) return undefined
  if (typeof sampler !== 'object' || sampler === null || typeof sampler.shouldSample !== 'function') {
    invalidOption('sampler', 'a Sampler (an object with shouldSample())', sampler)
  }
  return sampler
}

function resolveSpanProcessors(processors: SpanProcessor[] | undefined): SpanProcessor[] {
  if (processors === undefined) return []
  const valid = `an array of SpanProcessors (objects with ${SPAN_PROCESSOR_METHODS.join(', ')})`
  if (!Array.isArray(processors)) invalidOption('spanProcessors', valid, processors)
  for (const processor of processors) {
    if (
      typeof processor !== 'object' ||
      processor === null ||
      SPAN_PROCESSOR_METHODS.some((method) => typeof processor[method] !== 'function')
    ) {
      configError('spanProcessors', `be ${valid}`, `${describeValue(processor)} in the list`)
    }
  }
  return [...processors]
}

function resolveResourceAttributes(attributes: Attributes | undefined): Attributes {
  if (attributes === undefined) return {}
  checkObject('resourceAttributes', attributes, 'an object of attribute names to values')
  for (const [key, value] of Object.entries(attributes)) {
    if (!isAttributeValue(value)) {
      configError(
        'resourceAttributes',
        'have values that are strings, numbers, booleans or arrays of one of those types',
        `${describeValue(value)} for key ${describeValue(key)}`,
      )
    }
  }
  return { ...attributes }
}

/** Whether `value` parses as an absolute http: or https: URL (an OTLP endpoint). Never throws. */
export function isHttpUrl(value: string): boolean {
  try {
    const { protocol } = new URL(value)
    return protocol === 'http:' || protocol === 'https:'
  } catch {
    return false
  }
}
