/** With tracing switched off, the traced clients send the caller's request exactly as given. */
import { createTraceweavePropagator, setTracingDisabled } from '@traceweave/core'
import { traceFetch } from '@traceweave/client'
import { context, propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api'
import type { IncomingHttpHeaders } from 'node:http'
import { listen, type ListeningServer } from './support/servers'
import { startTestTracing, type TestTracing } from './support/tracing'

let server: ListeningServer
let url: string
let received: IncomingHttpHeaders | undefined
let tracing: TestTracing

beforeAll(async () => {
  tracing = startTestTracing()
  propagation.setGlobalPropagator(createTraceweavePropagator())
  server = await listen((req, res) => {
    received = req.headers
    res.end('ok')
  })
  url = `${server.url}/`
})
afterAll(async () => {
  setTracingDisabled(undefined)
  await server.close()
  await tracing.shutdown()
})

test('disabled: no CLIENT span and no injected headers; enabled again: both', async () => {
  const tracedFetch = traceFetch(fetch)
  const parent = trace.getTracer('test').startSpan('parent')
  const inParent = (fn: () => Promise<unknown>) => context.with(trace.setSpan(ROOT_CONTEXT, parent), fn)

  setTracingDisabled(true)
  await inParent(async () => (await tracedFetch(url, { headers: { 'x-mine': '1' } })).text())
  expect(received!.traceparent).toBeUndefined()
  expect(received!['x-mine']).toBe('1')
  expect(tracing.spans().filter((span) => span.name === 'GET')).toHaveLength(0)

  setTracingDisabled(false)
  await inParent(async () => (await tracedFetch(url)).text())
  parent.end()
  expect(received!.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[0-3]$/)
  expect(tracing.spans().filter((span) => span.name === 'GET')).toHaveLength(1)
})
