import { context, diag, trace as traceApi, DiagLogLevel } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { enrichSpan } from './enrich'
import { trace } from './trace'

const exporter = new InMemorySpanExporter()
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
const warnings: string[] = []

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  traceApi.setGlobalTracerProvider(provider)
  diag.setLogger(
    {
      error: () => {},
      warn: (...args: unknown[]) => warnings.push(args.join(' ')),
      info: () => {},
      debug: () => {},
      verbose: () => {},
    },
    DiagLogLevel.WARN,
  )
})
afterAll(async () => {
  await provider.shutdown()
  traceApi.disable()
  context.disable()
  diag.disable()
})

describe('enrichSpan()', () => {
  it('adds valid attributes to the active span and skips invalid ones with one warning', () => {
    trace('enriched', () => {
      enrichSpan({ 'order.id': 'o-1', count: 3, ok: true, tags: ['a', 'b'], bad: { nested: 1 }, fn: () => 1 })
      enrichSpan({ alsoBad: null, mixed: [1, 'x'] })
    })
    const [span] = exporter.getFinishedSpans()
    expect(span!.attributes).toEqual({ 'order.id': 'o-1', count: 3, ok: true, tags: ['a', 'b'] })
    expect(warnings.filter((w) => w.includes('enrichSpan'))).toHaveLength(1)
  })

  it('is a no-op outside a span and never throws on hostile input', () => {
    expect(() => enrichSpan({ a: 1 })).not.toThrow()
    const hostile = Object.defineProperty({}, 'explodes', {
      enumerable: true,
      get() {
        throw new Error('getter')
      },
    })
    expect(() => trace('hostile', () => enrichSpan(hostile))).not.toThrow()
    expect(() => trace('null', () => enrichSpan(null as never))).not.toThrow()
  })
})
