/**
 * `traceresponse` and the Server-Timing `trace` metric carry the request's final decision and the
 * random bit (W3C Trace Context, "Trace Context Server Timing Metric Format"): a participant that
 * continues a trace "MUST set the random-trace-id flag ... to the same value that was found in the
 * incoming traceparent header"; "If the server receives a 0 for the sampled flag on an incoming
 * request, it may still decide to record a trace. In this case it SHOULD return a sampled flag 1".
 * Real Express 5 and Koa 3 apps, deferred decisions with route and outcome rules.
 */
import { getSamplingStats } from '@traceweave/core'
import request from 'supertest'
import { KoaRouter, express5, Koa3 } from './support/services'
import { useMemoryTracing } from './support/memory-tracing'
import { traceweave as expressTraceweave } from '@traceweave/express'
import { traceweave as koaTraceweave } from '@traceweave/koa'

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c'
const parent = (flags: string) => `00-${TRACE_ID}-b7ad6b7169203331-${flags}`

const tracing = useMemoryTracing({
  sampling: {
    decide: 'deferred',
    ratio: 0,
    rules: [
      { route: '/kept/:id', sample: 1 },
      { status: 'error', sample: 1 },
    ],
  },
})

const options = { traceResponse: true, serverTiming: true }

function expressApp() {
  const app = express5()
  app.use(expressTraceweave(options))
  app.get('/kept/:id', (_req, res) => res.json({ kept: true }))
  app.get('/plain', (_req, res) => {
    res.setHeader('server-timing', 'db;dur=12')
    res.json({ plain: true })
  })
  app.get('/fail', (_req, res) => res.status(500).json({ failed: true }))
  return app
}

function koaApp() {
  const app = new Koa3()
  app.silent = true
  app.use(koaTraceweave(options))
  const router = new KoaRouter()
  router.get('/kept/:id', (ctx) => {
    ctx.body = { kept: true }
  })
  router.get('/plain', (ctx) => {
    ctx.set('server-timing', 'db;dur=12')
    ctx.body = { plain: true }
  })
  router.get('/fail', () => {
    throw new Error('boom')
  })
  app.use(router.routes())
  return app.callback()
}

const flagsOf = (value: unknown) => String(value).slice(-2)

describe.each([
  ['express5', expressApp],
  ['koa3', koaApp],
] as const)('%s', (_name, build) => {
  test('an incoming -03 comes back -03, -01 comes back -01: the random bit is the caller’s', async () => {
    const app = build()
    const random = await request(app).get('/plain').set('traceparent', parent('03')).expect(200)
    expect(random.headers.traceresponse).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-03$`))
    const notRandom = await request(app).get('/plain').set('traceparent', parent('01')).expect(200)
    expect(flagsOf(notRandom.headers.traceresponse)).toBe('01')
  })

  test('a deferred decision that keeps the trace says so (-03, never -00)', async () => {
    const app = build()
    const kept = await request(app).get('/kept/7').expect(200)
    expect(flagsOf(kept.headers.traceresponse)).toBe('03')
    expect(tracing.memory.getFinishedSpans()).toHaveLength(1)
    const dropped = await request(app).get('/plain').expect(200)
    expect(flagsOf(dropped.headers.traceresponse)).toBe('02') // not kept, SDK trace ID: random
  })

  test("a parent's unsampled -02 answered with a 500 is upgraded: the response says -03", async () => {
    const app = build()
    const response = await request(app).get('/fail').set('traceparent', parent('02')).expect(500)
    expect(response.headers.traceresponse).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-03$`))
    const [server] = tracing.memory.getFinishedSpans()
    expect(server!.attributes['sampling.upgraded']).toBe(true)
    expect(getSamplingStats()).toMatchObject({ total: 1, sampled: 1, upgradedByReason: { error: 1 } })
  })

  test('Server-Timing carries the same value as the trace metric, after the app’s own metrics', async () => {
    const app = build()
    const response = await request(app).get('/plain').set('traceparent', parent('01')).expect(200)
    expect(response.headers['server-timing']).toBe(`db;dur=12, trace;desc=${response.headers.traceresponse}`)
  })
})
