import { SpanKind, propagation, trace } from '@opentelemetry/api'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import axios from 'axios'
import { traceAxios } from '@traceweave/client'
import { sendJson, startService, type TestService } from './support/http-services'
import { startTestTracing, type TestTracing } from './support/tracing'
import { httpInstrumentation } from './support/http-instrumentation'

/**
 * OpenTelemetry's http instrumentation active under traceweave's client: one CLIENT span per call,
 * not two. Jest loads modules itself, so require hooks never fire; the instrumentation's own patch
 * is applied to the real `http` module by hand, which is what `registerInstrumentations` does.
 */
let tracing: TestTracing
let api: TestService
const { instrumentation, patch, unpatch } = httpInstrumentation({ ignoreIncomingRequestHook: () => true })

beforeAll(async () => {
  tracing = startTestTracing()
  propagation.setGlobalPropagator(new W3CTraceContextPropagator())
  instrumentation.setTracerProvider(trace.getTracerProvider())
  patch()
  api = await startService('api', (_req, res) => sendJson(res, 200, { ok: true }))
})
afterEach(() => tracing.reset())
afterAll(async () => {
  await api?.close()
  unpatch()
  await tracing.shutdown()
})

const clientSpans = () => tracing.spans().filter((span) => span.kind === SpanKind.CLIENT)

async function callInSpan(suppressNestedInstrumentation: boolean) {
  const instance = axios.create()
  const undo = traceAxios(instance, { getAdapter: axios.getAdapter, suppressNestedInstrumentation })
  try {
    await trace.getTracer('test').startActiveSpan('handler', async (span) => {
      await instance.get(api.url)
      span.end()
    })
  } finally {
    undo()
  }
}

it('the http instrumentation is really active here', async () => {
  await trace.getTracer('test').startActiveSpan('handler', async (span) => {
    await axios.get(api.url)
    span.end()
  })
  expect(clientSpans().map((span) => span.instrumentationScope.name)).toEqual([
    '@opentelemetry/instrumentation-http',
  ])
})

it('with both active, a call has one CLIENT span, ours, and the server sees it as the parent', async () => {
  const before = api.requests.length
  await callInSpan(true)
  const clients = clientSpans()
  expect(clients.map((span) => span.instrumentationScope.name)).toEqual(['@traceweave/client'])
  const ours = clients[0]!.spanContext()
  expect(api.requests[before]!.headers.traceparent).toBe(`00-${ours.traceId}-${ours.spanId}-01`)
})

it('without suppression there would be two CLIENT spans (what the option prevents)', async () => {
  await callInSpan(false)
  expect(clientSpans()).toHaveLength(2)
})
