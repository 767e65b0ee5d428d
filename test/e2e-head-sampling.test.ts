/**
 * Issue 7, decisions at request start (the default `decide: 'start'`) with the middlewares, in
 * Express 5 and Koa 3: the middleware's `user` option keeps a listed user's requests from the first
 * span on, a `pathPrefix` rule drops health checks, a trusted sampled caller decides for us at ratio 0,
 * and the middleware's own `trustIncoming: false` turns a forged sampled caller into a link.
 */
import { trace } from '@opentelemetry/api'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { getSamplingStats, resetSamplingStats } from '@traceweave/core'
import {
  ServiceSet,
  childWork,
  isSampled,
  startExpress,
  startKoa,
  type RunningService,
} from './support/services'
import { useMemoryTracing } from './support/memory-tracing'
import { NO_UPGRADES } from './support/sampling'

const tracing = useMemoryTracing({
  sampling: { ratio: 0, users: ['alice'], rules: [{ pathPrefix: '/health', sample: 0 }] },
})
const services = new ServiceSet()

afterEach(() => services.closeAll())

const tracer = () => trace.getTracer('e2e-app')

const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'
const CALLER_SPAN = '00f067aa0ba902b7'
const caller = (flags: '00' | '01') => `00-${CALLER_TRACE}-${CALLER_SPAN}-${flags}`

/** What a handler reports about the span it runs in: decided at start, so the flag is already there. */
function activeFlags(): { sampled: boolean; traceId: string | undefined } {
  const spanContext = trace.getActiveSpan()?.spanContext()
  return { sampled: ((spanContext?.traceFlags ?? 0) & 1) === 1, traceId: spanContext?.traceId }
}

type Framework = 'express5' | 'koa3'

/** GET /work/:id (a child span), GET /health and /health/db, GET /healthy. */
async function startApp(
  framework: Framework,
  options: Record<string, unknown> = {},
): Promise<RunningService> {
  if (framework === 'express5') {
    return services.add(
      await startExpress(
        'app',
        (app) => {
          app.get('/work/:id', async (_req, res) => {
            const flags = activeFlags()
            await childWork(tracer(), 'do work')
            res.json(flags)
          })
          for (const path of ['/health', '/health/db', '/healthy'])
            app.get(path, (_req, res) => void res.json(activeFlags()))
        },
        {
          user: (req: { headers: Record<string, unknown> }) => req.headers['x-user'] as string | undefined,
          ...options,
        },
      ),
    )
  }
  return services.add(
    await startKoa(
      'app',
      (_app, router) => {
        router.get('/work/:id', async (ctx) => {
          const flags = activeFlags()
          await childWork(tracer(), 'do work')
          ctx.body = flags
        })
        for (const path of ['/health', '/health/db', '/healthy'])
          router.get(path, (ctx) => (ctx.body = activeFlags()))
      },
      { user: (ctx: { get(name: string): string }) => ctx.get('x-user') || undefined, ...options },
    ),
  )
}

