import {
  ROOT_CONTEXT,
  SpanKind,
  TraceFlags,
  context,
  createTraceState,
  trace,
  type Context,
} from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type IdGenerator,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base'
import { getRequestState, setRequestState, type RequestState } from '../correlation/request-state'
import { decidedSpanContext } from './deferred'
import type { SamplingOptions } from './options'
import { TraceweaveSampler } from './sampler'
import { getSamplingStats, resetSamplingStats } from './stats'
import { seededTraceIds } from './test-ids'
import { NO_UPGRADES } from '../../../../test/support/sampling'

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())

/** A real SDK provider with our sampler and the deferred wrapper in front of an in-memory exporter. */
function providerWith(options: SamplingOptions, idGenerator?: IdGenerator) {
  const sampler = new TraceweaveSampler(options)
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({
    sampler,
    idGenerator,
    spanProcessors: [sampler.wrapSpanProcessor(new SimpleSpanProcessor(exporter)) as never],
  })
  return { tracer: provider.getTracer('test'), spans: () => exporter.getFinishedSpans() }
}

function seededIds(seed: number): IdGenerator {
  const nextTraceId = seededTraceIds(seed)
  let spanCounter = 1
  return {
    generateTraceId: nextTraceId,
    generateSpanId: () => (spanCounter++).toString(16).padStart(16, '0'),
  }
}

function request(fields: Partial<RequestState> = {}): RequestState {
  return {
    requestId: 'r-1',
    correlationAttributes: {},
    method: 'GET',
    path: '/',
    headers: {},
    ...fields,
  } as RequestState
}

const remoteParent = (sampled: boolean, traceState?: string): Context =>
  trace.setSpanContext(ROOT_CONTEXT, {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    traceFlags: sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
    isRemote: true,
    traceState: traceState === undefined ? undefined : createTraceState(traceState),
  })

beforeEach(() => {
  resetSamplingStats()
})

