import {
  ROOT_CONTEXT,
  defaultTextMapGetter,
  defaultTextMapSetter,
  propagation,
  trace,
  type Context,
  type TextMapPropagator,
} from '@opentelemetry/api'
import { createTraceweavePropagator } from './composite'
import { isTraceIdRandom } from './random-flag'
import { getUntrustedParent } from './trust'

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'
const PARENT_ID = '00f067aa0ba902b7'
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_ID}-01`

/** A second trace format, in the way B3 sits beside W3C in mixed fleets: `x-other: <traceId>-<spanId>`. */
const otherFormat: TextMapPropagator = {
  inject(ctx, carrier, setter) {
    const sc = trace.getSpanContext(ctx)
    if (sc) setter.set(carrier, 'x-other', `${sc.traceId}-${sc.spanId}`)
  },
  extract(ctx, carrier, getter) {
    const value = getter.get(carrier, 'x-other')
    if (typeof value !== 'string') return ctx
    const [traceId, spanId] = value.split('-')
    return trace.setSpanContext(ctx, { traceId, spanId, traceFlags: 1, isRemote: true })
  },
  fields: () => ['x-other'],
}

function extract(propagator: TextMapPropagator, headers: Record<string, string>): Context {
  return propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter)
}

describe('createTraceweavePropagator', () => {
  it('combines W3C Trace Context and W3C Baggage by default', () => {
    const propagator = createTraceweavePropagator()
    expect(propagator.fields()).toEqual(['traceparent', 'tracestate', 'baggage'])
    const ctx = extract(propagator, {
      traceparent: TRACEPARENT,
      tracestate: 'rojo=1',
      baggage: 'userId=alice',
    })
    expect(trace.getSpanContext(ctx)?.traceId).toBe(TRACE_ID)
    expect(propagation.getBaggage(ctx)?.getEntry('userId')?.value).toBe('alice')
    const carrier: Record<string, string> = {}
    propagator.inject(ctx, carrier, defaultTextMapSetter)
    expect(carrier).toEqual({ traceparent: TRACEPARENT, tracestate: 'rojo=1', baggage: 'userId=alice' })
  })

  it('selects formats by name, in order', () => {
    expect(createTraceweavePropagator({ propagators: ['baggage'] }).fields()).toEqual(['baggage'])
    expect(createTraceweavePropagator({ propagators: [] }).fields()).toEqual([])
    expect(createTraceweavePropagator({ propagators: ['tracecontext', otherFormat] }).fields()).toEqual([
      'traceparent',
      'tracestate',
      'x-other',
    ])
  })

  it('untrusted callers: no remote parent, no tracestate, no baggage; the caller is kept for a link', () => {
    const propagator = createTraceweavePropagator({ trustIncoming: false })
    const ctx = extract(propagator, {
      traceparent: TRACEPARENT,
      tracestate: 'rojo=1',
      baggage: 'userId=alice',
    })
    expect(trace.getSpanContext(ctx)).toBeUndefined()
    expect(propagation.getBaggage(ctx)).toBeUndefined()
    expect(isTraceIdRandom(ctx, TRACE_ID)).toBeUndefined()
    expect(getUntrustedParent(ctx)).toEqual({
      traceId: TRACE_ID,
      spanId: PARENT_ID,
      traceFlags: 1,
      isRemote: true,
    })
  })

  it('the trust policy covers every format, not only W3C', () => {
    const propagator = createTraceweavePropagator({ propagators: [otherFormat], trustIncoming: () => false })
    const ctx = extract(propagator, { 'x-other': `${TRACE_ID}-${PARENT_ID}` })
    expect(trace.getSpanContext(ctx)).toBeUndefined()
    expect(getUntrustedParent(ctx)?.spanId).toBe(PARENT_ID)
  })

  it('a trust function sees the headers', () => {
    const propagator = createTraceweavePropagator({
      trustIncoming: (carrier, getter) => getter.get(carrier, 'x-internal-token') === 's3cret',
    })
    const trusted = extract(propagator, {
      traceparent: TRACEPARENT,
      'x-internal-token': 's3cret',
      baggage: 'a=1',
    })
    expect(trace.getSpanContext(trusted)?.traceId).toBe(TRACE_ID)
    expect(propagation.getBaggage(trusted)?.getEntry('a')?.value).toBe('1')
    const untrusted = extract(propagator, {
      traceparent: TRACEPARENT,
      'x-internal-token': 'guess',
      baggage: 'a=1',
    })
    expect(trace.getSpanContext(untrusted)).toBeUndefined()
    expect(propagation.getBaggage(untrusted)).toBeUndefined()
  })

  it('an untrusted caller with no valid traceparent leaves the context unchanged', () => {
    const propagator = createTraceweavePropagator({ trustIncoming: false })
    expect(extract(propagator, { traceparent: 'nonsense', baggage: 'a=1' })).toBe(ROOT_CONTEXT)
  })

  it('one format that throws does not stop the others (fail open)', () => {
    const broken: TextMapPropagator = {
      inject() {
        throw new Error('inject bug')
      },
      extract() {
        throw new Error('extract bug')
      },
      fields: () => [],
    }
    const propagator = createTraceweavePropagator({ propagators: [broken, 'tracecontext'] })
    const ctx = extract(propagator, { traceparent: TRACEPARENT })
    expect(trace.getSpanContext(ctx)?.traceId).toBe(TRACE_ID)
    const carrier: Record<string, string> = {}
    propagator.inject(ctx, carrier, defaultTextMapSetter)
    expect(carrier.traceparent).toBe(TRACEPARENT)
  })

  it('rejects bad configuration at setup, naming the option and the valid values', () => {
    expect(() => createTraceweavePropagator({ propagators: ['b3' as 'baggage'] })).toThrow(
      "traceweave: `propagation.propagators[0]` must be 'tracecontext', 'baggage' or a TextMapPropagator (an object with inject(), extract() and fields()); got 'b3'",
    )
    expect(() => createTraceweavePropagator({ propagators: 'tracecontext' as unknown as [] })).toThrow(
      "traceweave: `propagation.propagators` must be an array of 'tracecontext', 'baggage' or TextMapPropagators; got 'tracecontext'",
    )
    expect(() => createTraceweavePropagator({ trustIncoming: 0 as unknown as boolean })).toThrow(
      'traceweave: `propagation.trustIncoming` must be true, false or a function (carrier, getter) => boolean; got 0',
    )
  })
})