async function get(service: RunningService, path: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${service.url}${path}`, { headers })
  expect(response.status).toBe(200)
  const body = (await response.json()) as ReturnType<typeof activeFlags>
  await services.idle()
  return body
}

const names = (spans: readonly ReadableSpan[]) => spans.map((span) => span.name).sort()

describe.each(['express5', 'koa3'] as const)('head sampling with the %s middleware', (framework) => {
  it("the user option keeps alice's requests from request start; bob's export nothing", async () => {
    const app = await startApp(framework)
    const alice = await get(app, '/work/1', { 'x-user': 'alice' })
    const bob = await get(app, '/work/2', { 'x-user': 'bob' })
    // Decided when the server span started: the handler already runs in a sampled span.
    expect(alice.sampled).toBe(true)
    expect(bob.sampled).toBe(false)
    const spans = tracing.memory.getFinishedSpans()
    expect(names(spans)).toEqual(['GET /work/:id', 'do work'])
    expect(spans.every(isSampled)).toBe(true)
    expect(spans.every((span) => span.spanContext().traceId === alice.traceId)).toBe(true)
    const server = spans.find((span) => span.name === 'GET /work/:id')!
    expect(server.attributes).toMatchObject({ 'user.id': 'alice', 'sampling.adjusted_count': 1 })
    expect(server.spanContext().traceState?.get('ot')).toBe('th:0')
    expect(getSamplingStats()).toEqual({
      total: 2,
      sampled: 1,
      rate: 0.5,
      byReason: { user: 1, ratio: 1 },
      decidedEarly: 0,
      ...NO_UPGRADES,
    })
  })

  it('a pathPrefix rule with sample 0 drops health checks; /healthy is not under /health', async () => {
    const app = await startApp(framework)
    await get(app, '/health')
    await get(app, '/health/db')
    await get(app, '/healthy')
    expect(tracing.memory.getFinishedSpans()).toEqual([])
    expect(getSamplingStats()).toEqual({
      total: 3,
      sampled: 0,
      rate: 0,
      byReason: { rule: 2, ratio: 1 },
      decidedEarly: 0,
      ...NO_UPGRADES,
    })
  })

  it("a trusted sampled caller's traceparent is kept at ratio 0: the parent decides", async () => {
    const app = await startApp(framework)
    const seen = await get(app, '/work/3', { traceparent: caller('01') })
    expect(seen).toEqual({ sampled: true, traceId: CALLER_TRACE })
    const spans = tracing.memory.getFinishedSpans()
    expect(names(spans)).toEqual(['GET /work/:id', 'do work'])
    const server = spans.find((span) => span.name === 'GET /work/:id')!
    expect(server.spanContext().traceId).toBe(CALLER_TRACE)
    expect(server.parentSpanContext).toMatchObject({
      traceId: CALLER_TRACE,
      spanId: CALLER_SPAN,
      isRemote: true,
    })
    expect(server.links).toEqual([])
    // The caller sent no th, so the probability is unknown: no adjusted count is guessed.
    expect(server.attributes['sampling.adjusted_count']).toBeUndefined()
    expect(spans.every(isSampled)).toBe(true)
    expect(getSamplingStats()).toMatchObject({ total: 1, sampled: 1, byReason: { parent: 1 } })
  })

  it('a trusted caller that dropped the trace drops it here too, even for a listed user', async () => {
    const app = await startApp(framework)
    const seen = await get(app, '/work/4', { traceparent: caller('00'), 'x-user': 'alice' })
    expect(seen).toEqual({ sampled: false, traceId: CALLER_TRACE })
    expect(tracing.memory.getFinishedSpans()).toEqual([])
    expect(getSamplingStats()).toMatchObject({ total: 1, sampled: 0, byReason: { parent: 1 } })
  })

  it('the middleware option trustIncoming: false: a forged sampled traceparent does not force sampling, and is linked', async () => {
    const app = await startApp(framework, { trustIncoming: false })
    const bob = await get(app, '/work/5', { traceparent: caller('01'), 'x-user': 'bob' })
    expect(bob.sampled).toBe(false)
    expect(bob.traceId).not.toBe(CALLER_TRACE)
    expect(tracing.memory.getFinishedSpans()).toEqual([])
    expect(getSamplingStats()).toMatchObject({ total: 1, sampled: 0, byReason: { ratio: 1 } })

    resetSamplingStats()
    const alice = await get(app, '/work/6', { traceparent: caller('01'), 'x-user': 'alice' })
    expect(alice.sampled).toBe(true)
    const server = tracing.memory.getFinishedSpans().find((span) => span.name === 'GET /work/:id')!
    expect(server.spanContext().traceId).not.toBe(CALLER_TRACE)
    expect(server.parentSpanContext).toBeUndefined()
    expect(server.links.map((link) => [link.context.traceId, link.context.spanId])).toEqual([
      [CALLER_TRACE, CALLER_SPAN],
    ])
    expect(getSamplingStats()).toMatchObject({ total: 1, sampled: 1, byReason: { user: 1 } })
  })
})
