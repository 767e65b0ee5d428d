/** OTLP/JSON export requests for tests, as an SDK would send them. */
export interface TestSpan {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  service: string
  startMs: number
  endMs: number
  attributes?: Record<string, string | number | boolean>
  error?: string
}

const value = (v: string | number | boolean) =>
  typeof v === 'string'
    ? { stringValue: v }
    : typeof v === 'boolean'
      ? { boolValue: v }
      : Number.isInteger(v)
        ? { intValue: String(v) }
        : { doubleValue: v }

/** One export request holding `spans`, one resource per service. */
export function otlpJson(spans: TestSpan[]): string {
  const services = [...new Set(spans.map((s) => s.service))]
  return JSON.stringify({
    resourceSpans: services.map((service) => ({
      resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
      scopeSpans: [
        {
          scope: { name: 'test' },
          spans: spans
            .filter((s) => s.service === service)
            .map((s) => ({
              traceId: s.traceId,
              spanId: s.spanId,
              parentSpanId: s.parentSpanId ?? '',
              name: s.name,
              kind: s.parentSpanId ? 3 : 2,
              startTimeUnixNano: `${BigInt(Math.round(s.startMs)) * 1_000_000n}`,
              endTimeUnixNano: `${BigInt(Math.round(s.endMs)) * 1_000_000n}`,
              attributes: Object.entries(s.attributes ?? {}).map(([key, v]) => ({ key, value: value(v) })),
              status: s.error ? { code: 2, message: s.error } : { code: 0 },
            })),
        },
      ],
    })),
  })
}

let counter = 0
/** A fresh trace ID (32 hex) and span IDs (16 hex) for tests. */
export function testTraceId(): string {
  counter++
  return `${Date.now().toString(16).padStart(16, '0')}${counter.toString(16).padStart(16, '0')}`
}
export function testSpanId(n: number): string {
  return n.toString(16).padStart(16, 'a')
}

/** A three-service checkout trace with a request ID, a user and a failed payment. */
export function checkoutTrace(traceId: string, requestId: string, user = 'alice'): TestSpan[] {
  const t = Date.now() - 1000
  const common = { 'request.id': requestId, 'session.id': 'sess-1', 'user.id': user }
  return [
    {
      traceId,
      spanId: testSpanId(1),
      name: 'POST /checkout',
      service: 'gateway',
      startMs: t,
      endMs: t + 200,
      attributes: { ...common, 'http.route': '/checkout' },
    },
    {
      traceId,
      spanId: testSpanId(2),
      parentSpanId: testSpanId(1),
      name: 'POST /orders',
      service: 'orders',
      startMs: t + 10,
      endMs: t + 150,
      attributes: common,
    },
    {
      traceId,
      spanId: testSpanId(3),
      parentSpanId: testSpanId(2),
      name: 'GET /stock/:sku',
      service: 'inventory',
      startMs: t + 20,
      endMs: t + 60,
      attributes: common,
    },
    {
      traceId,
      spanId: testSpanId(4),
      parentSpanId: testSpanId(2),
      name: 'POST /pay',
      service: 'payments',
      startMs: t + 70,
      endMs: t + 140,
      attributes: { ...common, 'http.request.resend_count': 1 },
      error: 'card declined',
    },
  ]
}
