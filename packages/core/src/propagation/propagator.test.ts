import {
  ROOT_CONTEXT,
  SpanKind,
  context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  trace,
  type Context,
  type TraceState,
} from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { suppressTracing } from '@opentelemetry/core'
import {
  AlwaysOnSampler,
  BasicTracerProvider,
  InMemorySpanExporter,
  ParentBasedSampler,
  SamplingDecision,
  SimpleSpanProcessor,
  type Sampler,
} from '@opentelemetry/sdk-trace-base'
import { TraceContextPropagator } from './propagator'
import { getOtSubKey, parseTraceState, setOtSubKey } from './tracestate'
import { getUntrustedParent } from './trust'

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'
const PARENT_ID = '00f067aa0ba902b7'
const header = (flags: string) => `00-${TRACE_ID}-${PARENT_ID}-${flags}`

const exporter = new InMemorySpanExporter()
const provider = new BasicTracerProvider({
  sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
  spanProcessors: [new SimpleSpanProcessor(exporter)],
})
const tracer = provider.getTracer('propagator.test')
const contextManager = new AsyncLocalStorageContextManager()

beforeAll(() => context.setGlobalContextManager(contextManager.enable()))
afterAll(async () => {
  await provider.shutdown()
  context.disable()
})
beforeEach(() => exporter.reset())

const traceContext = new TraceContextPropagator()

function extract(headers: Record<string, string | string[]>, propagator = traceContext): Context {
  return propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter)
}

function inject(ctx: Context, propagator = traceContext): Record<string, string> {
  const carrier: Record<string, string> = {}
  propagator.inject(ctx, carrier, defaultTextMapSetter)
  return carrier
}

/** A SERVER span started from `parent`, the way a middleware does; returns its context. */
function serve(parent: Context): Context {
  const span = tracer.startSpan('GET /orders', { kind: SpanKind.SERVER }, parent)
  span.end()
  return trace.setSpan(parent, span)
}

/** A CLIENT span under `parent`, the way a traced fetch does; returns its context. */
function call(parent: Context): Context {
  const span = tracer.startSpan('GET', { kind: SpanKind.CLIENT }, parent)
  span.end()
  return trace.setSpan(parent, span)
}

function fields(traceparent: string) {
  const [version, traceId, parentId, flags] = traceparent.split('-')
  return { version, traceId, parentId, flags }
}

describe('TraceContextPropagator.extract', () => {
  it('makes a valid traceparent the remote parent (processing model: a traceparent is received)', () => {
    const parent = trace.getSpanContext(extract({ traceparent: header('03'), tracestate: 'rojo=1,congo=2' }))
    expect(parent).toMatchObject({ traceId: TRACE_ID, spanId: PARENT_ID, traceFlags: 3, isRemote: true })
    expect(parent?.traceState?.serialize()).toBe('rojo=1,congo=2')
  })

  it('an invalid traceparent leaves the context unchanged, so a new trace starts (processing model)', () => {
    expect(extract({ traceparent: `ff-${TRACE_ID}-${PARENT_ID}-01`, tracestate: 'rojo=1' })).toBe(
      ROOT_CONTEXT,
    )
    const span = tracer.startSpan('root', {}, extract({ traceparent: 'garbage' }))
    expect(span.spanContext().traceId).not.toBe(TRACE_ID)
    span.end()
  })

  it('ignores tracestate without a traceparent (tracestate received without traceparent MUST be discarded)', () => {
    expect(extract({ tracestate: 'rojo=1' })).toBe(ROOT_CONTEXT)
  })

  it('several traceparent header lines are invalid (a repeated traceparent cannot be chosen from)', () => {
    expect(extract({ traceparent: [header('01'), header('01')] })).toBe(ROOT_CONTEXT)
    expect(extract({ traceparent: `${header('01')}, ${header('01')}` })).toBe(ROOT_CONTEXT)
    expect(trace.getSpanContext(extract({ traceparent: [header('01')] }))?.traceId).toBe(TRACE_ID)
  })

  it('joins several tracestate header lines in order (Multiple tracestate header fields MUST be combined)', () => {
    const ctx = extract({
      traceparent: header('01'),
      tracestate: ['foo=1,bar=2', 'rojo=1,congo=2', '', 'baz=3'],
    })
    expect(trace.getSpanContext(ctx)?.traceState?.serialize()).toBe('foo=1,bar=2,rojo=1,congo=2,baz=3')
  })

  it('an invalid tracestate is dropped whole and does not affect traceparent (failure to parse tracestate MUST NOT affect traceparent)', () => {
    const parent = trace.getSpanContext(extract({ traceparent: header('01'), tracestate: 'rojo=1,Bad=2' }))
    expect(parent?.traceId).toBe(TRACE_ID)
    expect(parent?.traceState).toBeUndefined()
  })

  it('a key repeated across tracestate lines keeps its first occurrence and the rest of the list (vendors MAY also discard duplicate keys)', () => {
    const ctx = extract({ traceparent: header('01'), tracestate: ['foo=1,rojo=2', 'foo=3,congo=4'] })
    expect(trace.getSpanContext(ctx)?.traceState?.serialize()).toBe('foo=1,rojo=2,congo=4')
    // and the next hop receives that list, not the repeated key
    expect(inject(call(serve(ctx))).tracestate).toBe('foo=1,rojo=2,congo=4')
  })
})

