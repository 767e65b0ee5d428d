/**
 * Correlation members under OpenTelemetry's http instrumentation (the real
 * @opentelemetry/instrumentation-http): it injects with the global propagator and no URL, so it must
 * never carry `traceweave.*` members, neither those of the service's own request nor those a trusted
 * caller sent; the app's own baggage it still carries. Run with the instrumentation's SERVER spans on
 * (our middleware enriches them) and off (our middleware extracts itself).
 *
 * Jest loads modules itself, so require hooks never fire: the instrumentation's own patch is applied to
 * the real `http` module by hand, which is what `registerInstrumentations` does.
 */
import { context, propagation } from '@opentelemetry/api'
import { traceFetch } from '@traceweave/client'
import type { ExpressRequest } from '@traceweave/express'
import { setupTracing, type MemoryTracingHandle } from '@traceweave/node'
import { ServiceSet, SERVER, parseTraceparentHeader, startExpress, startKoa } from './support/services'
import { httpInstrumentation } from './support/http-instrumentation'

const { instrumentation, patch, unpatch } = httpInstrumentation()
// The real module object, the one the instrumentation patches (an ES namespace import is a copy).
const http: typeof import('node:http') = require('node:http')

const services = new ServiceSet()
let tracing: MemoryTracingHandle | undefined

beforeAll(() => {
  patch()
})
afterEach(async () => {
  await services.closeAll()
  await tracing?.shutdown()
  tracing = undefined
})
afterAll(() => {
  unpatch()
})

const PROPAGATE = { correlation: { propagate: ['session', 'user'] as const } }

/** A plain `http.get` (instrumented, not traced by us), resolving with the body. */
function plainGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (body += chunk))
        res.on('end', () => resolve(body))
      })
      .on('error', reject)
  })
}

/**
 * The same work with the app's own member added to the context's baggage (whatever it holds already,
 * as an app adds to baggage), so the instrumentation has baggage to send.
 */
function withAppBaggage<T>(fn: () => Promise<T>): Promise<T> {
  const active = context.active()
  const baggage = (propagation.getBaggage(active) ?? propagation.createBaggage()).setEntry('app.tenant', {
    value: 'acme',
  })
  return context.with(propagation.setBaggage(active, baggage), fn)
}

describe.each([
  ['its SERVER spans enriched by traceweave()', false],
  ['only its client side active', true],
])('OpenTelemetry http instrumentation, %s', (_name, ignoreIncoming) => {
  it('carries the app baggage but never traceweave.* members, of this request or a caller', async () => {
    instrumentation.setConfig({ ignoreIncomingRequestHook: () => ignoreIncoming })
    tracing = setupTracing({ exporter: 'memory', flushOnExit: false })
    instrumentation.setTracerProvider(tracing.provider)

    const pricing = services.add(
      await startExpress(
        'pricing',
        (app) => app.get('/price', (_req, res) => res.json({ amount: 42 })),
        PROPAGATE,
      ),
    )
    // inventory got the gateway's members through the traced fetch, then calls pricing with plain http.
    const inventory = services.add(
      await startKoa(
        'inventory',
        (_app, router) => {
          router.get('/stock', async (ctx) => {
            ctx.body = await withAppBaggage(() => plainGet(`${pricing.url}/price`))
          })
        },
        PROPAGATE,
      ),
    )
    const gateway = services.add(
      await startExpress(
        'gateway',
        (app) => {
          const fetch = traceFetch(globalThis.fetch)
          app.get('/checkout', async (_req, res) => {
            await (await fetch(`${inventory.url}/stock`)).arrayBuffer()
            // The gateway's own request, through the instrumentation only.
            await withAppBaggage(() => plainGet(`${pricing.url}/price`))
            res.json({ ok: true })
          })
        },
        { user: (req: ExpressRequest) => req.header('x-user'), ...PROPAGATE },
      ),
    )
    const response = await fetch(`${gateway.url}/checkout`, {
      headers: { 'x-session-id': 'sess-1', 'x-user': 'alice' },
    })
    expect(response.status).toBe(200)
    await response.arrayBuffer()
    await services.idle()

    // Our client sent the members to inventory, which applied them.
    expect(inventory.received[0]!.headers.baggage).toContain('traceweave.user.id=alice')
    const spans = tracing.memory.getFinishedSpans()
    const stock = spans.find(
      (span) => span.kind === SERVER && span.attributes['server.port'] === inventory.port,
    )!
    expect(stock.attributes['user.id']).toBe('alice')
    // Both calls to pricing went through the instrumentation: it injected trace context and the app's
    // baggage, nothing of ours.
    expect(pricing.received).toHaveLength(2)
    for (const request of pricing.received) {
      expect(parseTraceparentHeader(request.headers.traceparent)).toBeDefined()
      expect(request.headers.baggage).toBe('app.tenant=acme')
    }
  })
})
