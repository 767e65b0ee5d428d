import {
  context,
  diag,
  DiagLogLevel,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  trace,
  type DiagLogger,
} from '@opentelemetry/api'
import { ExportResultCode, type ExportResult } from '@opentelemetry/core'
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  type ReadableSpan,
  type Span,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base'
import { isTracingDisabled, setupTracing, type TracingHandle } from './index'

const savedEnv = { ...process.env }
let handle: TracingHandle | undefined

/** Starts tracing and remembers the handle so afterEach shuts it down even when a test fails. */
function start(...args: Parameters<typeof setupTracing>): TracingHandle {
  handle = setupTracing(...args)
  return handle
}
function startMemory(options: Omit<Parameters<typeof setupTracing>[0] & object, 'exporter'> = {}) {
  const memory = setupTracing({ flushOnExit: false, ...options, exporter: 'memory' })
  handle = memory
  return memory
}

/** An exporter that records every batch it is given, as a user's own exporter would receive them. */
class RecordingExporter implements SpanExporter {
  batches: ReadableSpan[][] = []
  shutdownCalls = 0
  private waiters: Array<() => void> = []
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.batches.push(spans)
    this.waiters.splice(0).forEach((wake) => wake())
    done({ code: ExportResultCode.SUCCESS })
  }
  names(): string[] {
    return this.batches.flat().map((span) => span.name)
  }
  nextExport(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve))
  }
  async shutdown(): Promise<void> {
    this.shutdownCalls++
  }
}

/** Collects diag messages at `level` and above. */
function captureDiag(level = DiagLogLevel.WARN): string[] {
  const messages: string[] = []
  const record = (...args: unknown[]) => void messages.push(args.map(String).join(' '))
  const logger: DiagLogger = { error: record, warn: record, info: record, debug: record, verbose: record }
  diag.setLogger(logger, { logLevel: level, suppressOverrideMessage: true })
  return messages
}

function endSpan(name: string, kind = SpanKind.INTERNAL): void {
  trace.getTracer('test').startSpan(name, { kind }).end()
}

beforeEach(() => {
  for (const key of Object.keys(process.env)) if (key.startsWith('OTEL_')) delete process.env[key]
})
afterEach(async () => {
  await handle?.shutdown()
  handle = undefined
  process.env = { ...savedEnv }
  diag.disable()
})

describe('setupTracing() with the memory exporter', () => {
  it('registers a provider globally and stores each span as soon as it ends', () => {
    const { memory } = startMemory({ serviceName: 'checkout' })
    endSpan('load cart')
    expect(memory.getFinishedSpans().map((span) => span.name)).toEqual(['load cart'])
    memory.reset()
    expect(memory.getFinishedSpans()).toEqual([])
  })

  it('keeps the active span across await (AsyncLocalStorage context manager)', async () => {
    const { tracer, memory } = startMemory()
    await tracer.startActiveSpan('parent', async (parent) => {
      await new Promise((resolve) => setTimeout(resolve, 1))
      tracer.startSpan('child').end()
      parent.end()
    })
    const [child, parent] = memory.getFinishedSpans()
    expect(child!.parentSpanContext?.spanId).toBe(parent!.spanContext().spanId)
  })

  it('bounds the stored spans with memory.maxSpans, discarding the oldest and counting them', () => {
    const tracing = startMemory({ memory: { maxSpans: 2 } })
    for (const name of ['a', 'b', 'c', 'd']) endSpan(name)
    expect(tracing.memory.getFinishedSpans().map((span) => span.name)).toEqual(['c', 'd'])
    expect(tracing.stats().droppedSpans).toBe(2)
  })
})