describe('TraceweaveSampler on a real SDK provider', () => {
  it('counts one decision per root, none per child; children follow the root', () => {
    const { tracer, spans } = providerWith({ ratio: 1 })
    tracer.startActiveSpan('root', (root) => {
      tracer.startSpan('child').end()
      root.end()
    })
    expect(
      spans()
        .map((s) => s.name)
        .sort(),
    ).toEqual(['child', 'root'])
    expect(getSamplingStats()).toEqual({
      total: 1,
      sampled: 1,
      rate: 1,
      byReason: { ratio: 1 },
      decidedEarly: 0,
      ...NO_UPGRADES,
    })
  })

  it('a kept root carries ot=th in tracestate and sampling.adjusted_count', () => {
    const { tracer, spans } = providerWith({ ratio: 0.5 }, seededIds(3))
    for (let i = 0; i < 50; i++) tracer.startSpan(`root ${i}`).end()
    const kept = spans()
    expect(kept.length).toBeGreaterThan(10)
    for (const span of kept) {
      expect(span.spanContext().traceState?.serialize()).toBe('ot=th:8')
      expect(span.attributes['sampling.adjusted_count']).toBe(2)
    }
    expect(getSamplingStats()).toMatchObject({ total: 50, sampled: kept.length, byReason: { ratio: 50 } })
  })

  it('a kept trace says on its entry span why it was kept (sampling.reason), with or without a known probability', () => {
    const { tracer, spans } = providerWith({ ratio: 1 })
    tracer.startSpan('root').end()
    tracer.startSpan('server', { kind: SpanKind.SERVER }, remoteParent(true, 'ot=th:0')).end()
    tracer.startSpan('server', { kind: SpanKind.SERVER }, remoteParent(true)).end() // probability unknown
    const reasons = spans().map((span) => [
      span.attributes['sampling.reason'],
      span.attributes['sampling.adjusted_count'],
    ])
    expect(reasons).toEqual([
      ['ratio', 1],
      ['parent', 1],
      ['parent', undefined],
    ])
  })

  it('a trusted remote parent decides, and its consistent th is kept with the other members', () => {
    const { tracer, spans } = providerWith({ ratio: 0 })
    // Randomness of this trace ID is 48eb211c80319c >= th 0 (100%): consistent.
    tracer.startSpan('server', { kind: SpanKind.SERVER }, remoteParent(true, 'vendor=x,ot=th:0')).end()
    tracer.startSpan('server', { kind: SpanKind.SERVER }, remoteParent(false)).end()
    expect(spans()).toHaveLength(1)
    expect(spans()[0]!.spanContext().traceState?.serialize()).toBe('vendor=x,ot=th:0')
    expect(spans()[0]!.attributes['sampling.adjusted_count']).toBe(1)
    expect(getSamplingStats()).toEqual({
      total: 2,
      sampled: 1,
      rate: 0.5,
      byReason: { parent: 2 },
      decidedEarly: 0,
      ...NO_UPGRADES,
    })
  })

  it('erases an inconsistent parent threshold (sampled, but R < T)', () => {
    const { tracer, spans } = providerWith({})
    // th:f means 1/16: randomness 48eb... is below f0000..., so a sampled flag contradicts it.
    tracer.startSpan('server', {}, remoteParent(true, 'ot=th:f;rv:48eb211c80319c,other=1')).end()
    const span = spans()[0]!
    expect(span.spanContext().traceState?.serialize()).toBe('ot=rv:48eb211c80319c,other=1')
    expect(span.attributes['sampling.adjusted_count']).toBeUndefined()
  })

  // tracestate-handling: "Values of `rv` MUST be exactly 14 lower-case hexadecimal digits"
  it.each([['rv:xyz'], ['rv:48EB211C80319C'], ['rv:48eb211c80319'], ['rv:48eb211c80319c0']])(
    'erases an invalid rv (%s) as it erases an invalid th, and keeps the rest of the tracestate',
    (rv) => {
      const { tracer, spans } = providerWith({})
      tracer.startSpan('server', {}, remoteParent(true, `ot=th:0;${rv},other=1`)).end()
      expect(spans()[0]!.spanContext().traceState?.serialize()).toBe('ot=th:0,other=1')
      // A dropped trace forwards the cleaned list too; an rv alone leaves no empty ot member.
      const dropped = tracer.startSpan('server', {}, remoteParent(false, `other=1,ot=${rv}`))
      expect(dropped.isRecording()).toBe(false)
      expect(dropped.spanContext().traceState?.serialize()).toBe('other=1')
    },
  )

  it('erases an invalid rv where it decides itself, and decides on the trace ID instead', () => {
    const { tracer, spans } = providerWith({ ratio: 1, respectParent: false })
    tracer.startSpan('server', {}, remoteParent(true, 'ot=rv:not-hex,other=1')).end()
    expect(spans()[0]!.spanContext().traceState?.serialize()).toBe('ot=th:0,other=1')
  })

  it('keeps a valid rv whatever the decision (Explicit randomness values SHOULD NOT be erased)', () => {
    const { tracer } = providerWith({ ratio: 0, respectParent: false })
    const span = tracer.startSpan('server', {}, remoteParent(true, 'ot=rv:48eb211c80319c,other=1'))
    expect(span.spanContext().traceState?.serialize()).toBe('ot=rv:48eb211c80319c,other=1')
  })

  it('respectParent: false decides here even under a sampled parent', () => {
    const { tracer, spans } = providerWith({ ratio: 0, respectParent: false })
    tracer.startSpan('server', {}, remoteParent(true)).end()
    expect(spans()).toHaveLength(0)
    expect(getSamplingStats().byReason).toEqual({ ratio: 1 })
  })

  it('keeps listed users at the root with th:0 even at ratio 0', () => {
    const { tracer, spans } = providerWith({ ratio: 0, users: ['alice'] })
    const ctx = setRequestState(ROOT_CONTEXT, request({ userId: 'alice' }))
    tracer.startSpan('GET', { kind: SpanKind.SERVER }, ctx).end()
    tracer
      .startSpan('GET', { kind: SpanKind.SERVER }, setRequestState(ROOT_CONTEXT, request({ userId: 'bob' })))
      .end()
    expect(spans()).toHaveLength(1)
    expect(spans()[0]!.spanContext().traceState?.serialize()).toBe('ot=th:0')
    expect(getSamplingStats()).toEqual({
      total: 2,
      sampled: 1,
      rate: 0.5,
      byReason: { user: 1, ratio: 1 },
      decidedEarly: 0,
      ...NO_UPGRADES,
    })
  })
})

