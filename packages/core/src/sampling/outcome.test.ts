/**
 * Outcome rules (issue 16) on a real SDK provider: `status` and `minDurationMs` judged at the response
 * head and at the server span's end, upgrades of an earlier "no" (forced by an outgoing call, or a
 * parent's), their accounting and bound, a downstream service's sampled answer, and eviction.
 */
import { ROOT_CONTEXT, SpanKind, TraceFlags, context, trace, type Context } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base'
import { setRequestState, type RequestState } from '../correlation/request-state'
import { decideAtResponseHead, decidedSpanContext } from './deferred'
import { applyDownstreamAnswer } from './downstream'
import type { SamplingOptions, SamplingRule } from './options'
import { TraceweaveSampler } from './sampler'
import { getSamplingStats, resetSamplingStats } from './stats'

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())

const OUTCOME_RULES: SamplingRule[] = [
  { status: 'error', sample: 1 },
  { minDurationMs: 300, sample: 1 },
]

function providerWith(options: SamplingOptions) {
  let now = 0
  const sampler = new TraceweaveSampler({ clock: () => now, ...options })
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({
    sampler,
    spanProcessors: [sampler.wrapSpanProcessor(new SimpleSpanProcessor(exporter)) as never],
  })
  return {
    tracer: provider.getTracer('test'),
    spans: () => exporter.getFinishedSpans(),
    advance: (ms: number) => void (now += ms),
  }
}

const request = (fields: Partial<RequestState> = {}): RequestState =>
  ({ correlationAttributes: {}, method: 'GET', path: '/', headers: {}, ...fields }) as RequestState

type Tracer = ReturnType<typeof providerWith>['tracer']

/** A server request: its span, its context, and the moments the lifecycle calls. */
function startRequest(tracer: Tracer, parent: Context = ROOT_CONTEXT, state = request()) {
  const requestCtx = setRequestState(parent, state)
  const server = tracer.startSpan('GET', { kind: SpanKind.SERVER }, requestCtx)
  const ctx = trace.setSpan(requestCtx, server)
  const traceId = server.spanContext().traceId
  return {
    ctx,
    server,
    /** An outgoing call needs the flag now: the decision it carries. */
    callOut: () => (decidedSpanContext(ctx, server.spanContext())!.traceFlags & TraceFlags.SAMPLED) !== 0,
    /** The head is written with `status`: the decision the response reports. */
    head: (status: number) => decideAtResponseHead(ctx, traceId, { status }),
    /** A CLIENT span whose callee answers with `traceresponse`. */
    callAnswered: (answer: (traceId: string) => string) => {
      const client = tracer.startSpan('GET downstream', { kind: SpanKind.CLIENT }, ctx)
      applyDownstreamAnswer(trace.setSpan(ctx, client), { traceresponse: answer(traceId) })
      client.end()
    },
    end: (status?: number) => {
      if (status !== undefined) server.setAttribute('http.response.status_code', status)
      server.end()
    },
  }
}

const names = (spans: readonly ReadableSpan[]) => spans.map((span) => span.name).sort()
const upgraded = (spans: readonly ReadableSpan[]) => spans.map((span) => span.attributes['sampling.upgraded'])

const notParent = (sampled: boolean): Context =>
  trace.setSpanContext(ROOT_CONTEXT, {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    traceFlags: sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
    isRemote: true,
  })

beforeEach(() => resetSamplingStats())