describe('service name and resource', () => {
  const serviceNameOf = (tracing: TracingHandle) => {
    endSpan('probe')
    return tracing.memory!.getFinishedSpans()[0]!.resource.attributes['service.name']
  }

  it('uses the serviceName option over OTEL_SERVICE_NAME', () => {
    process.env.OTEL_SERVICE_NAME = 'from-env'
    expect(serviceNameOf(startMemory({ serviceName: 'from-code' }))).toBe('from-code')
  })

  it('uses OTEL_SERVICE_NAME without the option, over service.name in OTEL_RESOURCE_ATTRIBUTES', () => {
    process.env.OTEL_SERVICE_NAME = 'from-env'
    process.env.OTEL_RESOURCE_ATTRIBUTES = 'service.name=from-attributes'
    expect(serviceNameOf(startMemory())).toBe('from-env')
  })

  it('uses service.name from OTEL_RESOURCE_ATTRIBUTES without OTEL_SERVICE_NAME', () => {
    process.env.OTEL_RESOURCE_ATTRIBUTES = 'service.name=from-attributes'
    expect(serviceNameOf(startMemory())).toBe('from-attributes')
  })

  it('falls back to the nearest package.json name above the working directory', () => {
    // jest runs from the workspace root, whose package.json is named traceweave-workspace.
    const tracing = startMemory()
    expect(tracing.serviceName).toBe('traceweave-workspace')
    expect(serviceNameOf(tracing)).toBe('traceweave-workspace')
  })

  it('merges the resourceAttributes option over OTEL_RESOURCE_ATTRIBUTES', () => {
    process.env.OTEL_RESOURCE_ATTRIBUTES = 'deployment.environment.name=staging,team=payments'
    startMemory({
      resourceAttributes: { 'deployment.environment.name': 'production', 'service.version': '1.2.3' },
    })
    endSpan('probe')
    const { attributes } = handle!.memory!.getFinishedSpans()[0]!.resource
    expect(attributes).toMatchObject({
      'deployment.environment.name': 'production',
      'service.version': '1.2.3',
      team: 'payments',
      'telemetry.sdk.language': 'nodejs',
    })
  })

  it('names the service from resourceAttributes when serviceName is not given', () => {
    process.env.OTEL_SERVICE_NAME = 'from-env'
    expect(
      serviceNameOf(startMemory({ resourceAttributes: { 'service.name': 'from-attributes-option' } })),
    ).toBe('from-attributes-option')
  })
})

describe('exporters', () => {
  it("'none' creates spans but exports nothing and offers no memory", async () => {
    const tracing = start({ exporter: 'none', flushOnExit: false })
    const span = tracing.tracer.startSpan('dropped')
    expect(span.isRecording()).toBe(true)
    span.end()
    await tracing.forceFlush()
    expect(tracing.memory).toBeUndefined()
  })

  it('sends spans to a SpanExporter instance through the batch queue', async () => {
    const exporter = new RecordingExporter()
    const tracing = start({ exporter, flushOnExit: false })
    endSpan('one')
    endSpan('two')
    expect(exporter.names()).toEqual([]) // batched: nothing is exported until the queue is flushed
    await tracing.forceFlush()
    expect(exporter.names()).toEqual(['one', 'two'])
    await tracing.shutdown()
    expect(exporter.shutdownCalls).toBe(1)
  })

  it("'console' prints a trace as one waterfall: a header, then one row per span, children indented under their parent", async () => {
    let output = ''
    const tracing = start({
      serviceName: 'users',
      exporter: 'console',
      console: { write: (text) => (output += text) },
      flushOnExit: false,
    })
    tracing.tracer.startActiveSpan('GET /users/:id', { kind: SpanKind.SERVER }, (server) => {
      server.setAttribute('request.id', 'r-1')
      tracing.tracer.startSpan('load user').end()
      server.end()
    })
    await tracing.forceFlush()
    const lines = output.trimEnd().split('\n')
    expect(lines).toHaveLength(3)
    expect(lines[0]).toMatch(/^trace [0-9a-f]{32} {2}GET \/users\/:id {2}.* {2}2 spans {2}1 service$/)
    expect(lines[1]).toMatch(
      /^ {2}users {2}GET \/users\/:id .* request\.id=r-1 sampling\.reason=ratio sampling\.adjusted_count=1$/,
    )
    expect(lines[2]).toMatch(/^ {2}users {4}load user /)
  })

  it('follows OTEL_TRACES_EXPORTER when the exporter option is not given', async () => {
    process.env.OTEL_TRACES_EXPORTER = 'console'
    let output = ''
    const tracing = start({ console: { write: (text) => (output += text) }, flushOnExit: false })
    endSpan('via env')
    await tracing.forceFlush()
    expect(output).toContain('via env')
  })

  it('lets the exporter option beat OTEL_TRACES_EXPORTER', () => {
    process.env.OTEL_TRACES_EXPORTER = 'none'
    const { memory } = startMemory()
    endSpan('kept')
    expect(memory.getFinishedSpans()).toHaveLength(1)
  })

  it('warns about an unknown OTEL_TRACES_EXPORTER value and uses the other names given', () => {
    const messages = captureDiag()
    process.env.OTEL_TRACES_EXPORTER = 'jaeger,none'
    const tracing = start({ flushOnExit: false })
    expect(messages.join('\n')).toMatch(/OTEL_TRACES_EXPORTER="jaeger,none".*using 'none'/)
    expect(tracing.memory).toBeUndefined()
  })
})

