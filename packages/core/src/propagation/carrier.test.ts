import { ROOT_CONTEXT, context, propagation, trace, type TextMapPropagator } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base'
import { extractContext, headersGetter, headersSetter, injectContext } from './carrier'
import { createTraceweavePropagator } from './composite'
import type { PropagateTo } from './propagate-to'
import { getUntrustedParent } from './trust'

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'
const PARENT_ID = '00f067aa0ba902b7'
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_ID}-03`

const provider = new BasicTracerProvider()
const tracer = provider.getTracer('carrier.test')

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
})
beforeEach(() => {
  propagation.disable()
  propagation.setGlobalPropagator(createTraceweavePropagator())
})
afterAll(async () => {
  await provider.shutdown()
  propagation.disable()
  context.disable()
})

describe('headersGetter', () => {
  it('reads header records without regard to case (header names are ASCII case-insensitive)', () => {
    expect(headersGetter.get({ TraceParent: 'x' }, 'traceparent')).toBe('x')
    expect(headersGetter.get({ TRACEPARENT: 'x' }, 'traceparent')).toBe('x')
  })

  it('returns every value when a name appears in several casings, so a repeated traceparent is seen', () => {
    expect(headersGetter.get({ traceparent: 'a', TraceParent: ['b', 'c'] }, 'traceparent')).toEqual([
      'a',
      'b',
      'c',
    ])
  })

  it('reads Fetch Headers', () => {
    const headers = new Headers({ TraceParent: 'x' })
    expect(headersGetter.get(headers, 'traceparent')).toBe('x')
    expect(headersGetter.get(headers, 'tracestate')).toBeUndefined()
    expect(headersGetter.keys(headers)).toEqual(['traceparent'])
  })
})

describe('headersSetter', () => {
  it('writes lowercase names into records and Fetch Headers', () => {
    const record: Record<string, string> = {}
    headersSetter.set(record, 'TraceParent', 'x')
    expect(record).toEqual({ traceparent: 'x' })
    const headers = new Headers()
    headersSetter.set(headers, 'traceparent', 'y')
    expect(headers.get('traceparent')).toBe('y')
  })
})

describe('extractContext', () => {
  it('reads a Node header record with the registered propagator', () => {
    const ctx = extractContext({ traceparent: TRACEPARENT, baggage: 'a=1', 'set-cookie': ['x'] })
    expect(trace.getSpanContext(ctx)).toMatchObject({ traceId: TRACE_ID, spanId: PARENT_ID, isRemote: true })
    expect(propagation.getBaggage(ctx)?.getEntry('a')?.value).toBe('1')
  })

  it('reads Fetch Headers', () => {
    expect(trace.getSpanContext(extractContext(new Headers({ traceparent: TRACEPARENT })))?.traceId).toBe(
      TRACE_ID,
    )
  })

  it('treats a repeated traceparent as invalid, also when Headers has joined the lines', () => {
    const headers = new Headers()
    headers.append('traceparent', TRACEPARENT)
    headers.append('traceparent', TRACEPARENT)
    expect(trace.getSpanContext(extractContext(headers))).toBeUndefined()
    expect(trace.getSpanContext(extractContext({ traceparent: [TRACEPARENT, TRACEPARENT] }))).toBeUndefined()
  })

  it('trustIncoming: false starts a new trace and keeps the caller for a link, without tracestate or baggage', () => {
    const ctx = extractContext(
      { traceparent: TRACEPARENT, tracestate: 'rojo=1', baggage: 'a=1' },
      { trustIncoming: false },
    )
    expect(trace.getSpanContext(ctx)).toBeUndefined()
    expect(propagation.getBaggage(ctx)).toBeUndefined()
    expect(getUntrustedParent(ctx)).toEqual({
      traceId: TRACE_ID,
      spanId: PARENT_ID,
      traceFlags: 3,
      isRemote: true,
    })
  })

  it('trustIncoming: false still finds the caller when the registered propagator distrusts it already', () => {
    propagation.disable()
    propagation.setGlobalPropagator(createTraceweavePropagator({ trustIncoming: false }))
    expect(
      getUntrustedParent(extractContext({ traceparent: TRACEPARENT }, { trustIncoming: false }))?.traceId,
    ).toBe(TRACE_ID)
    // trustIncoming: true cannot override the registered propagator's own policy.
    expect(
      trace.getSpanContext(extractContext({ traceparent: TRACEPARENT }, { trustIncoming: true })),
    ).toBeUndefined()
  })

  it('extracts into the active context by default, or the one given', () => {
    const key = Symbol('marker')
    const marked = ROOT_CONTEXT.setValue(key, 'yes')
    expect(context.with(marked, () => extractContext({ traceparent: TRACEPARENT })).getValue(key)).toBe('yes')
    expect(extractContext({}, { context: marked }).getValue(key)).toBe('yes')
  })

  it('never throws when the registered propagator does', () => {
    const broken: TextMapPropagator = {
      inject() {
        throw new Error('bug')
      },
      extract() {
        throw new Error('bug')
      },
      fields: () => [],
    }
    propagation.disable()
    propagation.setGlobalPropagator(broken)
    expect(extractContext({ traceparent: TRACEPARENT })).toBe(ROOT_CONTEXT)
    expect(() => injectContext({})).not.toThrow()
  })
})

describe('injectContext', () => {
  it('writes the active span into a header record', () => {
    const span = tracer.startSpan('work')
    const headers: Record<string, string> = {}
    context.with(trace.setSpan(context.active(), span), () => injectContext(headers))
    span.end()
    expect(headers.traceparent).toBe(`00-${span.spanContext().traceId}-${span.spanContext().spanId}-03`)
  })

  it('writes a given context into Fetch Headers, with its baggage', () => {
    const remote = extractContext({ traceparent: TRACEPARENT, tracestate: 'rojo=1', baggage: 'a=1' })
    const span = tracer.startSpan('GET', {}, remote)
    span.end()
    const headers = new Headers({ accept: 'application/json' })
    injectContext(headers, { context: trace.setSpan(remote, span), url: 'http://orders.internal/x' })
    expect(headers.get('traceparent')).toBe(`00-${TRACE_ID}-${span.spanContext().spanId}-03`)
    expect(headers.get('tracestate')).toBe('rojo=1')
    expect(headers.get('baggage')).toBe('a=1')
    expect(headers.get('accept')).toBe('application/json')
  })

  it('writes nothing outside any span', () => {
    const headers: Record<string, string> = {}
    injectContext(headers, { context: ROOT_CONTEXT })
    expect(headers).toEqual({})
  })

  it('follows the propagateTo allowlist for a url: private destinations by default, the list when given', () => {
    const span = tracer.startSpan('work')
    const ctx = trace.setSpan(ROOT_CONTEXT, span)
    span.end()
    const sentTo = (url: string, propagateTo?: PropagateTo) => {
      const headers: Record<string, string> = {}
      injectContext(headers, { context: ctx, url, propagateTo })
      return 'traceparent' in headers
    }
    expect(sentTo('http://10.0.0.7/x')).toBe(true)
    expect(sentTo('https://api.third-party.example/x')).toBe(false)
    expect(sentTo('https://api.partner.example/x', ['*.partner.example'])).toBe(true)
    expect(sentTo('http://127.0.0.1/x', ['*.partner.example'])).toBe(false)
  })
})
