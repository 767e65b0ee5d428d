import { ConfigError } from '@traceweave/core/internal'
import { resolveConfig } from './resolve'
import type { SetupTracingOptions } from './types'

const savedEnv = { ...process.env }
beforeEach(() => {
  for (const key of Object.keys(process.env)) if (key.startsWith('OTEL_')) delete process.env[key]
})
afterEach(() => {
  process.env = { ...savedEnv }
})

const resolve = (options: unknown) => resolveConfig(options as SetupTracingOptions)

describe('resolveConfig: bad options fail fast, naming the option and the valid values', () => {
  it.each<[string, unknown, string]>([
    ['a non-object', 'otlp', "traceweave: `setupTracing(options)` must be an object; got 'otlp'"],
    [
      'an unknown key (typo)',
      { servicename: 'x' },
      "traceweave: `setupTracing(options)` must have only the keys serviceName, resourceAttributes, exporter, otlp, console, memory, batch, propagators, sampling, sampler, propagation, correlation, spanProcessors, disabled, flushOnExit, exitTimeoutMillis, resources; got the key 'servicename'",
    ],
    [
      'an unknown exporter',
      { exporter: 'jaeger' },
      "traceweave: `exporter` must be one of 'memory', 'console', 'otlp', 'none' or a SpanExporter (an object with export() and shutdown()); got 'jaeger'",
    ],
    [
      'an exporter object without shutdown',
      { exporter: { export() {} } },
      "traceweave: `exporter` must be one of 'memory', 'console', 'otlp', 'none' or a SpanExporter (an object with export() and shutdown()); got an object with keys export",
    ],
    [
      'an empty serviceName',
      { serviceName: ' ' },
      "traceweave: `serviceName` must be a non-empty string; got ' '",
    ],
    [
      'a resource attribute that is an object',
      { resourceAttributes: { a: { b: 1 } } },
      "traceweave: `resourceAttributes` must have values that are strings, numbers, booleans or arrays of one of those types; got an object with keys b for key 'a'",
    ],
    [
      // OTel common spec: "The array MUST be homogeneous, i.e., it MUST NOT contain values of different types."
      'a resource attribute mixing types in an array',
      { resourceAttributes: { ports: [80, '443'] } },
      "traceweave: `resourceAttributes` must have values that are strings, numbers, booleans or arrays of one of those types; got an array of 2 items for key 'ports'",
    ],
    [
      'a non-URL otlp.url',
      { exporter: 'otlp', otlp: { url: 'collector:4318' } },
      "traceweave: `otlp.url` must be an http:// or https:// URL; got 'collector:4318'",
    ],
    [
      'a non-string header',
      { exporter: 'otlp', otlp: { headers: { a: 1 } } },
      "traceweave: `otlp.headers` must have string values; got 1 for key 'a'",
    ],
    [
      'a zero otlp.timeoutMillis',
      { otlp: { timeoutMillis: 0 } },
      'traceweave: `otlp.timeoutMillis` must be a number >= 1; got 0',
    ],
    [
      'an unknown otlp key',
      { otlp: { endpoint: 'http://x' } },
      "traceweave: `otlp` must have only the keys url, headers, timeoutMillis; got the key 'endpoint'",
    ],
    [
      'otlp settings with another exporter',
      { exporter: 'memory', otlp: {} },
      "traceweave: `otlp` must go with exporter: 'otlp' (it applies to that exporter only); got exporter: 'memory'",
    ],
    [
      'console settings with an exporter instance',
      { exporter: { export() {}, async shutdown() {} }, console: {} },
      "traceweave: `console` must go with exporter: 'console' (it applies to that exporter only); got exporter: an object with keys export, shutdown",
    ],
    [
      'a non-function console.write',
      { console: { write: 'stdout' } },
      "traceweave: `console.write` must be a function (text: string) => void; got 'stdout'",
    ],
    [
      'a fractional memory.maxSpans',
      { exporter: 'memory', memory: { maxSpans: 1.5 } },
      'traceweave: `memory.maxSpans` must be an integer >= 1; got 1.5',
    ],
    [
      'a zero batch.maxQueueSize',
      { batch: { maxQueueSize: 0 } },
      'traceweave: `batch.maxQueueSize` must be an integer >= 1; got 0',
    ],
    [
      'a string batch size',
      { batch: { maxExportBatchSize: '10' } },
      "traceweave: `batch.maxExportBatchSize` must be an integer >= 1; got '10'",
    ],
    [
      'an infinite delay',
      { batch: { scheduledDelayMillis: Infinity } },
      'traceweave: `batch.scheduledDelayMillis` must be a number >= 0; got Infinity',
    ],
    [
      'a negative export timeout',
      { batch: { exportTimeoutMillis: -1 } },
      'traceweave: `batch.exportTimeoutMillis` must be a number >= 1; got -1',
    ],
    [
      'a batch larger than the queue',
      { batch: { maxQueueSize: 10, maxExportBatchSize: 20 } },
      'traceweave: `batch.maxExportBatchSize` must be at most batch.maxQueueSize (10); got 20',
    ],
    [
      'an unknown propagator',
      { propagators: ['tracecontext', 'xray'] },
      "traceweave: `propagators` must be an array of 'tracecontext', 'baggage', 'b3', 'b3multi'; got 'xray' in the list",
    ],
    [
      'a propagator string',
      { propagators: 'b3' },
      "traceweave: `propagators` must be an array of 'tracecontext', 'baggage', 'b3', 'b3multi'; got 'b3'",
    ],
    [
      'a sampler without shouldSample',
      { sampler: {} },
      'traceweave: `sampler` must be a Sampler (an object with shouldSample()); got an object with no keys',
    ],
    [
      'both sampling and sampler',
      { sampling: {}, sampler: { shouldSample() {} } },
      "traceweave: `sampler` must be left out with sampling (give traceweave's sampling or your own sampler, not both); got both",
    ],
    [
      'a non-array spanProcessors',
      { spanProcessors: {} },
      'traceweave: `spanProcessors` must be an array of SpanProcessors (objects with onStart, onEnd, forceFlush, shutdown); got an object with no keys',
    ],
    [
      'a span processor missing onEnd',
      { spanProcessors: [{ onStart() {} }] },
      'traceweave: `spanProcessors` must be an array of SpanProcessors (objects with onStart, onEnd, forceFlush, shutdown); got an object with keys onStart in the list',
    ],
    ['a string disabled', { disabled: 'true' }, "traceweave: `disabled` must be true or false; got 'true'"],
    ['a number flushOnExit', { flushOnExit: 1 }, 'traceweave: `flushOnExit` must be true or false; got 1'],
    [
      'a negative exitTimeoutMillis',
      { exitTimeoutMillis: -5 },
      'traceweave: `exitTimeoutMillis` must be a number >= 0; got -5',
    ],
    [
      'a bad trust policy',
      { propagation: { trustIncoming: 'x' } },
      "traceweave: `propagation.trustIncoming` must be true, false or a function (headers, getter) => boolean; got 'x'",
    ],
  ])('rejects %s with a ConfigError naming it', (_label, options, message) => {
    let thrown: unknown
    try {
      resolve(options)
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(ConfigError)
    expect(thrown).toBeInstanceOf(TypeError)
    expect((thrown as Error).message).toBe(message)
  })

  it('accepts arrays with null entries and non-finite numbers, as the OTel attribute rule does', () => {
    const attributes = { ids: ['a', null, 'b'], ratio: Number.NaN, none: [] }
    expect(resolve({ resourceAttributes: attributes }).resourceAttributes).toEqual(attributes)
  })
})

describe('resolveConfig: defaults and the environment', () => {
  it('applies the documented defaults', () => {
    expect(resolve(undefined)).toMatchObject({
      disabled: false,
      exporter: { kind: 'otlp', otlp: {} },
      batch: {
        maxQueueSize: 2048,
        maxExportBatchSize: 512,
        scheduledDelayMillis: 5000,
        exportTimeoutMillis: 30000,
      },
      propagators: undefined,
      spanProcessors: [],
      flushOnExit: true,
      exitTimeoutMillis: 5000,
    })
  })

  it('reads OTEL_BSP_* and lets the batch option beat each one', () => {
    Object.assign(process.env, {
      OTEL_BSP_MAX_QUEUE_SIZE: '100',
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '50',
      OTEL_BSP_SCHEDULE_DELAY: '200',
      OTEL_BSP_EXPORT_TIMEOUT: '300',
    })
    expect(resolve({}).batch).toEqual({
      maxQueueSize: 100,
      maxExportBatchSize: 50,
      scheduledDelayMillis: 200,
      exportTimeoutMillis: 300,
    })
    expect(resolve({ batch: { maxQueueSize: 40, scheduledDelayMillis: 1 } }).batch).toEqual({
      maxQueueSize: 40,
      maxExportBatchSize: 40, // the env's 50 does not fit a queue of 40: batches shrink rather than fail
      scheduledDelayMillis: 1,
      exportTimeoutMillis: 300,
    })
  })

  it('ignores an invalid OTEL_BSP_* value (the default applies)', () => {
    process.env.OTEL_BSP_MAX_QUEUE_SIZE = 'lots'
    expect(resolve({}).batch.maxQueueSize).toBe(2048)
  })

  it('exports the console within 200 ms by default; batch.scheduledDelayMillis and OTEL_BSP_SCHEDULE_DELAY still win', () => {
    expect(resolve({ exporter: 'console' }).batch.scheduledDelayMillis).toBe(200)
    expect(resolve({ exporter: 'otlp' }).batch.scheduledDelayMillis).toBe(5000)
    expect(
      resolve({ exporter: 'console', batch: { scheduledDelayMillis: 1000 } }).batch.scheduledDelayMillis,
    ).toBe(1000)
    process.env.OTEL_TRACES_EXPORTER = 'console'
    expect(resolve({}).batch.scheduledDelayMillis).toBe(200)
    process.env.OTEL_BSP_SCHEDULE_DELAY = '3000'
    expect(resolve({}).batch.scheduledDelayMillis).toBe(3000)
  })

  it('reads OTEL_TRACES_EXPORTER case-insensitively, defaulting to otlp', () => {
    process.env.OTEL_TRACES_EXPORTER = ' Console '
    expect(resolve({}).exporter.kind).toBe('console')
    process.env.OTEL_TRACES_EXPORTER = 'zipkin'
    expect(resolve({}).exporter.kind).toBe('otlp')
  })

  it('accepts otlp settings while the exporter comes from the environment', () => {
    process.env.OTEL_TRACES_EXPORTER = 'otlp'
    expect(
      resolve({ otlp: { url: 'http://127.0.0.1:4318/v1/traces', timeoutMillis: 100 } }).exporter,
    ).toEqual({
      kind: 'otlp',
      otlp: { url: 'http://127.0.0.1:4318/v1/traces', timeoutMillis: 100 },
    })
  })

  it('reads OTEL_SDK_DISABLED, only "true" meaning true, and lets the option beat it', () => {
    process.env.OTEL_SDK_DISABLED = 'yes'
    expect(resolve({}).disabled).toBe(false)
    process.env.OTEL_SDK_DISABLED = 'True'
    expect(resolve({}).disabled).toBe(true)
    expect(resolve({ disabled: false }).disabled).toBe(false)
  })

  it('still validates every option when disabled', () => {
    expect(() => resolve({ disabled: true, exporter: 'jaeger' })).toThrow(TypeError)
  })
})
