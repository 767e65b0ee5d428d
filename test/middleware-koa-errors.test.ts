/** Koa's error handler clears every response header: the request ID must survive it, for 4xx and 5xx. */
import request from 'supertest'
import { traceweave } from '@traceweave/koa'
import { useTestTracing } from './support/tracing'

const Koa3 = require('koa3') as typeof import('koa')
const Koa2 = require('koa2') as typeof import('koa')

const tracing = useTestTracing()

describe.each([
  ['koa2', Koa2],
  ['koa3', Koa3],
])('%s', (_name, Koa) => {
  const app = new Koa()
  app.silent = true
  app.use(traceweave())
  app.use((ctx) => {
    if (ctx.path === '/missing') ctx.throw(404, 'no such thing')
    if (ctx.path === '/boom') throw new Error('boom')
    ctx.body = 'ok'
  })

  it.each([
    ['/missing', 404],
    ['/boom', 500],
  ])('%s: the error response keeps the request ID', async (path, status) => {
    tracing.reset()
    const response = await request(app.callback()).get(path).set('x-request-id', 'req-42').expect(status)
    expect(response.headers['x-request-id']).toBe('req-42')
    // No CorrelationSpanProcessor is registered here: the server span gets the request ID anyway.
    expect(tracing.spans()[0]!.attributes['request.id']).toBe('req-42')
  })

  it('a 4xx thrown by ctx.throw is not recorded as an exception; a 5xx is', async () => {
    tracing.reset()
    await request(app.callback()).get('/missing').expect(404)
    await request(app.callback()).get('/boom').expect(500)
    const [missing, boom] = tracing.spans()
    expect(missing!.events).toHaveLength(0)
    expect(missing!.status.code).toBe(0)
    expect(boom!.events.map((event) => event.name)).toEqual(['exception'])
    expect(boom!.status.code).toBe(2)
  })
})
