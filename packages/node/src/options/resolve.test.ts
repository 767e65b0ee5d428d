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
  it.each<[string, unknown, ErrorConstructor, RegExp]>([
    ['a non-object', 'otlp', TypeError, /options must be an object; got 'otlp'/],
    [
      'an unknown key (typo)',
      { servicename: 'x' },
      TypeError,
      /unknown option "servicename"; valid: serviceName, /,
    ],
    [
      'an unknown exporter',
      { exporter: 'jaeger' },
      TypeError,
      /option "exporter" must be one of 'memory', 'console', 'otlp', 'none' or a SpanExporter .*; got 'jaeger'/,
    ],
    ['an exporter object without shutdown', { exporter: { export() {} } }, TypeError, /option "exporter"/],
    [
      'an empty serviceName',
      { serviceName: ' ' },
      TypeError,
      /option "serviceName" must be a non-empty string/,
    ],
    [
      'a bad resource attribute',
      { resourceAttributes: { a: { b: 1 } } },
      TypeError,
      /"resourceAttributes" values .* for "a"/,
    ],
    [
      'a non-URL otlp.url',
      { exporter: 'otlp', otlp: { url: 'collector:4318' } },
      TypeError,
      /"otlp.url" must be an http/,
    ],
    [
      'a non-string header',
      { exporter: 'otlp', otlp: { headers: { a: 1 } } },
      TypeError,
      /"otlp.headers" values must be strings/,
    ],
    [
      'a zero otlp.timeoutMillis',
      { otlp: { timeoutMillis: 0 } },
      RangeError,
      /"otlp.timeoutMillis" must be a finite number >= 1; got 0/,
    ],
    [
      'an unknown otlp key',
      { otlp: { endpoint: 'http://x' } },
      TypeError,
      /unknown key in option "otlp" "endpoint"; valid: url, headers/,
    ],
    [
      'otlp settings with another exporter',
      { exporter: 'memory', otlp: {} },
      TypeError,
      /"otlp" only applies with exporter: 'otlp'; got exporter: 'memory'/,
    ],
    [
      'console settings with an exporter instance',
      { exporter: { export() {}, async shutdown() {} }, console: {} },
      TypeError,
      /"console" only applies/,
    ],
    [
      'a non-function console.write',
      { console: { write: 'stdout' } },
      TypeError,
      /"console.write" must be a function/,
    ],
    [
      'a fractional memory.maxSpans',
      { exporter: 'memory', memory: { maxSpans: 1.5 } },
      RangeError,
      /"memory.maxSpans" must be a finite integer >= 1/,
    ],
    [
      'a zero batch.maxQueueSize',
      { batch: { maxQueueSize: 0 } },
      RangeError,
      /"batch.maxQueueSize" must be a finite integer >= 1; got 0/,
    ],
    [
      'a string batch size',
      { batch: { maxExportBatchSize: '10' } },
      TypeError,
      /"batch.maxExportBatchSize" must be a number; got '10'/,
    ],
    [
      'an infinite delay',
      { batch: { scheduledDelayMillis: Infinity } },
      RangeError,
      /"batch.scheduledDelayMillis" must be a finite number >= 0/,
    ],
    [
      'a negative export timeout',
      { batch: { exportTimeoutMillis: -1 } },
      RangeError,
      /"batch.exportTimeoutMillis"/,
    ],
    [
      'a batch larger than the queue',
      { batch: { maxQueueSize: 10, maxExportBatchSize: 20 } },
      RangeError,
      /"batch.maxExportBatchSize" \(20\) must be at most "batch.maxQueueSize" \(10\)/,
    ],
    [
      'an unknown propagator',
      { propagators: ['tracecontext', 'xray'] },
      TypeError,
      /"propagators" must be an array of 'tracecontext', 'baggage', 'b3', 'b3multi'; got 'xray'/,
    ],
    ['a propagator string', { propagators: 'b3' }, TypeError, /"propagators" must be an array/],
    ['a sampler without shouldSample', { sampler: {} }, TypeError, /"sampler" must be a Sampler/],
    [
      'a non-array spanProcessors',
      { spanProcessors: {} },
      TypeError,
      /"spanProcessors" must be an array of SpanProcessor/,
    ],
    [
      'a span processor missing onEnd',
      { spanProcessors: [{ onStart() {} }] },
      TypeError,
      /"spanProcessors" must hold SpanProcessors/,
    ],
    ['a string disabled', { disabled: 'true' }, TypeError, /"disabled" must be true or false; got 'true'/],
    ['a string flushOnExit', { flushOnExit: 1 }, TypeError, /"flushOnExit" must be true or false; got 1/],
    [
      'a negative exitTimeoutMillis',
      { exitTimeoutMillis: -5 },
      RangeError,
      /"exitTimeoutMillis" must be a finite number >= 0; got -5/,
    ],
  ])('rejects %s', (_label, options, type, message) => {
    expect(() => resolve(options)).toThrow(type)
    expect(() => resolve(options)).toThrow(message)
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