describe('TraceContextPropagator.inject', () => {
  it("writes nothing when tracing is suppressed (@opentelemetry/core's suppressTracing, as every OpenTelemetry propagator does)", () => {
    const server = serve(extract({ traceparent: header('03'), tracestate: 'rojo=1' }))
    expect(inject(server)).toMatchObject({ traceparent: expect.any(String), tracestate: 'rojo=1' })
    expect(inject(suppressTracing(server))).toEqual({})
    expect(inject(suppressTracing(call(server)))).toEqual({})
  })

  it('continues the trace with a new parent-id and the caller sampled and random bits (Update parent-id)', () => {
    const server = serve(extract({ traceparent: header('03') }))
    const sent = fields(inject(server).traceparent)
    expect(sent).toEqual({
      version: '00',
      traceId: TRACE_ID,
      parentId: trace.getSpanContext(server)!.spanId,
      flags: '03',
    })
    expect(sent.parentId).not.toBe(PARENT_ID)
  })

  it('keeps the random bit unset when the caller left it unset (random-trace-id: MUST also be unset)', () => {
    expect(fields(inject(call(serve(extract({ traceparent: header('01') })))).traceparent).flags).toBe('01')
  })

  it('keeps the random bit through nested local spans, where the SDK drops it (random-trace-id: MUST also be set)', () => {
    const server = serve(extract({ traceparent: header('03') }))
    expect(trace.getSpanContext(server)!.traceFlags).toBe(1) // what the SDK keeps on its own
    expect(fields(inject(call(call(server))).traceparent).flags).toBe('03')
  })

  it('under an unsampled parent, sends a fresh parent-id with the sampled bit off (sampled flag; Update parent-id)', () => {
    for (const [incoming, expected] of [
      ['00', '00'],
      ['02', '02'],
    ]) {
      const server = serve(extract({ traceparent: header(incoming) }))
      const client = call(server)
      expect(trace.getSpan(client)!.isRecording()).toBe(false)
      const sent = fields(inject(client).traceparent)
      expect(sent.traceId).toBe(TRACE_ID)
      expect(sent.flags).toBe(expected)
      expect(sent.parentId).toBe(trace.getSpanContext(client)!.spanId)
      expect(sent.parentId).not.toBe(PARENT_ID)
      expect(sent.parentId).not.toBe(trace.getSpanContext(server)!.spanId)
    }
    expect(exporter.getFinishedSpans()).toHaveLength(0)
  })

  it('never forwards reserved flag bits (Other Flags: vendors MUST set those to zero)', () => {
    expect(fields(inject(serve(extract({ traceparent: header('ff') }))).traceparent).flags).toBe('03')
    expect(fields(inject(serve(extract({ traceparent: header('05') }))).traceparent).flags).toBe('01')
  })

  it('sets the random bit on a trace started here, whose IDs the SDK generates at random (random-trace-id: SHOULD be set)', () => {
    const root = serve(ROOT_CONTEXT)
    const sent = fields(inject(root).traceparent)
    expect(sent.traceId).toBe(trace.getSpanContext(root)!.traceId)
    expect(sent.flags).toBe('03')
  })

  it('leaves the random bit unset for local traces with assumeRandomTraceIds: false', () => {
    const propagator = new TraceContextPropagator({ assumeRandomTraceIds: false })
    expect(fields(inject(serve(ROOT_CONTEXT), propagator).traceparent).flags).toBe('01')
    // The caller's bit is still forwarded.
    expect(fields(inject(serve(extract({ traceparent: header('03') })), propagator).traceparent).flags).toBe(
      '03',
    )
  })

  it("a new root started inside a caller's context gets its own random bit, not the caller's (restarting a trace)", () => {
    const callerCtx = extract({ traceparent: header('01') })
    const span = tracer.startSpan('new root', { root: true }, callerCtx)
    span.end()
    const sent = fields(inject(trace.setSpan(callerCtx, span)).traceparent)
    expect(sent.traceId).not.toBe(TRACE_ID)
    expect(sent.flags).toBe('03')
  })

  it("forwards the caller's tracestate members in order (Vendors receiving a tracestate MUST send it)", () => {
    const server = serve(
      extract({ traceparent: header('01'), tracestate: 'rojo=00f067aa0ba902b7, congo=t61rcWkgMzE' }),
    )
    expect(inject(call(server)).tracestate).toBe('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE')
  })

  it('sends no tracestate header when there is none (SHOULD avoid sending empty tracestate)', () => {
    expect(inject(serve(extract({ traceparent: header('01'), tracestate: ' , ' })))).not.toHaveProperty(
      'tracestate',
    )
    expect(inject(serve(ROOT_CONTEXT))).not.toHaveProperty('tracestate')
  })

  it('truncates the forwarded tracestate to 512 characters, large members first (tracestate limits)', () => {
    const members = [
      'big=' + 'x'.repeat(200),
      ...Array.from({ length: 6 }, (_, i) => `k${i}=${'v'.repeat(80)}`),
    ]
    const sent = inject(
      serve(extract({ traceparent: header('01'), tracestate: members.join(',') })),
    ).tracestate
    expect(sent.length).toBeLessThanOrEqual(512)
    expect(sent.split(',').map((m) => m.split('=')[0])).toEqual(['k0', 'k1', 'k2', 'k3', 'k4', 'k5'])
  })

  it('re-reads a TraceState of another implementation, dropping it if invalid', () => {
    const foreign = (serialized: string): TraceState => ({
      get: () => undefined,
      set: () => foreign(serialized),
      unset: () => foreign(serialized),
      serialize: () => serialized,
    })
    const withState = (state: TraceState) =>
      trace.setSpanContext(ROOT_CONTEXT, {
        traceId: TRACE_ID,
        spanId: PARENT_ID,
        traceFlags: 1,
        traceState: state,
      })
    expect(inject(withState(foreign('a=1,b=2'))).tracestate).toBe('a=1,b=2')
    expect(inject(withState(foreign('a=1,A=2')))).not.toHaveProperty('tracestate')
  })

  it('writes nothing without a valid span context', () => {
    expect(inject(ROOT_CONTEXT)).toEqual({})
    expect(
      inject(
        trace.setSpanContext(ROOT_CONTEXT, { traceId: '0'.repeat(32), spanId: PARENT_ID, traceFlags: 1 }),
      ),
    ).toEqual({})
  })

  it('a setter that throws does not reach the caller (fail open)', () => {
    const throwingSetter = {
      set() {
        throw new Error('carrier is frozen')
      },
    }
    expect(() => traceContext.inject(serve(ROOT_CONTEXT), {}, throwingSetter)).not.toThrow()
  })

  it('puts the ot member a sampler writes first (Modified keys MUST be moved to the beginning)', async () => {
    // A sampler in the style of the sampling issue: it records its threshold in the ot member.
    const thresholdSampler: Sampler = {
      shouldSample(ctx) {
        return {
          decision: SamplingDecision.RECORD_AND_SAMPLED,
          traceState: setOtSubKey(trace.getSpanContext(ctx)?.traceState, 'th', '0'),
        }
      },
      toString: () => 'thresholdSampler',
    }
    const sampling = new BasicTracerProvider({ sampler: thresholdSampler })
    const span = sampling
      .getTracer('t')
      .startSpan(
        'GET /',
        { kind: SpanKind.SERVER },
        extract({ traceparent: header('03'), tracestate: 'rojo=1,ot=rv:ab' }),
      )
    span.end()
    const sent = inject(trace.setSpan(ROOT_CONTEXT, span))
    expect(sent.tracestate).toBe('ot=rv:ab;th:0,rojo=1')
    expect(getOtSubKey(parseTraceState(sent.tracestate), 'th')).toBe('0')
    await sampling.shutdown()
  })
})

