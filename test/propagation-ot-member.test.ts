/**
 * Issue 4's end-to-end check once sampling writes our `ot` member: a caller's trace crosses a traced
 * Express service into a downstream service, which must see the same trace ID, a new parent ID, the
 * caller's random and sampled bits, and the caller's tracestate members in order, with `ot` first.
 */
import { setupTracing, type MemoryTracingHandle } from '@traceweave/node'
import { traceweave } from '@traceweave/express'
import { traceFetch } from '@traceweave/client'
import type { IncomingHttpHeaders } from 'node:http'
import request from 'supertest'
import { listen, type ListeningServer } from './support/servers'

const express5 = require('express5') as typeof import('express')

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'
const CALLER = `00-${TRACE_ID}-00f067aa0ba902b7-03` // sampled + random

let downstream: ListeningServer
let received: IncomingHttpHeaders | undefined
let tracing: MemoryTracingHandle | undefined

beforeAll(async () => {
  downstream = await listen((req, res) => {
    received = req.headers
    res.end('ok')
  })
})
afterAll(() => downstream.close())
afterEach(async () => {
  await tracing?.shutdown()
  tracing = undefined
  received = undefined
})

function upstreamApp() {
  const tracedFetch = traceFetch(fetch)
  const app = express5()
  app.use(traceweave())
  app.get('/orders/:id', async (_req, res) => {
    await (await tracedFetch(`${downstream.url}/inventory`)).text()
    res.json({ ok: true })
  })
  return app
}

function parts(traceparent: string | string[] | undefined) {
  const [version, traceId, parentId, flags] = String(traceparent).split('-')
  return { version, traceId, parentId, flags }
}

test('a service that decides here (respectParent: false) writes ot=th first, before the caller members in order', async () => {
  tracing = setupTracing({
    exporter: 'memory',
    flushOnExit: false,
    sampling: { respectParent: false, ratio: 1 },
  })
  await request(upstreamApp())
    .get('/orders/7')
    .set('traceparent', CALLER)
    .set('tracestate', 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE')
    .expect(200)
  const hop = parts(received!.traceparent)
  expect(hop.traceId).toBe(TRACE_ID)
  expect(hop.parentId).not.toBe('00f067aa0ba902b7')
  expect(hop.flags).toBe('03')
  expect(received!.tracestate).toBe('ot=th:0,rojo=00f067aa0ba902b7,congo=t61rcWkgMzE')
  // The parent of the downstream call is the upstream CLIENT span.
  const client = tracing.memory.getFinishedSpans().find((span) => span.kind === 2 /* CLIENT */)!
  expect(client.spanContext().spanId).toBe(hop.parentId)
})

test('a parent-based decision forwards the caller tracestate unchanged', async () => {
  tracing = setupTracing({ exporter: 'memory', flushOnExit: false })
  await request(upstreamApp())
    .get('/orders/7')
    .set('traceparent', CALLER)
    .set('tracestate', 'rojo=1,ot=th:8,congo=2')
    .expect(200)
  expect(received!.tracestate).toBe('rojo=1,ot=th:8,congo=2')
  expect(parts(received!.traceparent).flags).toBe('03')
})

test('an unsampled caller: the next hop continues the trace with a fresh parent ID and the sampled bit off', async () => {
  tracing = setupTracing({ exporter: 'memory', flushOnExit: false })
  await request(upstreamApp())
    .get('/orders/7')
    .set('traceparent', `00-${TRACE_ID}-00f067aa0ba902b7-02`)
    .expect(200)
  const hop = parts(received!.traceparent)
  expect(hop.traceId).toBe(TRACE_ID)
  expect(hop.parentId).not.toBe('00f067aa0ba902b7')
  expect(hop.flags).toBe('02') // random kept, not sampled
  expect(tracing.memory.getFinishedSpans()).toHaveLength(0)
})
