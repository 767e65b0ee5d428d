import { ROOT_CONTEXT, SpanKind, context, propagation, trace } from '@opentelemetry/api'
import { getSamplingStats, getUntrustedParent, resetSamplingStats, setRequestState } from '@traceweave/core'
import { setupTracing, type MemoryTracingHandle } from './index'

const savedEnv = { ...process.env }
let handle: MemoryTracingHandle | undefined

function startMemory(options: Omit<Parameters<typeof setupTracing>[0] & object, 'exporter'> = {}) {
  handle = setupTracing({ flushOnExit: false, ...options, exporter: 'memory' })
  return handle
}

afterEach(async () => {
  await handle?.shutdown()
  handle = undefined
  process.env = { ...savedEnv }
  resetSamplingStats()
})

const startRoots = (count: number) => {
  for (let i = 0; i < count; i++) trace.getTracer('test').startSpan(`root ${i}`).end()
}
const CALLER = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'

describe('setupTracing({ sampling })', () => {
  it('installs traceweave sampling: ratio 0 keeps nothing, and the stats count every root', () => {
    const tracing = startMemory({ sampling: { ratio: 0 } })
    startRoots(5)
    expect(tracing.memory.getFinishedSpans()).toHaveLength(0)
    expect(getSamplingStats()).toMatchObject({ total: 5, sampled: 0, byReason: { ratio: 5 } })
  })

  it('deferred mode: spans are exported with the sampled flag once the request is decided', () => {
    const tracing = startMemory({ sampling: { decide: 'deferred', ratio: 0, users: ['alice'] } })
    const state = {
      requestId: 'r',
      correlationAttributes: {},
      method: 'GET',
      path: '/',
      headers: {},
    } as never
    const server = trace
      .getTracer('test')
      .startSpan('GET', { kind: SpanKind.SERVER }, setRequestState(ROOT_CONTEXT, state))
    ;(state as { userId?: string }).userId = 'alice'
    server.end()
    const [span] = tracing.memory.getFinishedSpans()
    expect(span!.spanContext().traceFlags & 1).toBe(1)
    expect(getSamplingStats().byReason).toEqual({ user: 1 })
  })

  it('fails at setup on a bad sampling option, with nothing registered', () => {
    expect(() => startMemory({ sampling: { ratio: 2 } })).toThrow(
      'traceweave: `sampling.ratio` must be a number from 0 to 1; got 2',
    )
    expect(() => startMemory({ sampling: { ratio: 1 }, sampler: {} as never })).toThrow(
      "traceweave: `sampler` must be left out with sampling (give traceweave's sampling or your own sampler, not both); got both",
    )
    // Nothing was left registered: a valid setup works right after.
    expect(() => startMemory()).not.toThrow()
  })

  it.each([
    ['always_off', undefined, 0],
    ['always_on', undefined, 5],
    ['traceidratio', '0', 0],
    ['parentbased_always_off', undefined, 0],
    ['parentbased_traceidratio', '1', 5],
  ])('maps OTEL_TRACES_SAMPLER=%s (arg %s) onto traceweave sampling', (sampler, arg, kept) => {
    process.env.OTEL_TRACES_SAMPLER = sampler
    if (arg !== undefined) process.env.OTEL_TRACES_SAMPLER_ARG = arg
    const tracing = startMemory()
    startRoots(5)
    expect(tracing.memory.getFinishedSpans()).toHaveLength(kept)
  })

  it('the sampling option beats OTEL_TRACES_SAMPLER', () => {
    process.env.OTEL_TRACES_SAMPLER = 'always_off'
    const tracing = startMemory({ sampling: { ratio: 1 } })
    startRoots(2)
    expect(tracing.memory.getFinishedSpans()).toHaveLength(2)
  })

  it('parentbased_always_off still follows a sampled caller', () => {
    process.env.OTEL_TRACES_SAMPLER = 'parentbased_always_off'
    const tracing = startMemory()
    const remote = propagation.extract(ROOT_CONTEXT, { traceparent: CALLER })
    trace.getTracer('test').startSpan('server', { kind: SpanKind.SERVER }, remote).end()
    expect(tracing.memory.getFinishedSpans()).toHaveLength(1)
  })
})

describe('setupTracing({ propagation })', () => {
  it('trustIncoming: false starts a new trace and keeps the caller only for a link', () => {
    startMemory({ propagation: { trustIncoming: false } })
    const extracted = propagation.extract(ROOT_CONTEXT, { traceparent: CALLER, tracestate: 'vendor=1' })
    expect(trace.getSpanContext(extracted)).toBeUndefined()
    expect(getUntrustedParent(extracted)?.traceId).toBe('0af7651916cd43dd8448eb211c80319c')
  })

  it('a trust function sees the incoming headers', () => {
    startMemory({
      propagation: { trustIncoming: (carrier, getter) => getter.get(carrier, 'x-internal') === '1' },
    })
    const trusted = propagation.extract(ROOT_CONTEXT, { traceparent: CALLER, 'x-internal': '1' })
    const untrusted = propagation.extract(ROOT_CONTEXT, { traceparent: CALLER })
    expect(trace.getSpanContext(trusted)?.traceId).toBe('0af7651916cd43dd8448eb211c80319c')
    expect(trace.getSpanContext(untrusted)).toBeUndefined()
  })

  it('rejects a bad trust policy at setup', () => {
    expect(() => startMemory({ propagation: { trustIncoming: 'yes' as never } })).toThrow(
      /`propagation.trustIncoming` must be true, false or a function/,
    )
    expect(() => startMemory({ propagation: { trust: true } as never })).toThrow(
      "traceweave: `propagation` must have only the keys trustIncoming; got the key 'trust'",
    )
  })
})

describe('setupTracing({ correlation })', () => {
  const requestContext = () =>
    setRequestState(ROOT_CONTEXT, {
      requestId: 'req-7',
      correlationAttributes: { 'request.id': 'req-7' },
    } as never)

  it('copies the request ID onto spans of other libraries by default', () => {
    const tracing = startMemory()
    context.with(requestContext(), () => trace.getTracer('some-db-driver').startSpan('query').end())
    expect(tracing.memory.getFinishedSpans()[0]!.attributes['request.id']).toBe('req-7')
  })

  it('correlation: false leaves other spans alone', () => {
    const tracing = startMemory({ correlation: false })
    context.with(requestContext(), () => trace.getTracer('some-db-driver').startSpan('query').end())
    expect(tracing.memory.getFinishedSpans()[0]!.attributes['request.id']).toBeUndefined()
  })
})
