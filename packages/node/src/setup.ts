import {
  context,
  propagation,
  ProxyTracerProvider,
  trace,
  type TextMapPropagator,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import {
  defaultResource,
  detectResources,
  envDetector,
  resourceFromAttributes,
  type Resource,
} from '@opentelemetry/resources'
import type { Sampler, SpanProcessor } from '@opentelemetry/sdk-trace-base'
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node'
import { CorrelationSpanProcessor, TraceweaveSampler, setTracingDisabled } from '@traceweave/core'
import { logger } from '@traceweave/core/internal'
import { createExportPipeline, NO_EXPORT_STATS, type ExportPipeline } from './exporters'
import { CountingBatchSpanProcessor } from './exporters/batch'
import { MemorySpanExporter, type MemorySpans } from './exporters/memory'
import { resolveConfig, type ResolvedConfig } from './options/resolve'
import type { SetupTracingOptions } from './options/types'
import { createPropagator } from './propagators'
import { createSampler } from './sampling'
import { detectServiceName } from './service-name'
import { installExitFlush } from './signals'
import { startProcessSampler } from './resources/sampler'

/**
 * The provider `setupTracing()` registered: an OpenTelemetry `TracerProvider` you can flush and shut down.
 *
 * @example `const tracer = setupTracing().provider.getTracer('billing')`
 */
export interface TracingProvider extends TracerProvider {
  /** Exports every finished span still waiting in a queue. */
  forceFlush(): Promise<void>
  /** Flushes, then stops every span processor and exporter (no time bound: see `TracingHandle.shutdown`). */
  shutdown(): Promise<void>
}

/**
 * Counters of what tracing had to give up, for health checks and tests.
 *
 * @example `app.get('/health', (req, res) => res.json({ droppedSpans: tracing.stats().droppedSpans }))`
 */
export interface TracingStats {
  /**
   * Finished spans dropped because the export queue held `batch.maxQueueSize` spans (or, with the
   * memory exporter, because `memory.maxSpans` were stored). Only grows.
   */
  droppedSpans: number
  /** Spans the exporter accepted (console, otlp or your exporter; 0 for memory and none). Only grows. */
  exportedSpans: number
  /** Export calls that failed; each lost its batch of spans. Only grows. */
  failedExports: number
  /** The cause of the latest failed export in words (`connection refused`, `HTTP 503`, ...), else `undefined`. */
  lastExportError: string | undefined
  /**
   * Finished spans `shutdown()` could not get exported: waiting for export when it began, and not
   * accepted by the exporter when it resolved (their export failed, or `exitTimeoutMillis` ran out
   * first). 0 until `shutdown()` resolves.
   */
  unflushedSpans: number
}

/**
 * What {@link setupTracing} returns.
 *
 * @example
 * ```ts
 * const tracing = setupTracing({ serviceName: 'checkout' })
 * process.on('beforeExit', () => tracing.shutdown())
 * ```
 */
export interface TracingHandle {
  /** A tracer for the service's own spans (named after the service). A no-op tracer when disabled. */
  readonly tracer: Tracer
  /** The registered provider (a no-op one when disabled). */
  readonly provider: TracingProvider
  /** The stored spans when `exporter: 'memory'`, else `undefined`. */
  readonly memory: MemorySpans | undefined
  /** The `service.name` the spans carry (`undefined` when disabled). */
  readonly serviceName: string | undefined
  /** `true` when tracing was turned off by `disabled: true` or `OTEL_SDK_DISABLED=true`. */
  readonly disabled: boolean
  /** Current counters; see {@link TracingStats}. */
  stats(): TracingStats
  /** Exports pending spans now. Never rejects: export failures are reported through `diag`. */
  forceFlush(): Promise<void>
  /**
   * Unregisters our provider, context manager and propagator at once, removes the signal listeners,
   * then flushes and stops the exporters, waiting at most `exitTimeoutMillis`: spans not exported by
   * then are given up, reported once and counted in `stats().unflushedSpans`. Idempotent: every call
   * returns the same promise, which never rejects. After it, `setupTracing()` may be called again.
   */
  shutdown(): Promise<void>
}

/**
 * The handle of `setupTracing({ exporter: 'memory' })`, whose `memory` is always there.
 *
 * @example `const spans = setupTracing({ exporter: 'memory' }).memory.getFinishedSpans()`
 */
export interface MemoryTracingHandle extends TracingHandle {
  readonly memory: MemorySpans
}

// The live setup, if any: one per process, since the OpenTelemetry globals are one per process.
let live: { disabled: boolean } | undefined

const NOOP_TRACER_PROVIDER: TracerProvider = new ProxyTracerProvider().getDelegate()

/**
 * Sets up tracing for this process: call it once at start, before building the app. Builds an
 * OpenTelemetry `NodeTracerProvider` (AsyncLocalStorage context, the chosen exporter behind a bounded
 * queue) and registers it, its context manager and its propagators globally. Options in code beat the
 * `OTEL_*` environment; see {@link SetupTracingOptions} for each option and its default.
 *
 * Throws a `ConfigError` (a TypeError) naming the option and its valid values for bad options; an Error when a previous setup is
 * still live (shut it down first) or when another OpenTelemetry provider is already registered.
 *
 * @example
 * ```ts
 * import { setupTracing } from '@traceweave/node'
 * const tracing = setupTracing({ serviceName: 'checkout' })   // OTLP to localhost:4318 by default
 * ```
 */
export function setupTracing(options: SetupTracingOptions & { exporter: 'memory' }): MemoryTracingHandle
export function setupTracing(options?: SetupTracingOptions): TracingHandle
export function setupTracing(options?: SetupTracingOptions): TracingHandle {
  const config = resolveConfig(options)
  // Built before anything is registered, so a bad sampling option fails setup with nothing half-done.
  const sampler = config.sampler ?? createSampler(config.sampling)
  if (live) {
    throw new Error(
      'setupTracing() was already called and that tracing is still running. Call shutdown() on the handle ' +
        'the first call returned (`await tracing.shutdown()`) before setting up again, or reuse that handle.',
    )
  }
  if (config.disabled) return setupDisabled(config)

  const foreign = describeRegisteredProvider()
  if (foreign) {
    throw new Error(
      `setupTracing(): another OpenTelemetry tracer provider (${foreign}) is already registered globally, and ` +
        'traceweave will not replace it. Either remove the other setup (NodeSDK.start(), provider.register() or ' +
        'trace.setGlobalTracerProvider()) and let setupTracing() own tracing, or keep yours: skip setupTracing() ' +
        "and add traceweave's propagator, sampler and span processors from @traceweave/core to your own provider.",
    )
  }

  const resource = buildResource(config)
  const serviceName = String(resource.attributes['service.name'])
  const pipeline = createExportPipeline(config.exporter, config.batch)
  // Deferred sampling holds a request's spans in front of the exporting processor until it decides.
  const exportProcessors = pipeline.processor
    ? [
        sampler instanceof TraceweaveSampler
          ? (sampler.wrapSpanProcessor(pipeline.processor) as SpanProcessor)
          : pipeline.processor,
      ]
    : []
  const correlation = config.correlation ? [new CorrelationSpanProcessor() as unknown as SpanProcessor] : []
  const provider = buildProvider({
    resource,
    sampler,
    spanProcessors: [...correlation, ...config.spanProcessors, ...exportProcessors],
  })
  const unregister = registerGlobals(
    provider,
    createPropagator(config.propagators, config.propagation.trustIncoming),
  )
  const removeSignalListeners = config.flushOnExit
    ? installExitFlush({
        // The batch processor's flush does not wait for an export already running; the exit flush must.
        flush: () => provider.forceFlush().then(() => pipeline.watched?.idle()),
        timeoutMillis: config.exitTimeoutMillis,
        onSlowFlush: (exitsAfter, signal) => {
          const watched = pipeline.watched
          const cause = watched?.failingCause ? ` (failing: ${watched.failingCause})` : ''
          logger.warn(
            `waiting up to ${config.exitTimeoutMillis} ms to export the queued spans to ${watched?.describeTarget() ?? 'the exporter'}` +
              `${cause}${exitsAfter ? (signal === 'SIGINT' ? '; press Ctrl-C again to exit now' : `; a second ${signal} exits now`) : ''}`,
          )
        },
      })
    : () => {}
  live = { disabled: false }
  setTracingDisabled(false)
  const state = live
  const processSampler = config.resources === undefined ? undefined : startProcessSampler(config.resources)

  let stopping: Promise<void> | undefined
  let unflushedSpans = 0
  return {
    tracer: provider.getTracer(serviceName),
    provider,
    memory: pipeline.memory,
    serviceName,
    disabled: false,
    stats: () => ({
      droppedSpans: pipeline.droppedSpans(),
      ...(pipeline.watched?.stats ?? NO_EXPORT_STATS),
      unflushedSpans,
    }),
    forceFlush: () => (stopping ? stopping : reportRejection('forceFlush', provider.forceFlush())),
    shutdown() {
      stopping ??= (() => {
        // Unregister first and synchronously: spans started from now on are no-ops, and a new
        // setupTracing() may run while the exporters are still draining.
        removeSignalListeners()
        processSampler?.stop()
        unregister()
        if (live === state) {
          live = undefined
          setTracingDisabled(undefined)
        }
        return shutdownWithin(provider, pipeline, config.exitTimeoutMillis).then((count) => {
          unflushedSpans = count
        })
      })()
      return stopping
    },
  }
}

/**
 * The one place the provider is built: traceweave's sampler (or the user's), the correlation processor,
 * the user's processors, then the exporting one (wrapped for deferred sampling).
 */
function buildProvider(parts: {
  resource: Resource
  sampler: Sampler
  spanProcessors: SpanProcessor[]
}): NodeTracerProvider {
  return new NodeTracerProvider({
    resource: parts.resource,
    sampler: parts.sampler,
    spanProcessors: parts.spanProcessors,
  })
}

/**
 * The resource: SDK defaults, then `OTEL_RESOURCE_ATTRIBUTES` / `OTEL_SERVICE_NAME`, then the
 * `resourceAttributes` option, then the service name (option, env, package.json, unknown_service).
 */
function buildResource(config: ResolvedConfig): Resource {
  const fromEnv = detectResources({ detectors: [envDetector] })
  const fromOption = config.resourceAttributes['service.name']
  const fromEnvName = fromEnv.attributes['service.name']
  const serviceName =
    config.serviceName ??
    (typeof fromOption === 'string' && fromOption ? fromOption : undefined) ??
    (typeof fromEnvName === 'string' && fromEnvName ? fromEnvName : undefined) ??
    detectServiceName()
  return defaultResource()
    .merge(fromEnv)
    .merge(resourceFromAttributes({ ...config.resourceAttributes, 'service.name': serviceName }))
}

/** Registers the provider and its companions; returns a function that unregisters what we registered. */
function registerGlobals(
  provider: NodeTracerProvider,
  propagator: TextMapPropagator | undefined,
): () => void {
  if (!trace.setGlobalTracerProvider(provider)) {
    // describeRegisteredProvider() found none a moment ago; this is an @opentelemetry/api version clash.
    throw new Error(
      'setupTracing(): could not register the tracer provider with @opentelemetry/api (see the diag error ' +
        'above; usually two incompatible versions of @opentelemetry/api are installed).',
    )
  }
  const contextManager = new AsyncLocalStorageContextManager().enable()
  const ownsContext = context.setGlobalContextManager(contextManager)
  if (!ownsContext) {
    contextManager.disable()
    logger.warn('another context manager was already registered; keeping it')
  }
  const ownsPropagation = propagator ? propagation.setGlobalPropagator(propagator) : false
  if (propagator && !ownsPropagation) {
    logger.warn('another propagator was already registered; keeping it, so the propagators option is ignored')
  }
  return () => {
    trace.disable()
    if (ownsContext) context.disable()
    if (ownsPropagation) propagation.disable()
  }
}

/** The class name of a provider registered by someone else, or `undefined` when none is. */
function describeRegisteredProvider(): string | undefined {
  const current = trace.getTracerProvider() as TracerProvider & { getDelegate?: () => TracerProvider }
  const delegate = typeof current.getDelegate === 'function' ? current.getDelegate() : current
  if (delegate === NOOP_TRACER_PROVIDER) return undefined
  return delegate.constructor?.name || 'a provider of unknown type'
}

function setupDisabled(config: ResolvedConfig): TracingHandle {
  live = { disabled: true }
  setTracingDisabled(true) // the middlewares now pass requests through untouched
  const state = live
  const tracer = NOOP_TRACER_PROVIDER.getTracer('traceweave')
  const done = Promise.resolve()
  const provider: TracingProvider = {
    getTracer: () => tracer,
    forceFlush: () => done,
    shutdown: () => done,
  }
  return {
    tracer,
    provider,
    memory: config.exporter.kind === 'memory' ? new MemorySpanExporter(1) : undefined,
    serviceName: undefined,
    disabled: true,
    stats: () => ({ droppedSpans: 0, ...NO_EXPORT_STATS, unflushedSpans: 0 }),
    forceFlush: () => done,
    shutdown() {
      if (live === state) {
        live = undefined
        setTracingDisabled(undefined)
      }
      return done
    },
  }
}

/**
 * Shuts `provider` down, waiting at most `timeoutMillis`: the flush inside it waits for the
 * collector's answer (the OTLP exporter's own timeout is 10 s), and a service stopping should not.
 * Resolves with the spans that were waiting for export when it began and that the exporter has not
 * accepted by the time it resolves; those are reported once.
 */
function shutdownWithin(
  provider: NodeTracerProvider,
  pipeline: ExportPipeline,
  timeoutMillis: number,
): Promise<number> {
  type Outcome = { kind: 'done' } | { kind: 'failed'; error: unknown } | { kind: 'timeout' }
  const queue = pipeline.processor instanceof CountingBatchSpanProcessor ? pipeline.processor : undefined
  const exported = (): number => pipeline.watched?.stats.exportedSpans ?? 0
  const waiting = queue?.waitingSpans() ?? 0
  const exportedBefore = exported()
  let timer: NodeJS.Timeout | undefined
  // The batch processor's flush does not wait for an export already running; shutdown must.
  const finished = provider
    .shutdown()
    .then(() => pipeline.watched?.idle())
    .then(
      (): Outcome => ({ kind: 'done' }),
      (error: unknown): Outcome => ({ kind: 'failed', error }),
    )
  const deadline = new Promise<Outcome>((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'timeout' }), timeoutMillis)
  })
  return Promise.race([finished, deadline]).then((outcome) => {
    clearTimeout(timer)
    const unflushed = Math.max(0, waiting - (exported() - exportedBefore))
    if (outcome.kind === 'timeout') {
      // The exporters go on in the background; what they report later would only repeat this.
      logger.warn(
        `shutdown did not finish within exitTimeoutMillis (${timeoutMillis} ms); ${unflushed} spans not exported are lost`,
      )
    } else if (outcome.kind === 'failed') {
      logger.error(`shutdown failed; ${unflushed} spans were not exported`, outcome.error)
    }
    // A failed export was already reported by the watched exporter (once per cause): counted only.
    return unflushed
  })
}

function reportRejection(what: string, promise: Promise<void>): Promise<void> {
  return promise.catch((error: unknown) =>
    logger.error(`${what} failed; some spans may not have been exported`, error),
  )
}
