/**
 * Issue 11, correlation across services (`correlation: { propagate: ['session', 'user'] }`), end to
 * end: a gateway (Express 5) calls inventory (Koa 3), which calls pricing (Express 5), each with
 * `app.use(traceweave())`, through the traced fetch and the traced axios, with the real sampler,
 * propagators and correlation processor of `setupTracing()`. We check what a user would in their
 * backend: every span of the request, in every service, has the gateway's session, operation number
 * and user; HMACs are not hashed twice; untrusted callers and destinations outside `propagateTo` are
 * left out; and nothing changes without the option.
 */
import { context, propagation, trace } from '@opentelemetry/api'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import axios from 'axios'
import { traceAxios, traceFetch } from '@traceweave/client'
import type { ExpressRequest } from '@traceweave/express'
import type { KoaContext } from '@traceweave/koa'
import { getSamplingStats, resetSamplingStats, type TraceweaveOptions } from '@traceweave/core'
import { setupTracing, type MemoryTracingHandle, type SetupTracingOptions } from '@traceweave/node'
import { createHmac } from 'node:crypto'
import {
  CLIENT,
  SERVER,
  ServiceSet,
  startRecordingService,
  serverSpan,
  startExpress,
  startKoa,
  type RunningService,
} from './support/services'

const services = new ServiceSet()
let tracing: MemoryTracingHandle | undefined

function startTracing(options: Pick<SetupTracingOptions, 'sampling'> = {}): MemoryTracingHandle {
  const handle = setupTracing({ ...options, exporter: 'memory', flushOnExit: false })
  tracing = handle
  resetSamplingStats()
  return handle
}

afterEach(async () => {
  await services.closeAll()
  await tracing?.shutdown()
  tracing = undefined
})

const PROPAGATE = { correlation: { propagate: ['session', 'user'] as const } }
const HASH_KEY = 'correlation-test-key-0123456789'
const hmac = (value: string) => createHmac('sha256', HASH_KEY).update(value).digest('hex')
const SESSION = 'sess-7f3a9c'
const USER = 'alice@example.com'

/** What a handler needs from an HTTP client: GET some JSON. */
type GetJson = (url: string, headers?: Record<string, string>) => Promise<unknown>

function fetchClient(options?: Parameters<typeof traceFetch>[1]): GetJson {
  const fetch = traceFetch(globalThis.fetch, options)
  return async (url, headers) => (await fetch(url, { headers })).json()
}

const undos: (() => void)[] = []
afterEach(() => undos.splice(0).forEach((undo) => undo()))
function axiosClient(
  options: Omit<NonNullable<Parameters<typeof traceAxios>[1]>, 'getAdapter'> = {},
): GetJson {
  const instance = axios.create()
  undos.push(traceAxios(instance, { ...options, getAdapter: axios.getAdapter }))
  return async (url, headers) => (await instance.get(url, { headers })).data
}

interface Chain {
  gateway: RunningService
  inventory: RunningService
  pricing: RunningService
}

/**
 * gateway (Express 5): GET /ping answers alone, GET /checkout/:sku calls inventory.
 * inventory (Koa 3): GET /stock/:sku does some work of its own, then calls pricing.
 * pricing (Express 5): GET /price/:sku answers.
 * The gateway reads the session from `x-session-id` (the default) and the user from `x-user`.
 */
async function startChain(
  client: () => GetJson,
  options: {
    gateway?: TraceweaveOptions<ExpressRequest>
    inventory?: TraceweaveOptions<KoaContext>
    pricing?: TraceweaveOptions<ExpressRequest>
  } = {},
): Promise<Chain> {
  const pricing = services.add(
    await startExpress(
      'pricing',
      (app) => app.get('/price/:sku', (req, res) => res.json({ sku: req.params.sku, amount: 42 })),
      options.pricing ?? PROPAGATE,
    ),
  )
  const inventoryClient = client()
  const inventory = services.add(
    await startKoa(
      'inventory',
      (_app, router) => {
        router.get('/stock/:sku', async (ctx) => {
          await trace.getTracer('inventory-db').startActiveSpan('SELECT stock', async (span) => {
            await new Promise((resolve) => setImmediate(resolve))
            span.end()
          })
          ctx.body = { price: await inventoryClient(`${pricing.url}/price/${ctx.params.sku}`) }
        })
      },
      options.inventory ?? PROPAGATE,
    ),
  )
  const gatewayClient = client()
  const gateway = services.add(
    await startExpress(
      'gateway',
      (app) => {
        app.get('/ping', (_req, res) => res.json({ ok: true }))
        app.get('/checkout/:sku', async (req, res) => {
          res.json({ stock: await gatewayClient(`${inventory.url}/stock/${req.params.sku}`) })
        })
      },
      { user: (req: ExpressRequest) => req.header('x-user'), ...(options.gateway ?? PROPAGATE) },
    ),
  )
  return { gateway, inventory, pricing }
}

