/**
 * Issue 7, deferred decisions end to end, in Express 5 and in Koa 3: the request is recorded undecided
 * and decided when an outgoing call needs a `traceparent` or when the server span ends, so a user
 * identified by the app's own auth middleware and a rule on `http.route` both decide. A downstream
 * traced service (the other framework) sees the decided flag and follows it. Stats are exact: one
 * decision per trace root in this process, the downstream request's `parent` decision included.
 */
import { trace } from '@opentelemetry/api'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { traceFetch } from '@traceweave/client'
import { getSamplingStats, identifyUser } from '@traceweave/core'
import {
  CLIENT,
  SERVER,
  KoaRouter,
  ServiceSet,
  childWork,
  clientSpansTo,
  isSampled,
  parseTraceparentHeader,
  serverSpan,
  startExpress,
  startKoa,
  type RunningService,
} from './support/services'
import { useMemoryTracing } from './support/memory-tracing'
import { NO_UPGRADES } from './support/sampling'

const tracing = useMemoryTracing({
  sampling: {
    decide: 'deferred',
    ratio: 0,
    users: ['alice'],
    rules: [{ route: '/reports/:id', sample: 1 }],
  },
})
const services = new ServiceSet()

afterEach(() => services.closeAll())

const tracer = () => trace.getTracer('e2e-app')
const tracedFetch = traceFetch(globalThis.fetch)

type Framework = 'express5' | 'koa3'

/**
 * The deciding service, with the app's own auth middleware (`x-auth-user` -> identifyUser) and:
 * - GET /orders/:id: no rule, a child span;
 * - GET /reports/:id in a nested router (Express `app.use('/reports', router)`, Koa prefix '/reports'),
 *   the same router also under /api/reports (route '/api/reports/:id', which the rule does not name);
 *   with `?call=1` it calls downstream before answering;
 * - GET /checkout/:id: calls downstream first, then identifies the user from `x-late-user`.
 */
async function startDecider(framework: Framework, downstream: RunningService): Promise<RunningService> {
  const callDownstream = async (id: string) => {
    const response = await tracedFetch(`${downstream.url}/stock/${id}`)
    return response.json()
  }
  const lateUser = (value: unknown) =>
    typeof value === 'string' && value !== '' ? identifyUser(value) : false
  if (framework === 'express5') {
    return services.add(
      await startExpress('decider', (app, express) => {
        app.use((req, _res, next) => {
          const user = req.get('x-auth-user')
          if (user !== undefined) identifyUser(user)
          next()
        })
        app.get('/orders/:id', async (req, res) => {
          await childWork(tracer(), 'load order')
          res.json({ id: req.params.id })
        })
        const reports = express.Router()
        reports.get('/:id', async (req, res) => {
          await childWork(tracer(), 'render report')
          const stock = req.query.call === '1' ? await callDownstream(req.params.id) : undefined
          res.json({ id: req.params.id, stock })
        })
        app.use('/reports', reports)
        app.use('/api/reports', reports)
        app.get('/checkout/:id', async (req, res) => {
          const stock = await callDownstream(req.params.id)
          const identified = lateUser(req.get('x-late-user'))
          res.json({ stock, identified })
        })
      }),
    )
  }
  return services.add(
    await startKoa('decider', (app, router) => {
      app.use(async (ctx, next) => {
        const user = ctx.get('x-auth-user')
        if (user !== '') identifyUser(user)
        await next()
      })
      router.get('/orders/:id', async (ctx) => {
        await childWork(tracer(), 'load order')
        ctx.body = { id: ctx.params.id }
      })
      for (const prefix of ['/reports', '/api/reports']) {
        const reports = new KoaRouter({ prefix })
        reports.get('/:id', async (ctx) => {
          await childWork(tracer(), 'render report')
          const stock = ctx.query.call === '1' ? await callDownstream(ctx.params.id!) : undefined
          ctx.body = { id: ctx.params.id, stock }
        })
        router.use(reports.routes())
      }
      router.get('/checkout/:id', async (ctx) => {
        const stock = await callDownstream(ctx.params.id!)
        const identified = lateUser(ctx.get('x-late-user'))
        ctx.body = { stock, identified }
      })
    }),
  )
}