describe('outcome rules decide at the response head', () => {
  it('an undecided request answering 500 is kept by the status rule, with its th (a first decision)', () => {
    const { tracer, spans } = providerWith({ decide: 'deferred', ratio: 0, rules: OUTCOME_RULES })
    const r = startRequest(tracer)
    tracer.startSpan('db', {}, r.ctx).end()
    expect(r.head(500)).toBe(true)
    r.end(500)
    expect(names(spans())).toEqual(['GET', 'db'])
    expect(spans()[0]!.attributes['sampling.adjusted_count']).toBe(1)
    expect(upgraded(spans())).toEqual([undefined, undefined])
    expect(getSamplingStats()).toMatchObject({ total: 1, sampled: 1, byReason: { rule: 1 }, upgraded: 0 })
  })

  it('an outcome rule applies even behind a route rule that matches first', () => {
    const { tracer, spans } = providerWith({
      decide: 'deferred',
      ratio: 1,
      rules: [
        { pathPrefix: '/health', sample: 0 },
        { status: '5xx', sample: 1 },
      ],
    })
    const r = startRequest(tracer, ROOT_CONTEXT, request({ path: '/health' }))
    expect(r.head(503)).toBe(true)
    r.end(503)
    expect(names(spans())).toEqual(['GET'])
    const ok = startRequest(tracer, ROOT_CONTEXT, request({ path: '/health' }))
    expect(ok.head(200)).toBe(false)
    ok.end(200)
    expect(spans()).toHaveLength(1)
  })

  it('minDurationMs is the time to first byte at the head; later time upgrades locally at the end', () => {
    const { tracer, spans, advance } = providerWith({ decide: 'deferred', ratio: 0, rules: OUTCOME_RULES })
    const fast = startRequest(tracer)
    advance(299)
    expect(fast.head(200)).toBe(false) // the response says "no"...
    advance(50)
    fast.end(200) // ...but the request ran 349 ms: kept here, as an upgrade
    expect(upgraded(spans())).toEqual([true])
    expect(getSamplingStats().upgradedByReason).toEqual({ duration: 1 })
  })
})

describe('a "no" made before the outcome is known only sets the outgoing flag', () => {
  it('forced by an outgoing call: the call goes out unsampled, a 500 keeps every span as an upgrade', () => {
    const { tracer, spans } = providerWith({ decide: 'deferred', ratio: 0, rules: OUTCOME_RULES })
    const r = startRequest(tracer)
    tracer.startSpan('before the call', {}, r.ctx).end()
    expect(r.callOut()).toBe(false)
    tracer.startSpan('after the call', {}, r.ctx).end() // still recorded
    expect(r.head(500)).toBe(true)
    tracer.startSpan('after the upgrade', {}, r.ctx).end()
    r.end(500)
    expect(names(spans())).toEqual(['GET', 'after the call', 'after the upgrade', 'before the call'])
    for (const span of spans()) {
      expect(span.spanContext().traceFlags & TraceFlags.SAMPLED).toBe(TraceFlags.SAMPLED)
      expect(span.attributes['sampling.upgraded']).toBe(true)
      expect(span.attributes['sampling.adjusted_count']).toBeUndefined() // probability unknown
      expect(span.spanContext().traceState?.get('ot')).toBeUndefined() // no th
    }
    // Counted once: one decision ("no" by ratio), then kept by an upgrade.
    expect(getSamplingStats()).toMatchObject({
      total: 1,
      sampled: 1,
      byReason: { ratio: 1 },
      upgraded: 1,
      upgradedByReason: { error: 1 },
    })
  })

  it("a parent's no is held too; a parent's yes stays final", () => {
    const { tracer, spans } = providerWith({ decide: 'deferred', ratio: 0, rules: OUTCOME_RULES })
    const no = startRequest(tracer, notParent(false))
    expect(no.head(502)).toBe(true)
    no.end(502)
    expect(upgraded(spans())).toEqual([true])
    const yes = startRequest(tracer, notParent(true))
    expect(yes.head(200)).toBeUndefined() // decided at its start: the span's own sampled flag answers
    yes.end(200)
    expect(spans()).toHaveLength(2)
    expect(getSamplingStats()).toMatchObject({ total: 2, sampled: 2, byReason: { parent: 2 }, upgraded: 1 })
  })

  it('without outcome rules a forced "no" is final, as before: nothing is recorded after it', () => {
    const { tracer, spans } = providerWith({ decide: 'deferred', ratio: 0 })
    const r = startRequest(tracer)
    expect(r.callOut()).toBe(false)
    const after = tracer.startSpan('after the call', {}, r.ctx)
    expect(after.isRecording()).toBe(false)
    after.end()
    r.end(500)
    expect(spans()).toEqual([])
  })

  it('upgrades are bounded by maxUpgradesPerSecond, and the refusals are counted', () => {
    const { tracer, spans, advance } = providerWith({
      decide: 'deferred',
      ratio: 0,
      rules: OUTCOME_RULES,
      maxUpgradesPerSecond: 2,
    })
    for (let i = 0; i < 5; i++) {
      const r = startRequest(tracer)
      r.callOut()
      r.head(500)
      r.end(500)
    }
    expect(spans()).toHaveLength(2)
    expect(getSamplingStats()).toMatchObject({ total: 5, sampled: 2, upgraded: 2, upgradesRefused: 3 })
    advance(1000) // the bucket refills
    const r = startRequest(tracer)
    r.callOut()
    r.head(500)
    r.end(500)
    expect(spans()).toHaveLength(3)
  })
})