/** A session's second operation at the gateway: the downstream services have never seen the session. */
async function checkoutAsSecondOperation(chain: Chain, headers: Record<string, string> = {}): Promise<void> {
  const session = { 'x-session-id': SESSION, 'x-user': USER, ...headers }
  await (await fetch(`${chain.gateway.url}/ping`, { headers: session })).arrayBuffer()
  const response = await fetch(`${chain.gateway.url}/checkout/sku-1`, { headers: session })
  expect(response.status).toBe(200)
  await response.arrayBuffer()
  await services.idle()
}

/** The spans of the checkout request: every span of its trace. */
function checkoutSpans(chain: Chain): ReadableSpan[] {
  const spans = tracing!.memory.getFinishedSpans()
  const entry = serverSpan(spans, chain.gateway, '/checkout/:sku')!
  const traceId = entry.spanContext().traceId
  return spans.filter((span) => span.spanContext().traceId === traceId)
}

const correlationOf = (span: ReadableSpan) => ({
  'session.id': span.attributes['session.id'],
  'session.operation': span.attributes['session.operation'],
  'session.operation_number': span.attributes['session.operation_number'],
  'user.id': span.attributes['user.id'],
})

describe.each([
  ['traceFetch', () => fetchClient()],
  ['traceAxios', () => axiosClient()],
])('Express 5 -> Koa 3 -> Express 5 through %s with correlation.propagate', (_name, client) => {
  it("every span of the request, in every service, carries the gateway's session, operation number and user", async () => {
    startTracing()
    const chain = await startChain(client)
    await checkoutAsSecondOperation(chain)

    const spans = checkoutSpans(chain)
    // 3 SERVER, 2 CLIENT and inventory's own database span.
    expect(spans.filter((span) => span.kind === SERVER)).toHaveLength(3)
    expect(spans.filter((span) => span.kind === CLIENT)).toHaveLength(2)
    expect(spans).toHaveLength(6)
    const expected = {
      'session.id': SESSION,
      'session.operation': 'GET /checkout/:sku',
      // The gateway's count: inventory and pricing see the session for the first time, yet say 2.
      'session.operation_number': 2,
      'user.id': USER,
    }
    for (const span of spans)
      expect({ name: span.name, ...correlationOf(span) }).toEqual({ name: span.name, ...expected })
    // Downstream services received no session or user header, only the baggage members.
    const received = chain.inventory.received[0]!.headers
    expect(received['x-session-id']).toBeUndefined()
    expect(received.baggage).toBe(
      'traceweave.session.id=sess-7f3a9c,traceweave.session.operation=GET%20/checkout/:sku,' +
        'traceweave.session.operation_number=2,traceweave.user.id=alice@example.com',
    )
    expect(chain.pricing.received[0]!.headers.baggage).toBe(received.baggage)
  })

  it('with hashIds, HMACs travel marked hashed and no service hashes them twice, with or without its own hashIds', async () => {
    startTracing()
    const hashIds = { key: HASH_KEY }
    const chain = await startChain(client, {
      gateway: { ...PROPAGATE, hashIds },
      inventory: { ...PROPAGATE, hashIds },
      // pricing has no key: it records the HMACs it is given, and would forward them marked hashed.
      pricing: PROPAGATE,
    })
    await checkoutAsSecondOperation(chain)

    const spans = checkoutSpans(chain)
    expect(spans).toHaveLength(6)
    for (const span of spans) {
      expect(correlationOf(span)).toEqual({
        'session.id': hmac(SESSION),
        'session.operation': 'GET /checkout/:sku',
        'session.operation_number': 2,
        'user.id': hmac(USER),
      })
    }
    const baggage = chain.inventory.received[0]!.headers.baggage as string
    expect(baggage).toContain(`traceweave.session.id=${hmac(SESSION)};hashed`)
    expect(baggage).toContain(`traceweave.user.id=${hmac(USER)};hashed`)
    // The raw IDs never left the gateway.
    expect(baggage).not.toContain(SESSION)
    expect(baggage).not.toContain('alice')
    expect(chain.pricing.received[0]!.headers.baggage).toBe(baggage)
  })

  it('a caller the downstream does not trust (trustIncoming: false) has its baggage members ignored', async () => {
    startTracing()
    const chain = await startChain(client, { inventory: { ...PROPAGATE, trustIncoming: false } })
    await checkoutAsSecondOperation(chain)

    const spans = tracing!.memory.getFinishedSpans()
    const stock = serverSpan(spans, chain.inventory, '/stock/:sku')!
    expect(stock.attributes['session.id']).toBeUndefined()
    expect(stock.attributes['user.id']).toBeUndefined()
    // inventory started a new trace: its work and its call to pricing carry nothing of the gateway's.
    const inventoryTrace = spans.filter((span) => span.spanContext().traceId === stock.spanContext().traceId)
    expect(inventoryTrace.length).toBeGreaterThanOrEqual(3)
    for (const span of inventoryTrace) expect(correlationOf(span)).toEqual(correlationOf(stock))
    expect(chain.pricing.received[0]!.headers.baggage ?? '').not.toContain('traceweave.')
  })

  it('a destination outside propagateTo receives no baggage members, an allowed one does', async () => {
    startTracing()
    const thirdParty = services.add(
      await startRecordingService('third-party', (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end('{"ok":true}')
      }),
    )
    const inventory = services.add(
      await startKoa(
        'inventory',
        (_app, router) => router.get('/stock', (ctx) => (ctx.body = {})),
        PROPAGATE,
      ),
    )
    const gateway = services.add(
      await startExpress(
        'gateway',
        (app) => {
          const call =
            _name === 'traceFetch'
              ? fetchClient({ propagateTo: [inventory.url] })
              : axiosClient({ propagateTo: [inventory.url] })
          app.get('/checkout', async (_req, res) => {
            await call(`${inventory.url}/stock`)
            await call(`${thirdParty.url}/v1/charge`)
            res.json({ ok: true })
          })
        },
        { user: (req: ExpressRequest) => req.header('x-user'), ...PROPAGATE },
      ),
    )
    await (
      await fetch(`${gateway.url}/checkout`, { headers: { 'x-session-id': SESSION, 'x-user': USER } })
    ).arrayBuffer()
    await services.idle()
    expect(inventory.received[0]!.headers.baggage).toContain('traceweave.user.id=alice@example.com')
    expect(thirdParty.received[0]!.headers.baggage).toBeUndefined()
    expect(thirdParty.received[0]!.headers.traceparent).toBeUndefined()
  })
})

