import { SpanKind, propagation, trace } from '@opentelemetry/api'
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici'
import { createTraceweavePropagator } from '@traceweave/core'
import { traceFetch } from '@traceweave/client'
import type { IncomingHttpHeaders } from 'node:http'
import { sendJson, startService, type TestService } from './support/http-services'
import { startTestTracing, type TestTracing } from './support/tracing'

/**
 * OpenTelemetry's undici instrumentation (which traces Node's global fetch through diagnostics
 * channels, so it works under jest too) active under traceweave's fetch: one CLIENT span per call,
 * not two, and the downstream sees our span as its parent.
 */
let tracing: TestTracing
let api: TestService
let received: IncomingHttpHeaders | undefined
const instrumentation = new UndiciInstrumentation()

beforeAll(async () => {
  tracing = startTestTracing()
  propagation.setGlobalPropagator(createTraceweavePropagator())
  instrumentation.setTracerProvider(trace.getTracerProvider())
  instrumentation.enable()
  api = await startService('api', (req, res) => {
    received = req.headers
    sendJson(res, 200, { ok: true })
  })
})
afterEach(() => tracing.reset())
afterAll(async () => {
  instrumentation.disable()
  await api?.close()
  await tracing.shutdown()
})

const clientSpans = () => tracing.spans().filter((span) => span.kind === SpanKind.CLIENT)

async function fetchInSpan(fetchImpl: typeof fetch) {
  await trace.getTracer('test').startActiveSpan('handler', async (span) => {
    await (await fetchImpl(api.url)).text()
    span.end()
  })
}

it('the undici instrumentation is really active here: plain fetch gets its CLIENT span', async () => {
  await fetchInSpan(fetch)
  expect(clientSpans()).toHaveLength(1)
  expect(clientSpans()[0]!.instrumentationScope.name).toContain('undici')
})

it('traceFetch over it: exactly one CLIENT span, ours, and it is the downstream parent', async () => {
  await fetchInSpan(traceFetch(fetch))
  const spans = clientSpans()
  expect(spans).toHaveLength(1)
  expect(spans[0]!.instrumentationScope.name).toBe('@traceweave/client')
  expect(String(received!.traceparent).split('-')[2]).toBe(spans[0]!.spanContext().spanId)
})

it('with suppressNestedInstrumentation: false both trace the call', async () => {
  await fetchInSpan(traceFetch(fetch, { suppressNestedInstrumentation: false }))
  expect(clientSpans()).toHaveLength(2)
})
