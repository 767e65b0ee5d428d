import fc from 'fast-check'
import { decodeTracesJson, decodeTracesProtobuf, SPAN_LIMITS } from './decode'
import { ExportTraceServiceRequest } from './schema'

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'
const SPAN = '00f067aa0ba902b7'
const PARENT = 'a3ce929d0e0e4736'

// OTLP/JSON as the spec writes it: "trace_id and span_id ... MUST be represented as case-insensitive
// hex-encoded strings", enums as integers, 64-bit integers as decimal strings.
const jsonRequest = {
  resourceSpans: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'orders' } }] },
      scopeSpans: [
        {
          scope: { name: 'my-lib', version: '1.0.0' },
          spans: [
            {
              traceId: TRACE.toUpperCase(),
              spanId: SPAN,
              parentSpanId: PARENT,
              name: 'GET /orders/:id',
              kind: 2,
              startTimeUnixNano: '1700000000000000000',
              endTimeUnixNano: '1700000000012345678',
              attributes: [
                { key: 's', value: { stringValue: 'text' } },
                { key: 'i', value: { intValue: '42' } },
                { key: 'big', value: { intValue: '9007199254740993' } },
                { key: 'd', value: { doubleValue: 1.5 } },
                { key: 'b', value: { boolValue: false } },
                { key: 'arr', value: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: 1 }] } } },
                {
                  key: 'map',
                  value: { kvlistValue: { values: [{ key: 'k', value: { boolValue: true } }] } },
                },
              ],
              events: [{ name: 'exception', timeUnixNano: '1700000000001000000', attributes: [] }],
              links: [
                { traceId: TRACE, spanId: PARENT, attributes: [{ key: 'l', value: { stringValue: 'x' } }] },
              ],
              status: { code: 2, message: 'failed' },
            },
          ],
        },
      ],
    },
  ],
}

const expected = {
  traceId: TRACE,
  spanId: SPAN,
  parentSpanId: PARENT,
  name: 'GET /orders/:id',
  kind: 'server',
  startMs: 1_700_000_000_000,
  endMs: 1_700_000_000_012.345,
  status: { code: 'error', message: 'failed' },
  attributes: {
    s: 'text',
    i: 42,
    big: '9007199254740993',
    d: 1.5,
    b: false,
    arr: ['a', 1],
    map: { k: true },
  },
  events: [{ name: 'exception', timeMs: 1_700_000_000_001, attributes: {} }],
  links: [{ traceId: TRACE, spanId: PARENT, attributes: { l: 'x' } }],
  resource: { 'service.name': 'orders' },
  scope: { name: 'my-lib', version: '1.0.0' },
}

/** The same request in protobuf: IDs as bytes, times and ints as 64-bit numbers. */
function protobufRequest(): Uint8Array {
  const copy = JSON.parse(JSON.stringify(jsonRequest))
  const span = copy.resourceSpans[0].scopeSpans[0].spans[0]
  span.traceId = Buffer.from(TRACE, 'hex')
  span.spanId = Buffer.from(SPAN, 'hex')
  span.parentSpanId = Buffer.from(PARENT, 'hex')
  span.links[0].traceId = Buffer.from(TRACE, 'hex')
  span.links[0].spanId = Buffer.from(PARENT, 'hex')
  return ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(copy)).finish()
}

describe('decodeTracesJson', () => {
  it('reads OTLP/JSON: hex IDs in any case, int enums, 64-bit ints as strings, all value types', () => {
    expect(decodeTracesJson(JSON.stringify(jsonRequest))).toEqual({ spans: [expected], rejected: 0 })
  })

  it('also takes enum names and 64-bit integers as JSON numbers', () => {
    const copy = JSON.parse(JSON.stringify(jsonRequest))
    const span = copy.resourceSpans[0].scopeSpans[0].spans[0]
    span.kind = 'SPAN_KIND_CLIENT'
    span.status.code = 'STATUS_CODE_OK'
    span.startTimeUnixNano = 1700000000000000000
    const [decoded] = decodeTracesJson(JSON.stringify(copy))!.spans
    expect(decoded).toMatchObject({ kind: 'client', status: { code: 'ok' }, startMs: 1_700_000_000_000 })
  })

  it('rejects spans without a valid trace or span ID (counted), keeps the others', () => {
    const copy = JSON.parse(JSON.stringify(jsonRequest))
    const spans = copy.resourceSpans[0].scopeSpans[0].spans
    spans.push({ ...spans[0], traceId: '00000000000000000000000000000000' })
    spans.push({ ...spans[0], spanId: 'xyz' })
    spans.push({ ...spans[0], spanId: SPAN.slice(2) })
    expect(decodeTracesJson(JSON.stringify(copy))).toMatchObject({ rejected: 3, spans: [expected] })
  })

  it('returns undefined for what is not an export request; an empty request is fine', () => {
    for (const body of ['', 'not json', '[]', '{"resourceSpans": 5}', '{"resourceSpans": [1]}', 'null']) {
      expect(decodeTracesJson(body)).toBeUndefined()
    }
    expect(decodeTracesJson('{}')).toEqual({ spans: [], rejected: 0 })
  })

  it('bounds what one span may hold: attributes, value length, nesting', () => {
    const attributes = Array.from({ length: 500 }, (_, i) => ({
      key: `k${i}`,
      value: { stringValue: 'x'.repeat(10000) },
    }))
    let nested: unknown = { stringValue: 'deep' }
    for (let i = 0; i < 50; i++) nested = { arrayValue: { values: [nested] } }
    attributes.unshift({ key: 'nested', value: nested as { stringValue: string } })
    const copy = JSON.parse(JSON.stringify(jsonRequest))
    copy.resourceSpans[0].scopeSpans[0].spans[0].attributes = attributes
    const [decoded] = decodeTracesJson(JSON.stringify(copy))!.spans
    expect(Object.keys(decoded!.attributes)).toHaveLength(SPAN_LIMITS.attributes)
    expect((decoded!.attributes.k0 as string).length).toBe(SPAN_LIMITS.valueLength)
    expect(JSON.stringify(decoded!.attributes.nested)).not.toContain('deep')
  })

  it('never throws, whatever the body (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (body) => {
        const result = decodeTracesJson(body)
        expect(result === undefined || Array.isArray(result.spans)).toBe(true)
      }),
    )
  })
})

describe('decodeTracesProtobuf', () => {
  it('reads the same request in protobuf into the same model as JSON (bytes IDs, fixed64 times)', () => {
    expect(decodeTracesProtobuf(protobufRequest())).toEqual({ spans: [expected], rejected: 0 })
  })

  it('returns undefined for bytes that are not an export request', () => {
    expect(decodeTracesProtobuf(Buffer.from('{"resourceSpans":[]}'))).toBeUndefined()
    expect(decodeTracesProtobuf(protobufRequest().subarray(0, 40))).toBeUndefined()
  })

  it('never throws, whatever the bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        const result = decodeTracesProtobuf(bytes)
        expect(result === undefined || Array.isArray(result.spans)).toBe(true)
      }),
    )
  })
})
