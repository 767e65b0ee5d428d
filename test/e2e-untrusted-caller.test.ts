/**
 * Issue 7 with `setupTracing({ propagation: { trustIncoming: false } })`, in Express 5 and Koa 3: the
 * trust policy sits in the propagator, so a forged sampled `traceparent` cannot force sampling at
 * ratio 0 (this service decides, as a trace root), and the server span links to the caller instead of
 * continuing its trace. The middlewares keep their default `trustIncoming`.
 */
import { trace } from '@opentelemetry/api'
import { getSamplingStats } from '@traceweave/core'
import { ServiceSet, isSampled, startExpress, startKoa, type RunningService } from './support/services'
import { useMemoryTracing } from './support/memory-tracing'
import { NO_UPGRADES } from './support/sampling'

const tracing = useMemoryTracing({
  sampling: { ratio: 0, users: ['alice'] },
  propagation: { trustIncoming: false },
})
const services = new ServiceSet()

afterEach(() => services.closeAll())

const FORGED_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'
const FORGED_SPAN = '00f067aa0ba902b7'
const FORGED = `00-${FORGED_TRACE}-${FORGED_SPAN}-01`

function activeFlags() {
  const spanContext = trace.getActiveSpan()?.spanContext()
  return { sampled: ((spanContext?.traceFlags ?? 0) & 1) === 1, traceId: spanContext?.traceId }
}

async function startApp(framework: 'express5' | 'koa3'): Promise<RunningService> {
  if (framework === 'express5') {
    return services.add(
      await startExpress(
        'app',
        (app) => {
          app.get('/work/:id', (_req, res) => void res.json(activeFlags()))
        },
        { user: (req: { headers: Record<string, unknown> }) => req.headers['x-user'] as string | undefined },
      ),
    )
  }
  return services.add(
    await startKoa(
      'app',
      (_app, router) => {
        router.get('/work/:id', (ctx) => (ctx.body = activeFlags()))
      },
      { user: (ctx: { get(name: string): string }) => ctx.get('x-user') || undefined },
    ),
  )
}

async function get(service: RunningService, path: string, headers: Record<string, string>) {
  const response = await fetch(`${service.url}${path}`, { headers })
  expect(response.status).toBe(200)
  const body = (await response.json()) as ReturnType<typeof activeFlags>
  await services.idle()
  return body
}

describe.each(['express5', 'koa3'] as const)('propagation.trustIncoming: false with %s', (framework) => {
  it('a forged sampled traceparent does not force sampling at ratio 0', async () => {
    const app = await startApp(framework)
    const seen = await get(app, '/work/1', { traceparent: FORGED, 'x-user': 'bob' })
    expect(seen.sampled).toBe(false)
    expect(seen.traceId).toMatch(/^[0-9a-f]{32}$/)
    expect(seen.traceId).not.toBe(FORGED_TRACE)
    expect(tracing.memory.getFinishedSpans()).toEqual([])
    // Decided here as a root, by ratio: not a `parent` decision.
    expect(getSamplingStats()).toEqual({
      total: 1,
      sampled: 0,
      rate: 0,
      byReason: { ratio: 1 },
      decidedEarly: 0,
      ...NO_UPGRADES,
    })
  })

  it("a kept request (alice) starts its own trace and links to the forged caller's span", async () => {
    const app = await startApp(framework)
    const seen = await get(app, '/work/2', { traceparent: FORGED, 'x-user': 'alice' })
    expect(seen.sampled).toBe(true)
    const [server] = tracing.memory.getFinishedSpans()
    expect(server!.name).toBe('GET /work/:id')
    expect(isSampled(server!)).toBe(true)
    expect(server!.spanContext().traceId).toBe(seen.traceId)
    expect(server!.spanContext().traceId).not.toBe(FORGED_TRACE)
    expect(server!.parentSpanContext).toBeUndefined()
    expect(server!.links.map((link) => [link.context.traceId, link.context.spanId])).toEqual([
      [FORGED_TRACE, FORGED_SPAN],
    ])
    expect(getSamplingStats()).toMatchObject({ total: 1, sampled: 1, byReason: { user: 1 } })
  })
})
