/** With tracing switched off, the traced clients send the caller's request exactly as given. */
import { createTraceweavePropagator, setTracingDisabled } from '@traceweave/core'
import { traceFetch } from '@traceweave/client'
import { context, propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { startTestTracing, type TestTracing } from './support/tracing'

let server: Server
let url: string
let received: IncomingHttpHeaders | undefined
let tracing: TestTracing

beforeAll(async () => {
  tracing = startTestTracing()
  propagation.setGlobalPropagator(createTraceweavePropagator())
  server = createServer((req, res) => {
    received = req.headers
    res.end('ok')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
})
afterAll(async () => {
  setTracingDisabled(undefined)
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
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
