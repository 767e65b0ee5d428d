/**
 * Two real services on 127.0.0.1, each with real SDK spans: a caller sends a request to `orders`,
 * which calls `inventory` with fetch. We check what a user would: the headers `inventory` received
 * and the spans both services exported.
 */
import { context, propagation, SpanKind, trace } from '@opentelemetry/api'
import {
  createTraceweavePropagator,
  extractContext,
  getUntrustedParent,
  injectContext,
} from '@traceweave/core'
import http from 'node:http'
import { listen, type ListeningServer } from './support/servers'
import { startTestTracing, type TestTracing } from './support/tracing'

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'
const CALLER_SPAN_ID = '00f067aa0ba902b7'
const callerTraceparent = (flags: string) => `00-${TRACE_ID}-${CALLER_SPAN_ID}-${flags}`

interface Hop {
  /** What `inventory` received. */
  downstream: { traceparent?: string; tracestate?: string; baggage?: string }
  /** IDs of the spans `orders` started (recorded or not). */
  upstream: { traceId: string; serverSpanId: string; clientSpanId: string }
}

let tracing: TestTracing
let inventory: ListeningServer
let orders: ListeningServer
let ordersUrl: string

const tracer = () => trace.getTracer('two-services')

/** Sends a request to `orders` with exactly these header lines (arrays become repeated lines). */
function callOrders(headers: Record<string, string | string[]>, path = '/orders'): Promise<Hop> {
  return new Promise((resolve, reject) => {
    const request = http.request(`${ordersUrl}${path}`, { headers, agent: false }, (response) => {
      let body = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => (body += chunk))
      response.on('end', () => resolve(JSON.parse(body) as Hop))
    })
    request.on('error', reject)
    request.end()
  })
}

beforeAll(async () => {
  tracing = startTestTracing()
  propagation.setGlobalPropagator(createTraceweavePropagator())

  inventory = await listen(function inventoryHandler(req, res) {
    const span = tracer().startSpan('GET /inventory', { kind: SpanKind.SERVER }, extractContext(req.headers))
    span.end()
    res.setHeader('content-type', 'application/json')
    res.end(
      JSON.stringify({
        traceparent: req.headers.traceparent,
        tracestate: req.headers.tracestate,
        baggage: req.headers.baggage,
      }),
    )
  })
  const inventoryUrl = inventory.url

  orders = await listen(function ordersHandler(req, res) {
    // `/public/...` is an endpoint that does not trust its callers' trace headers.
    const trustIncoming = !req.url?.startsWith('/public')
    const parent = extractContext(req.headers, { trustIncoming })
    const caller = getUntrustedParent(parent)
    const server = tracer().startSpan(
      'GET /orders',
      { kind: SpanKind.SERVER, links: caller ? [{ context: caller }] : [] },
      parent,
    )
    void context
      .with(trace.setSpan(parent, server), async () => {
        const client = tracer().startSpan('GET', { kind: SpanKind.CLIENT })
        const headers: Record<string, string> = {}
        const url = `${inventoryUrl}/inventory`
        injectContext(headers, { context: trace.setSpan(context.active(), client), url })
        const response = await fetch(url, { headers })
        const downstream = (await response.json()) as Hop['downstream']
        client.end()
        server.end()
        const hop: Hop = {
          downstream,
          upstream: {
            traceId: server.spanContext().traceId,
            serverSpanId: server.spanContext().spanId,
            clientSpanId: client.spanContext().spanId,
          },
        }
        res.setHeader('content-type', 'application/json')
        res.end(JSON.stringify(hop))
      })
      .catch((error: unknown) => {
        res.statusCode = 500
        res.end(JSON.stringify({ error: String(error) }))
      })
  })
  ordersUrl = orders.url
})

afterAll(async () => {
  await orders.close()
  await inventory.close()
  await tracing.shutdown()
})

beforeEach(() => tracing.reset())

function parse(traceparent: string | undefined) {
  const [version, traceId, parentId, flags] = (traceparent ?? '').split('-')
  return { version, traceId, parentId, flags }
}