describe('batch queue', () => {
  /** An exporter that never answers: the queue can only fill up. */
  const stuckExporter = (): SpanExporter & { calls: number } => ({
    calls: 0,
    export() {
      this.calls++
    },
    shutdown: async () => {},
  })

  it('drops and counts spans past batch.maxQueueSize instead of growing', () => {
    const exporter = stuckExporter()
    const tracing = start({
      exporter,
      batch: {
        maxQueueSize: 10,
        maxExportBatchSize: 10,
        scheduledDelayMillis: 60_000,
        exportTimeoutMillis: 50,
      },
      flushOnExit: false,
    })
    // The first 10 fill the queue and are handed to the (stuck) exporter as one batch, emptying
    // the queue; the next 10 fill it again; the last 5 have no room.
    for (let i = 0; i < 25; i++) endSpan(`span ${i}`)
    expect(exporter.calls).toBe(1)
    expect(tracing.stats().droppedSpans).toBe(5)
  })

  it('honours OTEL_BSP_MAX_QUEUE_SIZE, and the batch option beats it', () => {
    process.env.OTEL_BSP_MAX_QUEUE_SIZE = '3'
    process.env.OTEL_BSP_SCHEDULE_DELAY = '60000'
    process.env.OTEL_BSP_EXPORT_TIMEOUT = '50'
    const fromEnv = start({ exporter: stuckExporter(), flushOnExit: false })
    for (let i = 0; i < 10; i++) endSpan(`span ${i}`)
    // Batches of 3 (the batch size is capped by the queue): 3 exported, 3 queued, 4 dropped.
    expect(fromEnv.stats().droppedSpans).toBe(4)
    void fromEnv.shutdown()

    const fromCode = start({ exporter: stuckExporter(), batch: { maxQueueSize: 100 }, flushOnExit: false })
    for (let i = 0; i < 10; i++) endSpan(`span ${i}`)
    expect(fromCode.stats().droppedSpans).toBe(0)
  })

  it('sends at most batch.maxExportBatchSize spans per export', async () => {
    const exporter = new RecordingExporter()
    const tracing = start({ exporter, batch: { maxExportBatchSize: 2 }, flushOnExit: false })
    for (let i = 0; i < 5; i++) endSpan(`span ${i}`)
    await tracing.forceFlush()
    expect(exporter.batches.map((batch) => batch.length)).toEqual([2, 2, 1])
  })

  it('exports on its own after batch.scheduledDelayMillis, without a flush', async () => {
    const exporter = new RecordingExporter()
    start({ exporter, batch: { scheduledDelayMillis: 1 }, flushOnExit: false })
    const exported = exporter.nextExport()
    endSpan('scheduled')
    await exported
    expect(exporter.names()).toEqual(['scheduled'])
  })

  it('gives up on an export after batch.exportTimeoutMillis, so a flush cannot hang', async () => {
    const messages = captureDiag(DiagLogLevel.ERROR)
    const tracing = start({
      exporter: stuckExporter(),
      batch: { exportTimeoutMillis: 20 },
      flushOnExit: false,
    })
    endSpan('never exported')
    await tracing.forceFlush() // resolves (does not reject) once the export times out
    expect(messages.join('\n')).toContain('forceFlush failed')
  })
})

