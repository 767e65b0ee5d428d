/**
 * Issue 6, end to end: an Express 5 service calls a Koa 3 service, which calls a second route of the
 * Express service, each with `app.use(traceweave())`, through the traced fetch and the traced axios,
 * with the real sampler, propagator and correlation processor of `setupTracing()`. We check what a
 * user would in their backend: one trace, each SERVER span under the CLIENT span that called it, the
 * request ID everywhere, and the caller's own headers untouched.
 */
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import axios from 'axios'
import { traceAxios, traceFetch } from '@traceweave/client'
import { getRequestId, getSamplingStats } from '@traceweave/core'
import {
  CLIENT,
  SERVER,
  ServiceSet,
  clientSpansTo,
  isSampled,
  startRecordingService,
  parseTraceparentHeader,
  serverSpan,
  startExpress,
  startKoa,
  type RunningService,
} from './support/services'
import { useMemoryTracing } from './support/memory-tracing'

const tracing = useMemoryTracing({ sampling: { ratio: 1 } })
const services = new ServiceSet()

afterEach(() => services.closeAll())

/** What a handler needs from an HTTP client: GET some JSON with these headers. */
type GetJson = (url: string, headers: Record<string, string>) => Promise<unknown>

function fetchClient(): GetJson {
  const fetch = traceFetch(globalThis.fetch)
  return async (url, headers) => (await fetch(url, { headers })).json()
}

const undos: (() => void)[] = []
afterEach(() => undos.splice(0).forEach((undo) => undo()))
function axiosClient(): GetJson {
  const instance = axios.create()
  undos.push(traceAxios(instance, { getAdapter: axios.getAdapter }))
  return async (url, headers) => (await instance.get(url, { headers })).data
}

/** The caller's headers, which each hop passes as is: we check they arrive unchanged and unmutated. */
const ORDERS_HEADERS = Object.freeze({ accept: 'application/json', 'x-caller': 'orders', 'x-tenant': 'acme' })
const INVENTORY_HEADERS = Object.freeze({ accept: 'application/json', 'x-caller': 'inventory' })

/**
 * orders (Express 5): GET /orders/:id calls inventory; GET /prices/:sku answers it.
 * inventory (Koa 3): GET /inventory/:sku calls orders' /prices/:sku.
 */
async function startPair(client: GetJson): Promise<{ orders: RunningService; inventory: RunningService }> {
  const peers: { orders?: RunningService } = {}
  const inventory = services.add(
    await startKoa('inventory', (_app, router) => {
      router.get('/inventory/:sku', async (ctx) => {
        const ordersHeaders = { ...INVENTORY_HEADERS }
        const price = await client(`${peers.orders!.url}/prices/${ctx.params.sku}`, ordersHeaders)
        ctx.body = { sku: ctx.params.sku, price, requestId: getRequestId(), headersAfter: ordersHeaders }
      })
    }),
  )
  const orders = services.add(
    await startExpress('orders', (app) => {
      app.get('/orders/:id', async (req, res) => {
        const headers = { ...ORDERS_HEADERS }
        const stock = await client(`${inventory.url}/inventory/sku-${req.params.id}`, headers)
        res.json({ id: req.params.id, stock, requestId: getRequestId(), headersAfter: headers })
      })
      app.get('/prices/:sku', (req, res) => {
        res.json({ sku: req.params.sku, amount: 42, requestId: getRequestId() })
      })
    }),
  )
  peers.orders = orders
  return { orders, inventory }
}

const byId = (spans: readonly ReadableSpan[]) =>
  new Map(spans.map((span) => [span.spanContext().spanId, span]))