describe('two services, W3C Trace Context between them', () => {
  it("the downstream continues the caller's trace with a new parent ID, the caller's bits and tracestate in order", async () => {
    const hop = await callOrders({
      traceparent: callerTraceparent('03'),
      tracestate: 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE',
      baggage: 'userId=alice',
    })
    const seen = parse(hop.downstream.traceparent)
    expect(seen.version).toBe('00')
    expect(seen.traceId).toBe(TRACE_ID)
    expect(seen.parentId).toBe(hop.upstream.clientSpanId)
    expect(seen.parentId).not.toBe(CALLER_SPAN_ID)
    expect(seen.flags).toBe('03') // sampled and random, as the caller sent
    expect(hop.downstream.tracestate).toBe('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE')
    expect(hop.downstream.baggage).toBe('userId=alice')

    // One trace across both services: caller -> orders SERVER -> orders CLIENT -> inventory SERVER.
    const spans = tracing.spans()
    const byName = (name: string) => spans.find((span) => span.name === name)!
    expect(spans.map((span) => span.spanContext().traceId)).toEqual([TRACE_ID, TRACE_ID, TRACE_ID])
    expect(byName('GET /orders').parentSpanContext?.spanId).toBe(CALLER_SPAN_ID)
    expect(byName('GET').parentSpanContext?.spanId).toBe(hop.upstream.serverSpanId)
    expect(byName('GET /inventory').parentSpanContext?.spanId).toBe(hop.upstream.clientSpanId)
    expect(byName('GET /inventory').parentSpanContext?.isRemote).toBe(true)
  })

  it('a caller without the random bit keeps it unset downstream', async () => {
    const hop = await callOrders({ traceparent: callerTraceparent('01') })
    expect(parse(hop.downstream.traceparent)).toMatchObject({ traceId: TRACE_ID, flags: '01' })
  })

  it('an unsampled parent: the next hop still gets the trace, with a fresh parent ID and the sampled bit off', async () => {
    for (const [sent, expected] of [
      ['00', '00'],
      ['02', '02'],
    ]) {
      const hop = await callOrders({ traceparent: callerTraceparent(sent), tracestate: 'congo=t61rcWkgMzE' })
      const seen = parse(hop.downstream.traceparent)
      expect(seen.traceId).toBe(TRACE_ID)
      expect(seen.flags).toBe(expected)
      expect(seen.parentId).toBe(hop.upstream.clientSpanId)
      expect(seen.parentId).not.toBe(CALLER_SPAN_ID)
      expect(seen.parentId).not.toBe(hop.upstream.serverSpanId)
      expect(hop.downstream.tracestate).toBe('congo=t61rcWkgMzE')
    }
    expect(tracing.spans()).toHaveLength(0) // nothing recorded, yet the trace went on
  })

  it('several tracestate header lines reach the downstream joined, in order', async () => {
    const hop = await callOrders({
      traceparent: callerTraceparent('01'),
      tracestate: ['foo=1,bar=2', 'rojo=1', 'congo=2'],
    })
    expect(hop.downstream.tracestate).toBe('foo=1,bar=2,rojo=1,congo=2')
  })

  it('a trace started in the service carries the random bit', async () => {
    const hop = await callOrders({})
    const seen = parse(hop.downstream.traceparent)
    expect(seen.traceId).toBe(hop.upstream.traceId)
    expect(seen.flags).toBe('03')
  })

  it('an invalid or repeated traceparent starts a new trace and drops tracestate', async () => {
    for (const traceparent of [
      `ff-${TRACE_ID}-${CALLER_SPAN_ID}-01`,
      [callerTraceparent('01'), callerTraceparent('01')],
    ]) {
      const hop = await callOrders({ traceparent, tracestate: 'rojo=1' })
      const seen = parse(hop.downstream.traceparent)
      expect(seen.traceId).not.toBe(TRACE_ID)
      expect(seen.traceId).toBe(hop.upstream.traceId)
      expect(hop.downstream.tracestate).toBeUndefined()
    }
  })

  it("an untrusting endpoint starts a new trace, links to the caller and forwards none of the caller's state", async () => {
    const hop = await callOrders(
      { traceparent: callerTraceparent('01'), tracestate: 'rojo=1', baggage: 'userId=alice' },
      '/public/orders',
    )
    const seen = parse(hop.downstream.traceparent)
    expect(seen.traceId).not.toBe(TRACE_ID)
    expect(seen.flags).toBe('03')
    expect(hop.downstream.tracestate).toBeUndefined()
    expect(hop.downstream.baggage).toBeUndefined()
    const server = tracing.spans().find((span) => span.name === 'GET /orders')!
    expect(server.parentSpanContext).toBeUndefined()
    expect(server.links.map((link) => link.context.spanId)).toEqual([CALLER_SPAN_ID])
  })
})