describe('propagators', () => {
  const injected = () => {
    const carrier: Record<string, string> = {}
    const span = trace.getTracer('test').startSpan('outgoing')
    propagation.inject(trace.setSpan(ROOT_CONTEXT, span), carrier)
    span.end()
    return Object.keys(carrier).sort()
  }

  it('defaults to W3C trace context and baggage', () => {
    startMemory()
    expect(propagation.fields().sort()).toEqual(['baggage', 'traceparent', 'tracestate'])
    // tracestate carries ot=th:0: the root was kept with a known probability (100%).
    expect(injected()).toEqual(['traceparent', 'tracestate'])
  })

  it('follows OTEL_PROPAGATORS, and the propagators option beats it', async () => {
    process.env.OTEL_PROPAGATORS = 'b3multi'
    const fromEnv = startMemory()
    expect(injected()).toEqual(['x-b3-sampled', 'x-b3-spanid', 'x-b3-traceid'])
    await fromEnv.shutdown()

    startMemory({ propagators: ['b3', 'tracecontext'] })
    expect(injected()).toEqual(['b3', 'traceparent', 'tracestate'])
  })

  it('warns about unknown OTEL_PROPAGATORS names and keeps the known ones', () => {
    const messages = captureDiag()
    process.env.OTEL_PROPAGATORS = 'tracecontext,xray'
    startMemory()
    expect(messages.join('\n')).toMatch(/OTEL_PROPAGATORS: unknown propagator "xray"/)
    expect(propagation.fields()).toEqual(['traceparent', 'tracestate'])
  })

  it('registers no propagator for OTEL_PROPAGATORS=none or propagators: []', async () => {
    process.env.OTEL_PROPAGATORS = 'none'
    const fromEnv = startMemory()
    expect(injected()).toEqual([])
    await fromEnv.shutdown()
    delete process.env.OTEL_PROPAGATORS
    startMemory({ propagators: [] })
    expect(injected()).toEqual([])
  })
})

describe('sampler and span processors', () => {
  it('installs the sampler option', () => {
    const { memory } = startMemory({ sampler: new AlwaysOffSampler() })
    endSpan('not sampled')
    expect(memory.getFinishedSpans()).toEqual([])
  })

  it('follows OTEL_TRACES_SAMPLER without the option, and the option beats it', async () => {
    process.env.OTEL_TRACES_SAMPLER = 'always_off'
    const fromEnv = startMemory()
    endSpan('not sampled')
    expect(fromEnv.memory.getFinishedSpans()).toEqual([])
    await fromEnv.shutdown()

    const fromCode = startMemory({ sampler: new AlwaysOnSampler() })
    endSpan('sampled')
    expect(fromCode.memory.getFinishedSpans()).toHaveLength(1)
  })

  it('runs the spanProcessors option before the exporting processor', () => {
    const seen: string[] = []
    const tagger: SpanProcessor = {
      onStart: (span: Span) => void span.setAttribute('tagged', true),
      onEnd: (span) => void seen.push(`end ${span.name}`),
      forceFlush: async () => {},
      shutdown: async () => {},
    }
    const { memory } = startMemory({ spanProcessors: [tagger] })
    endSpan('work')
    expect(seen).toEqual(['end work'])
    expect(memory.getFinishedSpans()[0]!.attributes.tagged).toBe(true)
  })
})

