import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { diag, DiagLogLevel, SpanKind } from '@opentelemetry/api'
import { setupTracing, type TracingHandle } from '@traceweave/node'

/** What an OTLP/HTTP JSON receiver got, decoded the way a collector would. */
interface Received {
  method: string
  path: string
  headers: IncomingHttpHeaders
  body: {
    resourceSpans: Array<{
      resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> }
      scopeSpans: Array<{ spans: Array<{ name: string; kind: number; traceId: string; parentSpanId?: string }> }>
    }>
  }
}

let server: Server
let base: string
let received: Received[] = []
let respond = true
let handle: TracingHandle | undefined
const savedEnv = { ...process.env }

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      received.push({
        method: req.method!,
        path: req.url!,
        headers: req.headers,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
      })
      if (respond) res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})
beforeEach(() => {
  received = []
  respond = true
  for (const key of Object.keys(process.env)) if (key.startsWith('OTEL_')) delete process.env[key]
})
afterEach(async () => {
  await handle?.shutdown()
  handle = undefined
  process.env = { ...savedEnv }
  diag.disable()
})

const spanNames = (r: Received) => r.body.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.name)))
const serviceName = (r: Received) =>
  r.body.resourceSpans[0]!.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue

async function traceRequest(tracing: TracingHandle): Promise<void> {
  tracing.tracer.startActiveSpan('GET /orders/:id', { kind: SpanKind.SERVER }, (span) => {
    tracing.tracer.startSpan('SELECT orders', { kind: SpanKind.CLIENT }).end()
    span.end()
  })
  await tracing.forceFlush()
}

describe('OTLP exporter against a receiver on 127.0.0.1', () => {
  it('posts OTLP JSON with the spans, the service name and the headers option', async () => {
    handle = setupTracing({
      serviceName: 'checkout',
      exporter: 'otlp',
      otlp: { url: `${base}/v1/traces`, headers: { 'x-api-key': 'secret-1' } },
      flushOnExit: false,
    })
    await traceRequest(handle)
    expect(received).toHaveLength(1)
    const [request] = received
    expect(request!.method).toBe('POST')
    expect(request!.path).toBe('/v1/traces')
    expect(request!.headers['content-type']).toBe('application/json')
    expect(request!.headers['x-api-key']).toBe('secret-1')
    expect(serviceName(request!)).toBe('checkout')
    expect(spanNames(request!).sort()).toEqual(['GET /orders/:id', 'SELECT orders'])
    const spans = request!.body.resourceSpans[0]!.scopeSpans[0]!.spans
    expect(new Set(spans.map((s) => s.traceId)).size).toBe(1)
  })

  it('is the default, following OTEL_EXPORTER_OTLP_ENDPOINT (+ /v1/traces) and OTEL_EXPORTER_OTLP_HEADERS', async () => {
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = base
    process.env.OTEL_EXPORTER_OTLP_HEADERS = 'x-team=payments,x-api-key=from-env'
    process.env.OTEL_SERVICE_NAME = 'env-service'
    handle = setupTracing({ flushOnExit: false })
    await traceRequest(handle)
    expect(received.map((r) => r.path)).toEqual(['/v1/traces'])
    expect(received[0]!.headers).toMatchObject({ 'x-team': 'payments', 'x-api-key': 'from-env' })
    expect(serviceName(received[0]!)).toBe('env-service')
  })

  it('prefers the _TRACES_ variables over the generic ones', async () => {
    process.env.OTEL_TRACES_EXPORTER = 'otlp'
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = 'http://127.0.0.1:9/unused'
    process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = `${base}/custom/traces`
    process.env.OTEL_EXPORTER_OTLP_HEADERS = 'x-api-key=generic,x-team=payments'
    process.env.OTEL_EXPORTER_OTLP_TRACES_HEADERS = 'x-api-key=traces'
    handle = setupTracing({ flushOnExit: false })
    await traceRequest(handle)
    expect(received.map((r) => r.path)).toEqual(['/custom/traces'])
    expect(received[0]!.headers).toMatchObject({ 'x-api-key': 'traces', 'x-team': 'payments' })
  })

  it('lets otlp.url and otlp.headers in code beat the environment', async () => {
    process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = 'http://127.0.0.1:9/v1/traces'
    process.env.OTEL_EXPORTER_OTLP_HEADERS = 'x-api-key=from-env,x-team=payments'
    handle = setupTracing({
      exporter: 'otlp',
      otlp: { url: `${base}/from-code`, headers: { 'x-api-key': 'from-code' } },
      flushOnExit: false,
    })
    await traceRequest(handle)
    expect(received.map((r) => r.path)).toEqual(['/from-code'])
    expect(received[0]!.headers).toMatchObject({ 'x-api-key': 'from-code', 'x-team': 'payments' })
  })

  it('abandons a request after otlp.timeoutMillis; the flush resolves and the failure goes to diag', async () => {
    const errors: string[] = []
    diag.setLogger(
      { error: (...a: unknown[]) => void errors.push(a.map(String).join(' ')), warn() {}, info() {}, debug() {}, verbose() {} },
      DiagLogLevel.ERROR,
    )
    respond = false
    handle = setupTracing({ exporter: 'otlp', otlp: { url: `${base}/v1/traces`, timeoutMillis: 100 }, flushOnExit: false })
    await traceRequest(handle) // would hang for the exporter's 10 s default without the option
    expect(received).toHaveLength(1)
    expect(errors.join('\n')).toMatch(/forceFlush failed/)
  })
})