describe('sampling.users on a downstream service', () => {
  it('matches a user that arrives as an HMAC from a trusted caller, which the service decides for itself', async () => {
    // Every service decides for itself (respectParent: false) and keeps nothing but the listed user.
    startTracing({ sampling: { respectParent: false, ratio: 0, users: [USER] } })
    const hashIds = { key: HASH_KEY }
    const chain = await startChain(() => fetchClient(), {
      gateway: { ...PROPAGATE, hashIds },
      inventory: { ...PROPAGATE, hashIds },
      pricing: { ...PROPAGATE, hashIds },
    })
    await checkoutAsSecondOperation(chain)
    // bob is not listed: dropped everywhere.
    const bob = await fetch(`${chain.gateway.url}/checkout/sku-2`, {
      headers: { 'x-session-id': SESSION, 'x-user': 'bob' },
    })
    await bob.arrayBuffer()
    await services.idle()

    const spans = tracing!.memory.getFinishedSpans()
    const servers = spans.filter((span) => span.kind === SERVER)
    // /ping and /checkout at the gateway, /stock at inventory, /price at pricing: alice's only.
    expect(servers.map((span) => span.name).sort()).toEqual([
      'GET /checkout/:sku',
      'GET /ping',
      'GET /price/:sku',
      'GET /stock/:sku',
    ])
    expect(servers.map((span) => span.attributes['user.id'])).toEqual(servers.map(() => hmac(USER)))
    // 4 decisions kept by user (alice's two gateway requests, inventory, pricing), 3 dropped (bob's).
    expect(getSamplingStats()).toMatchObject({ byReason: { user: 4 } })
  })

  it('does not match a hashed user at a service without hashIds (it cannot hash its list)', async () => {
    startTracing({ sampling: { respectParent: false, ratio: 0, users: [USER] } })
    const chain = await startChain(() => fetchClient(), {
      gateway: { ...PROPAGATE, hashIds: { key: HASH_KEY } },
      inventory: PROPAGATE,
      pricing: PROPAGATE,
    })
    await checkoutAsSecondOperation(chain)
    const servers = tracing!.memory.getFinishedSpans().filter((span) => span.kind === SERVER)
    expect(servers.map((span) => span.name).sort()).toEqual(['GET /checkout/:sku', 'GET /ping'])
  })
})