describe('disabled', () => {
  it.each([
    ['option disabled: true', () => start({ disabled: true, exporter: 'memory' })],
    [
      'OTEL_SDK_DISABLED=true',
      () => ((process.env.OTEL_SDK_DISABLED = 'TRUE'), start({ exporter: 'memory' })),
    ],
  ])('%s turns everything into no-ops and registers nothing', async (_label, setup) => {
    const listeners = process.listenerCount('SIGTERM')
    const tracing = setup()
    expect(tracing.disabled).toBe(true)
    expect(isTracingDisabled()).toBe(true)
    expect(tracing.tracer.startSpan('x').isRecording()).toBe(false)
    expect(trace.getTracer('test').startSpan('y').isRecording()).toBe(false)
    expect(propagation.fields()).toEqual([])
    expect(process.listenerCount('SIGTERM')).toBe(listeners)
    expect(tracing.memory!.getFinishedSpans()).toEqual([])
    expect(tracing.stats()).toEqual({
      droppedSpans: 0,
      exportedSpans: 0,
      failedExports: 0,
      lastExportError: undefined,
      unflushedSpans: 0,
    })
    await expect(tracing.provider.forceFlush()).resolves.toBeUndefined()
    await expect(tracing.forceFlush()).resolves.toBeUndefined()
    await expect(tracing.shutdown()).resolves.toBeUndefined()
    // A new setup is allowed after shutdown, disabled or not.
    expect(() => start({ disabled: true, flushOnExit: false })).not.toThrow()
  })

  it('counts a disabled setup as live until shutdown, like any other', async () => {
    const tracing = start({ disabled: true })
    expect(() => setupTracing({ disabled: true })).toThrow(/already called/)
    await tracing.shutdown()
    expect(isTracingDisabled()).toBe(false)
  })

  it('lets disabled: false beat OTEL_SDK_DISABLED=true', () => {
    process.env.OTEL_SDK_DISABLED = 'true'
    const tracing = startMemory({ disabled: false })
    expect(tracing.disabled).toBe(false)
    expect(isTracingDisabled()).toBe(false)
    endSpan('traced')
    expect(tracing.memory.getFinishedSpans()).toHaveLength(1)
  })

  it('reports OTEL_SDK_DISABLED through isTracingDisabled() even before setup (read once per process)', () => {
    expect(isTracingDisabled()).toBe(false)
    process.env.OTEL_SDK_DISABLED = 'true'
    jest.isolateModules(() => {
      // A fresh process (module registry) reads the variable at its first check.
      const fresh = require('@traceweave/core') as typeof import('@traceweave/core')
      expect(fresh.isTracingDisabled()).toBe(true)
    })
  })
})

describe('flush on exit options', () => {
  it('listens for SIGTERM and SIGINT by default and stops listening on shutdown', async () => {
    const before = [process.listenerCount('SIGTERM'), process.listenerCount('SIGINT')]
    const tracing = start({ exporter: 'memory' })
    expect([process.listenerCount('SIGTERM'), process.listenerCount('SIGINT')]).toEqual(
      before.map((n) => n + 1),
    )
    await tracing.shutdown()
    expect([process.listenerCount('SIGTERM'), process.listenerCount('SIGINT')]).toEqual(before)
  })

  it('adds no listener with flushOnExit: false', () => {
    const before = process.listenerCount('SIGTERM')
    start({ exporter: 'memory', flushOnExit: false })
    expect(process.listenerCount('SIGTERM')).toBe(before)
  })

  it('flushes on SIGTERM and leaves the exit to the app when the app listens too', async () => {
    const exporter = new RecordingExporter()
    let appHandlerRan = false
    const appHandler = () => void (appHandlerRan = true)
    process.on('SIGTERM', appHandler)
    try {
      start({ exporter, exitTimeoutMillis: 1000 })
      endSpan('pending at shutdown')
      const exported = exporter.nextExport()
      process.emit('SIGTERM', 'SIGTERM')
      await exported
      expect(exporter.names()).toEqual(['pending at shutdown'])
      expect(appHandlerRan).toBe(true)
    } finally {
      process.removeListener('SIGTERM', appHandler)
    }
  })
})