describe("a downstream service's sampled answer upgrades the caller", () => {
  const options: SamplingOptions = { decide: 'deferred', ratio: 0, rules: OUTCOME_RULES }

  it('same trace ID and sampled: the caller is upgraded before its CLIENT span ends, and says so', () => {
    const { tracer, spans } = providerWith(options)
    const r = startRequest(tracer)
    r.callOut()
    r.callAnswered((traceId) => `00-${traceId}-00f067aa0ba902b7-03`)
    expect(r.head(200)).toBe(true) // its own response says so in turn
    r.end(200)
    expect(names(spans())).toEqual(['GET', 'GET downstream'])
    expect(upgraded(spans())).toEqual([true, true])
    expect(getSamplingStats().upgradedByReason).toEqual({ downstream: 1 })
  })

  it('another trace ID, an unsampled answer or a malformed one is ignored', () => {
    const { tracer, spans } = providerWith(options)
    const r = startRequest(tracer)
    r.callOut()
    r.callAnswered(() => '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')
    r.callAnswered((traceId) => `00-${traceId}-00f067aa0ba902b7-02`)
    r.callAnswered((traceId) => `00-${traceId.toUpperCase()}-00f067aa0ba902b7-01`)
    r.end(200)
    expect(spans()).toEqual([])
    expect(getSamplingStats()).toMatchObject({ upgraded: 0, upgradesMissed: 0 })
  })

  it('an answer after the request ended (fire-and-forget) is counted, not applied', () => {
    const { tracer, spans } = providerWith(options)
    const r = startRequest(tracer)
    r.callOut()
    r.end(200)
    r.callAnswered((traceId) => `00-${traceId}-00f067aa0ba902b7-01`)
    expect(spans()).toEqual([])
    expect(getSamplingStats()).toMatchObject({ upgraded: 0, upgradesMissed: 1 })
  })
})

describe('memory bounds with outcome rules', () => {
  it('eviction checks minDurationMs against the time run so far, and counts what it drops', () => {
    const { tracer, spans, advance } = providerWith({
      decide: 'deferred',
      ratio: 0,
      rules: OUTCOME_RULES,
      maxPendingTraces: 2,
    })
    const slow = startRequest(tracer)
    tracer.startSpan('slow work', {}, slow.ctx).end()
    advance(400)
    const quick = startRequest(tracer)
    tracer.startSpan('quick work', {}, quick.ctx).end()
    startRequest(tracer) // evicts `slow`: it has run 400 ms, so it is kept
    expect(names(spans())).toEqual(['slow work'])
    startRequest(tracer) // evicts `quick`: 0 ms, dropped with its one held span
    expect(getSamplingStats()).toMatchObject({ decidedEarly: 2, evicted: { requests: 1, spans: 1 } })
    slow.end(200)
    quick.end(200)
    expect(names(spans())).toEqual(['GET', 'slow work'])
  })

  it('a request holding more spans than its bound is decided early: a held "no" is dropped and counted', () => {
    const { tracer, spans } = providerWith({
      decide: 'deferred',
      ratio: 0,
      rules: OUTCOME_RULES,
      maxBufferedSpansPerTrace: 3,
    })
    const r = startRequest(tracer)
    r.callOut()
    for (let i = 0; i < 5; i++) tracer.startSpan(`work ${i}`, {}, r.ctx).end()
    expect(r.head(500)).toBe(false) // final already: too late to upgrade
    r.end(500)
    expect(spans()).toEqual([])
    expect(getSamplingStats()).toMatchObject({
      decidedEarly: 1,
      upgraded: 0,
      evicted: { requests: 1, spans: 3 },
    })
  })
})