describe('deferred decisions', () => {
  /** Runs a request-shaped trace: a server span with a child, the route and user learnt on the way. */
  function runRequest(
    tracer: ReturnType<typeof providerWith>['tracer'],
    state: RequestState,
    during: (ctx: Context) => void = () => {},
  ) {
    const requestCtx = setRequestState(ROOT_CONTEXT, state)
    const server = tracer.startSpan('GET', { kind: SpanKind.SERVER }, requestCtx)
    const ctx = trace.setSpan(requestCtx, server)
    context.with(ctx, () => {
      tracer.startSpan('db').end()
      during(ctx)
    })
    server.end()
  }
  const names = (spans: ReadableSpan[]) => spans.map((s) => s.name).sort()

  it('a rule on http.route decides at the end of the server span, when the route is known', () => {
    const { tracer, spans } = providerWith({
      decide: 'deferred',
      ratio: 0,
      rules: [{ route: '/users/:id', sample: 1 }],
    })
    const kept = request()
    runRequest(tracer, kept, () => void (kept.route = '/users/:id'))
    runRequest(tracer, request(), (ctx) => void (getRequestState(ctx)!.route = '/teams/:id'))
    expect(names(spans())).toEqual(['GET', 'db'])
    for (const span of spans()) {
      expect(span.spanContext().traceFlags & TraceFlags.SAMPLED).toBe(TraceFlags.SAMPLED)
      expect(span.spanContext().traceState?.serialize()).toBe('ot=th:0')
      expect(span.attributes['sampling.adjusted_count']).toBe(1)
    }
    expect(getSamplingStats()).toEqual({
      total: 2,
      sampled: 1,
      rate: 0.5,
      byReason: { rule: 1, ratio: 1 },
      decidedEarly: 0,
      ...NO_UPGRADES,
    })
  })

  it('erases an invalid rv of a caller it does not follow, and the decided spans carry the cleaned tracestate', () => {
    const { tracer, spans } = providerWith({ decide: 'deferred', ratio: 1, respectParent: false })
    const requestCtx = setRequestState(remoteParent(true, 'other=1,ot=rv:bad'), request())
    const server = tracer.startSpan('GET', { kind: SpanKind.SERVER }, requestCtx)
    expect(server.spanContext().traceState?.serialize()).toBe('other=1')
    server.end()
    expect(spans()[0]!.spanContext().traceState?.serialize()).toBe('ot=th:0,other=1')
  })

  it('a user identified late (after auth) is kept', () => {
    const { tracer, spans } = providerWith({ decide: 'deferred', ratio: 0, users: ['alice'] })
    const state = request()
    runRequest(tracer, state, () => void (state.userId = 'alice'))
    expect(names(spans())).toEqual(['GET', 'db'])
  })

  it('an outgoing call before the decision forces it, and sees the decided flag', () => {
    const { tracer, spans } = providerWith({ decide: 'deferred', ratio: 0, users: ['alice'] })
    const state = request({ userId: 'alice' })
    let outgoing: ReturnType<typeof decidedSpanContext>
    runRequest(tracer, state, (ctx) => {
      outgoing = decidedSpanContext(ctx, trace.getSpan(ctx)!.spanContext())
      state.userId = 'bob' // too late: the decision was made when the call needed it
      tracer.startSpan('after decision').end()
    })
    expect(outgoing!.traceFlags & TraceFlags.SAMPLED).toBe(TraceFlags.SAMPLED)
    expect(outgoing!.traceState?.serialize()).toBe('ot=th:0')
    expect(names(spans())).toEqual(['GET', 'after decision', 'db'])
    expect(getSamplingStats().total).toBe(1)
  })

  it('a dropped request exports nothing and the call carries the unsampled flag', () => {
    const { tracer, spans } = providerWith({ decide: 'deferred', ratio: 0 })
    runRequest(tracer, request(), (ctx) => {
      const outgoing = decidedSpanContext(ctx, trace.getSpan(ctx)!.spanContext())
      expect(outgoing!.traceFlags & TraceFlags.SAMPLED).toBe(0)
      expect(getSamplingStats().byReason).toEqual({ ratio: 1 })
    })
    expect(spans()).toHaveLength(0)
  })

  it('decides early when a trace holds more spans than its bound, and counts it', () => {
    const { tracer, spans } = providerWith({ decide: 'deferred', ratio: 1, maxBufferedSpansPerTrace: 3 })
    runRequest(tracer, request(), () => {
      for (let i = 0; i < 5; i++) tracer.startSpan(`work ${i}`).end()
    })
    expect(spans()).toHaveLength(7)
    expect(getSamplingStats().decidedEarly).toBe(1)
  })

  it('decides the oldest trace early when more than maxPendingTraces are undecided', () => {
    const { tracer, spans } = providerWith({ decide: 'deferred', ratio: 1, maxPendingTraces: 2 })
    const servers = [0, 1, 2, 3].map(() =>
      tracer.startSpan('GET', {}, setRequestState(ROOT_CONTEXT, request())),
    )
    expect(getSamplingStats().decidedEarly).toBe(2)
    expect(getSamplingStats().total).toBe(2)
    servers.forEach((s) => s.end())
    expect(spans()).toHaveLength(4)
    expect(getSamplingStats().total).toBe(4)
  })
})
