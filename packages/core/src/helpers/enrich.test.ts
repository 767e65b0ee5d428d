import { diag, DiagLogLevel } from '@opentelemetry/api'
import { enrichSpan } from './enrich'
import { trace } from './trace'
import { useTestTracing } from '../../../../test/support/tracing'

const tracing = useTestTracing()
const warnings: string[] = []

beforeAll(() => {
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
afterAll(() => diag.disable())

describe('enrichSpan()', () => {
  it('adds valid attributes to the active span and skips invalid ones with one warning', () => {
    trace('enriched', () => {
      enrichSpan({ 'order.id': 'o-1', count: 3, ok: true, tags: ['a', 'b'], bad: { nested: 1 }, fn: () => 1 })
      enrichSpan({ alsoBad: null, mixed: [1, 'x'] })
    })
    const [span] = tracing.spans()
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