describe('merging with the application baggage', () => {
  it("the app's own members travel with ours, and stale traceweave.* members it carries are replaced", async () => {
    startTracing()
    const inventory = services.add(
      await startKoa(
        'inventory',
        (_app, router) => router.get('/stock', (ctx) => (ctx.body = {})),
        PROPAGATE,
      ),
    )
    const gateway = services.add(
      await startExpress(
        'gateway',
        (app) => {
          const call = fetchClient()
          app.get('/checkout', async (_req, res) => {
            const baggage = propagation.createBaggage({
              'app.tenant': { value: 'acme corp' },
              'traceweave.user.id': { value: 'forged' },
            })
            await context.with(propagation.setBaggage(context.active(), baggage), () =>
              call(`${inventory.url}/stock`),
            )
            res.json({ ok: true })
          })
        },
        { user: (req: ExpressRequest) => req.header('x-user'), ...PROPAGATE },
      ),
    )
    await (await fetch(`${gateway.url}/checkout`, { headers: { 'x-user': USER } })).arrayBuffer()
    await services.idle()
    expect(inventory.received[0]!.headers.baggage).toBe(
      'app.tenant=acme%20corp,traceweave.user.id=alice@example.com',
    )
    const spans = tracing!.memory.getFinishedSpans()
    expect(serverSpan(spans, inventory, '/stock')!.attributes['user.id']).toBe(USER)
  })
})

describe("a trusted caller's members, written by hand", () => {
  it("are applied as sent, and without an operation name the service's own route names the operation", async () => {
    startTracing()
    const chain = await startChain(() => fetchClient())
    const baggage = 'app.tenant=acme, traceweave.session.id=s1, traceweave.session.operation_number=4'
    const response = await fetch(`${chain.inventory.url}/stock/sku-6`, { headers: { baggage } })
    await response.arrayBuffer()
    await services.idle()
    const spans = tracing!.memory.getFinishedSpans()
    const stock = serverSpan(spans, chain.inventory, '/stock/:sku')!
    expect(correlationOf(stock)).toEqual({
      'session.id': 's1',
      'session.operation': 'GET /stock/:sku',
      'session.operation_number': 4,
      'user.id': undefined,
    })
    // Forwarded to pricing with the name now known; the app's member travels through the propagator.
    expect(chain.pricing.received[0]!.headers.baggage).toBe(
      'app.tenant=acme,traceweave.session.id=s1,traceweave.session.operation=GET%20/stock/:sku,' +
        'traceweave.session.operation_number=4',
    )
  })
})

describe('off by default', () => {
  it('without correlation.propagate no member is sent, and one received is not applied', async () => {
    startTracing()
    const chain = await startChain(() => fetchClient(), { gateway: {}, inventory: {}, pricing: {} })
    await checkoutAsSecondOperation(chain)
    expect(chain.inventory.received[0]!.headers.baggage).toBeUndefined()

    // A caller that does send members, to a service without the option: its spans do not get them.
    const forged = 'traceweave.session.id=s1,traceweave.session.operation_number=5,traceweave.user.id=mallory'
    await (await fetch(`${chain.inventory.url}/stock/sku-3`, { headers: { baggage: forged } })).arrayBuffer()
    await services.idle()
    const spans = tracing!.memory.getFinishedSpans()
    const stock = spans.filter(
      (span) => span.kind === SERVER && span.attributes['server.port'] === chain.inventory.port,
    )
    expect(stock).toHaveLength(2)
    for (const span of stock) {
      expect(span.attributes['session.id']).toBeUndefined()
      expect(span.attributes['user.id']).toBeUndefined()
    }
    // And the members are not forwarded by the propagator either.
    expect(chain.pricing.received[1]!.headers.baggage).toBeUndefined()
  })

  it('invalid members from a trusted caller are ignored, never recorded raw', async () => {
    startTracing()
    const chain = await startChain(() => fetchClient())
    const bad =
      'traceweave.session.id=has%20space,traceweave.session.operation_number=2,' +
      'traceweave.user.id=eve%0Aforged-log-line'
    await (await fetch(`${chain.inventory.url}/stock/sku-4`, { headers: { baggage: bad } })).arrayBuffer()
    const hashedBad = `traceweave.session.id=abc;hashed,traceweave.session.operation_number=01,traceweave.user.id=${'g'.repeat(64)};hashed`
    await (
      await fetch(`${chain.inventory.url}/stock/sku-5`, { headers: { baggage: hashedBad } })
    ).arrayBuffer()
    await services.idle()
    const spans = tracing!.memory.getFinishedSpans()
    expect(spans.length).toBeGreaterThanOrEqual(6)
    for (const span of spans) {
      expect(span.attributes['session.id']).toBeUndefined()
      expect(span.attributes['user.id']).toBeUndefined()
    }
    for (const request of chain.pricing.received) expect(request.headers.baggage).toBeUndefined()
  })
})