describe.each([
  ['traceFetch', fetchClient],
  ['traceAxios', axiosClient],
])('Express 5 -> Koa 3 -> Express 5 through %s', (_name, makeClient) => {
  it('one trace: every span shares the trace ID, each SERVER span is the child of the CLIENT span that called it', async () => {
    const { orders, inventory } = await startPair(makeClient())
    const response = await fetch(`${orders.url}/orders/7`, { headers: { 'x-request-id': 'req-e2e-7' } })
    expect(response.status).toBe(200)
    await services.idle()

    const spans = tracing.memory.getFinishedSpans()
    expect(spans.filter((span) => span.kind === SERVER)).toHaveLength(3)
    expect(spans.filter((span) => span.kind === CLIENT)).toHaveLength(2)
    expect(spans).toHaveLength(5)
    const entry = serverSpan(spans, orders, '/orders/:id')!
    const stock = serverSpan(spans, inventory, '/inventory/:sku')!
    const price = serverSpan(spans, orders, '/prices/:sku')!
    expect([entry.name, stock.name, price.name]).toEqual([
      'GET /orders/:id',
      'GET /inventory/:sku',
      'GET /prices/:sku',
    ])
    const traceId = entry.spanContext().traceId
    expect(spans.map((span) => span.spanContext().traceId)).toEqual(spans.map(() => traceId))
    expect(spans.every(isSampled)).toBe(true)

    // The chain: orders SERVER -> CLIENT -> inventory SERVER -> CLIENT -> orders SERVER.
    const index = byId(spans)
    expect(entry.parentSpanContext).toBeUndefined()
    const [toInventory] = clientSpansTo(spans, inventory)
    const [toOrders] = clientSpansTo(spans, orders)
    expect(toInventory!.parentSpanContext!.spanId).toBe(entry.spanContext().spanId)
    expect(stock.parentSpanContext!.spanId).toBe(toInventory!.spanContext().spanId)
    expect(stock.parentSpanContext!.isRemote).toBe(true)
    expect(toOrders!.parentSpanContext!.spanId).toBe(stock.spanContext().spanId)
    expect(price.parentSpanContext!.spanId).toBe(toOrders!.spanContext().spanId)
    expect(index.get(price.parentSpanContext!.spanId)!.kind).toBe(CLIENT)

    // What each downstream service received on the wire names that CLIENT span, sampled.
    expect(parseTraceparentHeader(inventory.received[0]!.headers.traceparent)).toMatchObject({
      traceId,
      parentId: toInventory!.spanContext().spanId,
      sampled: true,
    })
    const pricesRequest = orders.received.find((r) => r.path.startsWith('/prices/'))!
    expect(parseTraceparentHeader(pricesRequest.headers.traceparent)).toMatchObject({
      traceId,
      parentId: toOrders!.spanContext().spanId,
      sampled: true,
    })
    // One decision per trace root here, and the two downstream requests follow their parent.
    expect(getSamplingStats()).toMatchObject({ total: 3, sampled: 3, byReason: { ratio: 1, parent: 2 } })
  })

  it('the request ID received by the first service reaches the others, and every span carries it', async () => {
    const { orders, inventory } = await startPair(makeClient())
    const response = await fetch(`${orders.url}/orders/8`, { headers: { 'x-request-id': 'req-e2e-8' } })
    const body = (await response.json()) as {
      requestId: string
      stock: { requestId: string; price: { requestId: string } }
    }
    await services.idle()

    expect(response.headers.get('x-request-id')).toBe('req-e2e-8')
    expect(inventory.received[0]!.headers['x-request-id']).toBe('req-e2e-8')
    expect(orders.received[1]!.headers['x-request-id']).toBe('req-e2e-8')
    // getRequestId() in every handler, and request.id on every span of the three services.
    expect([body.requestId, body.stock.requestId, body.stock.price.requestId]).toEqual([
      'req-e2e-8',
      'req-e2e-8',
      'req-e2e-8',
    ])
    const spans = tracing.memory.getFinishedSpans()
    expect(spans).toHaveLength(5)
    expect(spans.map((span) => span.attributes['request.id'])).toEqual(spans.map(() => 'req-e2e-8'))
  })

  it('a request without an ID gets one at the first service, and that one travels', async () => {
    const { orders, inventory } = await startPair(makeClient())
    const response = await fetch(`${orders.url}/orders/9`)
    await response.arrayBuffer()
    await services.idle()
    const generated = response.headers.get('x-request-id')!
    expect(generated).toMatch(/^[\w-]{8,}$/)
    expect(inventory.received[0]!.headers['x-request-id']).toBe(generated)
    expect(orders.received[1]!.headers['x-request-id']).toBe(generated)
  })

  it("headers the caller passed arrive unchanged, and the caller's header objects are not mutated", async () => {
    const { orders, inventory } = await startPair(makeClient())
    const response = await fetch(`${orders.url}/orders/10`, { headers: { 'x-request-id': 'req-e2e-10' } })
    const body = (await response.json()) as {
      headersAfter: Record<string, string>
      stock: { headersAfter: Record<string, string> }
    }
    await services.idle()

    expect(inventory.received[0]!.headers).toMatchObject(ORDERS_HEADERS)
    expect(orders.received[1]!.headers).toMatchObject(INVENTORY_HEADERS)
    // Our headers were added to a copy: the objects the handlers passed hold exactly what they did.
    expect(body.headersAfter).toEqual(ORDERS_HEADERS)
    expect(body.stock.headersAfter).toEqual(INVENTORY_HEADERS)
  })
})

describe('a traced service calling a third party outside propagateTo', () => {
  it('the third party gets no trace, baggage or request-ID headers, the service still records a CLIENT span', async () => {
    // A bare server that only records what it receives: it stands for an external API.
    const thirdParty = services.add(
      await startRecordingService('third-party', (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end('{"ok":true}')
      }),
    )
    const inventory = services.add(
      await startKoa('inventory', (_app, router) => {
        router.get('/inventory/:sku', (ctx) => (ctx.body = { sku: ctx.params.sku }))
      }),
    )
    const orders = services.add(
      await startExpress('orders', (app) => {
        const fetch = traceFetch(globalThis.fetch, { propagateTo: [inventory.url] })
        app.get('/orders/:id', async (_req, res) => {
          await (await fetch(`${inventory.url}/inventory/1`)).arrayBuffer()
          await (
            await fetch(`${thirdParty.url}/v1/charge`, { headers: { authorization: 'Bearer t' } })
          ).json()
          res.json({ ok: true })
        })
      }),
    )
    await fetch(`${orders.url}/orders/1`, { headers: { 'x-request-id': 'req-e2e-3p' } })
    await services.idle()

    const headers = thirdParty.received[0]!.headers
    for (const name of ['traceparent', 'tracestate', 'baggage', 'x-request-id']) {
      expect(headers[name]).toBeUndefined()
    }
    expect(headers.authorization).toBe('Bearer t')
    expect(inventory.received[0]!.headers['x-request-id']).toBe('req-e2e-3p')
    expect(parseTraceparentHeader(inventory.received[0]!.headers.traceparent)!.sampled).toBe(true)
    const spans = tracing.memory.getFinishedSpans()
    const [toThirdParty] = clientSpansTo(spans, thirdParty)
    expect(toThirdParty!.attributes['url.full']).toBe(`${thirdParty.url}/v1/charge`)
    expect(toThirdParty!.parentSpanContext!.spanId).toBe(
      serverSpan(spans, orders, '/orders/:id')!.spanContext().spanId,
    )
  })
})
