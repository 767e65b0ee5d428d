import { EventEmitter } from 'node:events'
import { SpanKind, SpanStatusCode, context, trace as traceApi, type Span } from '@opentelemetry/api'
import { trace } from './trace'
import { getActiveTraceIds } from './trace-ids'
import { onlySpanNamed, useTestTracing } from '../../../../test/support/tracing'

const tracing = useTestTracing()
const spanNamed = (name: string) => onlySpanNamed(tracing, name)
const activeSpanId = () => traceApi.getActiveSpan()?.spanContext().spanId

describe('trace()', () => {
  it('returns a sync result unchanged and ends the span once', () => {
    const result = trace('sync', () => 42)
    expect(result).toBe(42)
    expect(spanNamed('sync').ended).toBe(true)
  })

  it("returns a promise that resolves to the value of fn's promise", async () => {
    const returned = trace('async', () => Promise.resolve('done'))
    expect(returned).toBeInstanceOf(Promise)
    await expect(returned).resolves.toBe('done')
    expect(spanNamed('async').status.code).toBe(SpanStatusCode.UNSET)
  })

  it('ends the span before the caller resumes after await', async () => {
    await trace('awaited', async () => 1)
    expect(spanNamed('awaited').ended).toBe(true)
  })

  it('records a thrown error, marks the span ERROR and rethrows the same error', () => {
    const boom = new TypeError('boom')
    expect(() =>
      trace('throws', () => {
        throw boom
      }),
    ).toThrow(boom)
    const span = spanNamed('throws')
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'boom' })
    expect(span.attributes['error.type']).toBe('TypeError')
    expect(span.events.map((event) => event.name)).toEqual(['exception'])
  })

  it('records a rejection and the caller still sees it', async () => {
    const boom = new Error('rejected')
    await expect(trace('rejects', async () => Promise.reject(boom))).rejects.toBe(boom)
    expect(spanNamed('rejects').status.code).toBe(SpanStatusCode.ERROR)
  })

  it('records a non-Error throw value without changing it', () => {
    expect(() =>
      trace('throws-string', () => {
        throw 'plain string'
      }),
    ).toThrow('plain string')
    expect(spanNamed('throws-string').attributes['error.type']).toBe('_OTHER')
  })

  it('passes the span to fn and applies attributes, kind and links', () => {
    const linked = { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: 1 }
    trace('options', (span: Span) => span.setAttribute('inside', true), {
      attributes: { 'order.id': 7 },
      kind: SpanKind.CONSUMER,
      links: [{ context: linked }],
    })
    const span = spanNamed('options')
    expect(span.kind).toBe(SpanKind.CONSUMER)
    expect(span.attributes).toMatchObject({ 'order.id': 7, inside: true })
    expect(span.links[0]!.context.traceId).toBe('a'.repeat(32))
  })

  it('keeps the span active across await', async () => {
    await trace('outer', async (span) => {
      await new Promise((resolve) => setImmediate(resolve))
      expect(activeSpanId()).toBe(span.spanContext().spanId)
      await trace('child', async () => undefined)
    })
    expect(spanNamed('child').parentSpanContext?.spanId).toBe(spanNamed('outer').spanContext().spanId)
  })

  it('keeps the span active in Promise.all fan-out: every branch is its child', async () => {
    await trace('fan-out', () =>
      Promise.all([1, 2, 3].map((n) => trace(`branch ${n}`, () => new Promise((r) => setTimeout(r, n))))),
    )
    const parentId = spanNamed('fan-out').spanContext().spanId
    for (const n of [1, 2, 3]) expect(spanNamed(`branch ${n}`).parentSpanContext?.spanId).toBe(parentId)
  })

  it('keeps the span active in timers', async () => {
    const seen = await trace(
      'timers',
      (span) =>
        new Promise<boolean>((resolve) =>
          setTimeout(() => resolve(activeSpanId() === span.spanContext().spanId), 1),
        ),
    )
    expect(seen).toBe(true)
  })

  it('keeps the span for EventEmitter callbacks bound with the context API', async () => {
    const emitter = new EventEmitter()
    let expected: string | undefined
    trace('emitter', (span) => {
      expected = span.spanContext().spanId
      context.bind(context.active(), emitter)
    })
    // Emitted later, from outside any span: the bound listener still sees the span that was active.
    const seen = new Promise<string | undefined>((resolve) =>
      emitter.on('data', () => resolve(activeSpanId())),
    )
    context.with(context.active(), () => emitter.emit('data'))
    await expect(seen).resolves.toBe(expected)
    expect(activeSpanId()).toBeUndefined()
  })

  it('makes the span the active one for getActiveTraceIds()', () => {
    trace('ids', (span) => {
      expect(getActiveTraceIds()).toEqual({
        traceId: span.spanContext().traceId,
        spanId: span.spanContext().spanId,
        traceFlags: '01',
      })
    })
    expect(getActiveTraceIds()).toBeUndefined()
  })
})