describe('lifecycle', () => {
  it('throws on a second setup while the first is live, and allows one after shutdown', async () => {
    const first = startMemory()
    expect(() => setupTracing({ exporter: 'memory' })).toThrow(/already called.*call shutdown\(\)/i)
    await first.shutdown()
    const second = startMemory()
    endSpan('after restart')
    expect(second.memory.getFinishedSpans().map((span) => span.name)).toEqual(['after restart'])
    expect(first.memory.getFinishedSpans()).toEqual([])
  })

  it('makes shutdown() idempotent: the same promise, one exporter shutdown', async () => {
    const exporter = new RecordingExporter()
    const tracing = start({ exporter, flushOnExit: false })
    const first = tracing.shutdown()
    expect(tracing.shutdown()).toBe(first)
    await first
    expect(exporter.shutdownCalls).toBe(1)
  })

  it('flushes pending spans on shutdown and unregisters the globals', async () => {
    const exporter = new RecordingExporter()
    const tracing = start({ exporter, flushOnExit: false })
    endSpan('pending')
    await tracing.shutdown()
    expect(exporter.names()).toEqual(['pending'])
    expect(tracing.stats().unflushedSpans).toBe(0)
    expect(trace.getTracer('test').startSpan('after').isRecording()).toBe(false)
    expect(propagation.fields()).toEqual([])
  })

  it('resolves shutdown() after exitTimeoutMillis when the exporter never answers, counting the spans given up', async () => {
    const messages = captureDiag()
    // Neither export nor shutdown settles: without the bound, shutdown() would wait for the batch
    // processor's 10-minute export timeout, then for an exporter shutdown that never ends.
    const unanswered: Array<(result: ExportResult) => void> = []
    const hung: SpanExporter = {
      export: (_spans, done) => void unanswered.push(done),
      shutdown: () => new Promise(() => {}),
    }
    const tracing = start({
      exporter: hung,
      batch: { exportTimeoutMillis: 600_000, scheduledDelayMillis: 600_000 },
      exitTimeoutMillis: 100,
      flushOnExit: false,
    })
    for (let i = 0; i < 3; i++) endSpan(`span ${i}`)
    expect(tracing.stats().unflushedSpans).toBe(0) // nothing given up before shutdown
    await tracing.shutdown()
    expect(tracing.stats()).toMatchObject({ droppedSpans: 0, exportedSpans: 0, unflushedSpans: 3 })
    expect(messages.join('\n')).toContain('within exitTimeoutMillis (100 ms); 3 spans not exported are lost')
    // Answer late, so the batch processor clears its export timer and jest can exit.
    for (const done of unanswered) done({ code: ExportResultCode.FAILED })
  })

  it('counts the spans whose export failed during shutdown() as unflushed', async () => {
    const failing: SpanExporter = {
      export: (_spans, done) =>
        done({ code: ExportResultCode.FAILED, error: new Error('collector said 503') }),
      shutdown: async () => {},
    }
    const tracing = start({ exporter: failing, batch: { scheduledDelayMillis: 600_000 }, flushOnExit: false })
    endSpan('one')
    endSpan('two')
    await tracing.shutdown()
    expect(tracing.stats().unflushedSpans).toBe(2)
  })

  it('refuses to replace a provider registered by someone else, and says how to combine them', () => {
    const theirs = new BasicTracerProvider()
    trace.setGlobalTracerProvider(theirs)
    try {
      expect(() => setupTracing({ exporter: 'memory' })).toThrow(
        /another OpenTelemetry tracer provider \(BasicTracerProvider\) is already registered.*@traceweave\/core/,
      )
      expect((trace.getTracerProvider() as unknown as { getDelegate(): unknown }).getDelegate()).toBe(theirs)
      expect(isTracingDisabled()).toBe(false)
    } finally {
      trace.disable()
    }
    // Nothing of ours was left behind: a setup now succeeds.
    startMemory()
  })

  it('keeps a context manager registered by someone else, with a warning', () => {
    const messages = captureDiag()
    const { AsyncLocalStorageContextManager } = jest.requireActual('@opentelemetry/context-async-hooks')
    const theirs = new AsyncLocalStorageContextManager().enable()
    context.setGlobalContextManager(theirs)
    try {
      startMemory()
      expect(messages.join('\n')).toContain('another context manager was already registered')
    } finally {
      context.disable()
    }
  })
})