describe('TraceContextPropagator trust policy', () => {
  it('trustIncoming: false starts a new trace and keeps the caller only for a span link (Restart trace)', () => {
    const untrusted = new TraceContextPropagator({ trustIncoming: false })
    const ctx = extract({ traceparent: header('01'), tracestate: 'rojo=1' }, untrusted)
    expect(trace.getSpanContext(ctx)).toBeUndefined()
    const caller = getUntrustedParent(ctx)
    expect(caller).toEqual({ traceId: TRACE_ID, spanId: PARENT_ID, traceFlags: 1, isRemote: true })

    const span = tracer.startSpan(
      'GET /public',
      { kind: SpanKind.SERVER, links: [{ context: caller! }] },
      ctx,
    )
    span.end()
    const sent = inject(trace.setSpan(ctx, span), untrusted)
    expect(fields(sent.traceparent).traceId).not.toBe(TRACE_ID)
    expect(fields(sent.traceparent).flags).toBe('03')
    expect(sent).not.toHaveProperty('tracestate')
    const [exported] = exporter.getFinishedSpans()
    expect(exported.parentSpanContext).toBeUndefined()
    expect(exported.links[0].context.spanId).toBe(PARENT_ID)
  })

  it('a function of the headers decides per request', () => {
    const propagator = new TraceContextPropagator({
      trustIncoming: (carrier, getter) => getter.get(carrier, 'x-internal') === 'yes',
    })
    expect(
      trace.getSpanContext(extract({ traceparent: header('01'), 'x-internal': 'yes' }, propagator))?.traceId,
    ).toBe(TRACE_ID)
    const outside = extract({ traceparent: header('01') }, propagator)
    expect(trace.getSpanContext(outside)).toBeUndefined()
    expect(getUntrustedParent(outside)?.traceId).toBe(TRACE_ID)
  })

  it('a policy that throws counts as untrusted', () => {
    const propagator = new TraceContextPropagator({
      trustIncoming: () => {
        throw new Error('policy bug')
      },
    })
    const ctx = extract({ traceparent: header('01') }, propagator)
    expect(trace.getSpanContext(ctx)).toBeUndefined()
    expect(getUntrustedParent(ctx)?.traceId).toBe(TRACE_ID)
  })

  it('a trusted extract has no untrusted parent', () => {
    expect(getUntrustedParent(extract({ traceparent: header('01') }))).toBeUndefined()
  })

  it('rejects bad options at setup with the option name', () => {
    expect(() => new TraceContextPropagator({ trustIncoming: 'yes' as unknown as boolean })).toThrow(
      "traceweave: `trustIncoming` must be true, false or a function (carrier, getter) => boolean; got 'yes'",
    )
    expect(() => new TraceContextPropagator({ assumeRandomTraceIds: 1 as unknown as boolean })).toThrow(
      'traceweave: `assumeRandomTraceIds` must be true or false; got 1',
    )
  })

  it('declares its fields', () => {
    expect(traceContext.fields()).toEqual(['traceparent', 'tracestate'])
  })
})
