import fc from 'fast-check'
import { parseTraceResponse, traceFromServerTiming } from './traceresponse'

const VALUE = '00-4bf92f3577b34da6a3ce929d0e0e4736-828c5d0d435ba505-01'

describe('traceresponse and the Server-Timing trace metric, as a caller reads them', () => {
  it('reads a traceresponse like a traceparent: trace ID, span ID, flags', () => {
    expect(parseTraceResponse(VALUE)).toMatchObject({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      parentId: '828c5d0d435ba505',
      traceFlags: 1,
    })
    expect(parseTraceResponse(`${VALUE.slice(0, -2)}03`)?.traceFlags).toBe(3)
  })

  it('ignores a repeated, malformed or non-string traceresponse', () => {
    expect(parseTraceResponse([VALUE, VALUE])).toBeUndefined()
    expect(parseTraceResponse(VALUE.toUpperCase())).toBeUndefined()
    expect(parseTraceResponse(`ff${VALUE.slice(2)}`)).toBeUndefined()
    expect(parseTraceResponse(42)).toBeUndefined()
  })

  it('finds the trace metric among others ("The metric name is ASCII case-insensitive"), quoted or not', () => {
    expect(traceFromServerTiming(`db;dur=53, trace;desc=${VALUE}`)?.parentId).toBe('828c5d0d435ba505')
    expect(traceFromServerTiming(`TRACE; desc="${VALUE}"`)?.traceFlags).toBe(1)
    expect(traceFromServerTiming(['cache;desc=hit', `trace;desc=${VALUE}`])?.traceFlags).toBe(1)
    expect(traceFromServerTiming('traceparent;desc=x, db;dur=1')).toBeUndefined()
    expect(traceFromServerTiming(`trace;dur=1`)).toBeUndefined()
    expect(traceFromServerTiming(`trace;desc=${'0'.repeat(5000)}`)).toBeUndefined()
  })

  it('never throws, and only ever returns valid IDs (property)', () => {
    const piece = fc.oneof(
      fc.string(),
      fc.constantFrom('trace', 'desc=', ';', ',', '"', VALUE, ' ', 'TRACE;desc='),
    )
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
        const text = pieces.join('')
        for (const parsed of [traceFromServerTiming(text), parseTraceResponse(text)]) {
          if (parsed === undefined) continue
          expect(parsed.traceId).toMatch(/^[0-9a-f]{32}$/)
          expect(parsed.parentId).toMatch(/^[0-9a-f]{16}$/)
        }
      }),
    )
  })
})