/** The downstream traced service, in the other framework: GET /stock/:id with a child span. */
async function startDownstream(framework: Framework): Promise<RunningService> {
  if (framework === 'express5') {
    return services.add(
      await startExpress('stock', (app) => {
        app.get('/stock/:id', async (req, res) => {
          await childWork(tracer(), 'count stock')
          res.json({ id: req.params.id, count: 3 })
        })
      }),
    )
  }
  return services.add(
    await startKoa('stock', (_app, router) => {
      router.get('/stock/:id', async (ctx) => {
        await childWork(tracer(), 'count stock')
        ctx.body = { id: ctx.params.id, count: 3 }
      })
    }),
  )
}

async function get(service: RunningService, path: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${service.url}${path}`, { headers })
  expect(response.status).toBe(200)
  const body: unknown = await response.json()
  await services.idle()
  return body
}

const names = (spans: readonly ReadableSpan[]) => spans.map((span) => span.name).sort()
const otValue = (span: ReadableSpan) => span.spanContext().traceState?.get('ot')

describe.each([
  ['express5', 'koa3'],
  ['koa3', 'express5'],
] as const)('deferred sampling in %s (downstream: %s)', (framework, downstreamFramework) => {
  let decider: RunningService
  let downstream: RunningService
  beforeEach(async () => {
    downstream = await startDownstream(downstreamFramework)
    decider = await startDecider(framework, downstream)
  })

  describe('a user identified after an auth middleware', () => {
    it("alice's request is kept: every span exported with the sampled flag and th:0", async () => {
      await get(decider, '/orders/1', { 'x-auth-user': 'alice' })
      const spans = tracing.memory.getFinishedSpans()
      expect(names(spans)).toEqual(['GET /orders/:id', 'load order'])
      expect(spans.every(isSampled)).toBe(true)
      const server = serverSpan(spans, decider, '/orders/:id')!
      expect(server.attributes).toMatchObject({ 'user.id': 'alice', 'sampling.adjusted_count': 1 })
      expect(spans.map(otValue)).toEqual(['th:0', 'th:0'])
      // The child span belongs to the server span's trace, under it.
      const child = spans.find((span) => span.name === 'load order')!
      expect(child.spanContext().traceId).toBe(server.spanContext().traceId)
      expect(child.parentSpanContext!.spanId).toBe(server.spanContext().spanId)
      expect(getSamplingStats()).toEqual({
        total: 1,
        sampled: 1,
        rate: 1,
        byReason: { user: 1 },
        decidedEarly: 0,
        ...NO_UPGRADES,
      })
    })

    it("other users' requests and anonymous ones export nothing", async () => {
      await get(decider, '/orders/2', { 'x-auth-user': 'bob' })
      await get(decider, '/orders/3')
      expect(tracing.memory.getFinishedSpans()).toEqual([])
      expect(getSamplingStats()).toEqual({
        total: 2,
        sampled: 0,
        rate: 0,
        byReason: { ratio: 2 },
        decidedEarly: 0,
        ...NO_UPGRADES,
      })
    })
  })

  describe('a rule on http.route', () => {
    it('keeps /reports/:id, served by a nested router, with its full route', async () => {
      await get(decider, '/reports/42')
      const spans = tracing.memory.getFinishedSpans()
      expect(names(spans)).toEqual(['GET /reports/:id', 'render report'])
      expect(spans.every(isSampled)).toBe(true)
      expect(serverSpan(spans, decider, '/reports/:id')!.attributes['sampling.adjusted_count']).toBe(1)
      expect(getSamplingStats()).toMatchObject({ total: 1, sampled: 1, byReason: { rule: 1 } })
    })

    it('drops other routes, the same router mounted at /api/reports included', async () => {
      await get(decider, '/orders/42')
      await get(decider, '/api/reports/42')
      expect(tracing.memory.getFinishedSpans()).toEqual([])
      expect(getSamplingStats()).toMatchObject({ total: 2, sampled: 0, byReason: { ratio: 2 } })
    })
  })

  describe('an outgoing call before the decision forces it', () => {
    it('kept by the route rule: downstream sees the sampled flag and its spans are kept too', async () => {
      await get(decider, '/reports/5?call=1')
      const spans = tracing.memory.getFinishedSpans()
      const upstream = serverSpan(spans, decider, '/reports/:id')!
      const [client] = clientSpansTo(spans, downstream)
      const below = serverSpan(spans, downstream, '/stock/:id')!
      const traceId = upstream.spanContext().traceId

      const received = parseTraceparentHeader(downstream.received[0]!.headers.traceparent)
      expect(received).toMatchObject({ traceId, parentId: client!.spanContext().spanId, sampled: true })
      expect(downstream.received[0]!.headers.tracestate).toBe('ot=th:0')
      expect(names(spans)).toEqual([
        'GET',
        'GET /reports/:id',
        'GET /stock/:id',
        'count stock',
        'render report',
      ])
      expect(spans.every(isSampled)).toBe(true)
      expect(spans.every((span) => span.spanContext().traceId === traceId)).toBe(true)
      expect(below.parentSpanContext!.spanId).toBe(client!.spanContext().spanId)
      expect(below.attributes['sampling.adjusted_count']).toBe(1)
      expect(getSamplingStats()).toEqual({
        total: 2,
        sampled: 2,
        rate: 1,
        byReason: { rule: 1, parent: 1 },
        decidedEarly: 0,
        ...NO_UPGRADES,
      })
    })

    it('kept by a user identified before the call: downstream is sampled', async () => {
      await get(decider, '/checkout/6', { 'x-auth-user': 'alice' })
      const spans = tracing.memory.getFinishedSpans()
      expect(parseTraceparentHeader(downstream.received[0]!.headers.traceparent)!.sampled).toBe(true)
      expect(names(spans)).toEqual(['GET', 'GET /checkout/:id', 'GET /stock/:id', 'count stock'])
      expect(spans.every(isSampled)).toBe(true)
      expect(getSamplingStats()).toMatchObject({ total: 2, sampled: 2, byReason: { user: 1, parent: 1 } })
    })

    it('dropped: downstream sees the flag off and exports nothing; a user identified after the call changes nothing', async () => {
      const body = await get(decider, '/checkout/7', { 'x-late-user': 'alice' })
      expect(body).toEqual({ stock: { id: '7', count: 3 }, identified: true })
      const received = parseTraceparentHeader(downstream.received[0]!.headers.traceparent)!
      expect(received.sampled).toBe(false)
      expect(received.traceId).toMatch(/^[0-9a-f]{32}$/)
      expect(downstream.received[0]!.headers.tracestate).toBeUndefined()
      expect(tracing.memory.getFinishedSpans()).toEqual([])
      expect(getSamplingStats()).toEqual({
        total: 2,
        sampled: 0,
        rate: 0,
        byReason: { ratio: 1, parent: 1 },
        decidedEarly: 0,
        ...NO_UPGRADES,
      })
    })

    it('each request decides on its own: a kept and a dropped request side by side', async () => {
      await Promise.all([
        get(decider, '/checkout/8', { 'x-auth-user': 'alice' }),
        get(decider, '/checkout/9', { 'x-auth-user': 'bob' }),
      ])
      const spans = tracing.memory.getFinishedSpans()
      const traceIds = new Set(spans.map((span) => span.spanContext().traceId))
      expect(traceIds.size).toBe(1)
      expect(spans.filter((span) => span.kind === SERVER)).toHaveLength(2)
      expect(spans.filter((span) => span.kind === CLIENT)).toHaveLength(1)
      expect(serverSpan(spans, decider, '/checkout/:id')!.attributes['user.id']).toBe('alice')
      const flags = downstream.received.map((r) => parseTraceparentHeader(r.headers.traceparent)!)
      const kept = flags.find((f) => f.sampled)!
      expect(kept.traceId).toBe([...traceIds][0])
      expect(flags.filter((f) => !f.sampled)).toHaveLength(1)
      expect(getSamplingStats()).toMatchObject({
        total: 4,
        sampled: 2,
        byReason: { user: 1, ratio: 1, parent: 2 },
      })
    })
  })
})
