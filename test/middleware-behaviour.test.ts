/**
 * Correlation, trust, errors, aborted clients, bad input and the optional features, each checked on
 * real Express 4, Express 5, Koa 2 and Koa 3 apps.
 */
import { SpanStatusCode } from '@opentelemetry/api'
import { createHmac } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import request from 'supertest'
import {
  buildApp,
  buildAppWith,
  FRAMEWORKS,
  headerOf,
  serverSpans,
  useMiddlewareTracing,
  waitForSpans,
  type Framework,
} from './support/middleware-apps'
import { listen, type RequestHandler } from './support/servers'

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c'
const PARENT = `00-${TRACE_ID}-b7ad6b7169203331-01`
const HMAC_KEY = 'a-test-key-of-32-bytes-length!!!'

const tracing = useMiddlewareTracing()

async function oneServerSpan() {
  const spans = await waitForSpans(tracing, (all) => serverSpans(all).length === 1)
  const [server] = serverSpans(spans)
  expect(server).toBeDefined()
  return { server, spans }
}

describe.each(FRAMEWORKS)('%s', (framework: Framework) => {
  test('session: ID from the header, operation numbered 1, 2, 3 and named after the span', async () => {
    const app = buildApp(framework)
    for (const expected of [1, 2, 3]) {
      tracing.reset()
      await request(app).get('/async/1').set('x-session-id', 's:abc.DEF-123').expect(200)
      const { server, spans } = await oneServerSpan()
      expect(server.attributes['session.id']).toBe('s:abc.DEF-123')
      expect(server.attributes['session.operation_number']).toBe(expected)
      expect(server.attributes['session.operation']).toBe('GET /async/:id')
      const child = spans.find((span) => span.name === 'load user')!
      expect(child.attributes['session.id']).toBe('s:abc.DEF-123')
      expect(child.attributes['session.operation_number']).toBe(expected)
      expect(child.attributes['session.operation']).toBe('GET /async/:id')
    }
  })

  test('session: twice as many sessions as the bound evicts the least recently used', async () => {
    const app = buildApp(framework, { session: { maxSessions: 10 } })
    for (let i = 0; i < 20; i++)
      await request(app).get('/users/1').set('x-session-id', `session-${i}`).expect(200)
    tracing.reset()
    // session-0 was evicted: it starts over; session-19 is still counted.
    await request(app).get('/users/1').set('x-session-id', 'session-0').expect(200)
    await request(app).get('/users/1').set('x-session-id', 'session-19').expect(200)
    const spans = serverSpans(await waitForSpans(tracing, (all) => serverSpans(all).length === 2))
    const numbers = Object.fromEntries(
      spans.map((span) => [span.attributes['session.id'], span.attributes['session.operation_number']]),
    )
    expect(numbers).toEqual({ 'session-0': 1, 'session-19': 2 })
  })

  test('session.operation names the operation from the request, and routing does not rename it', async () => {
    const app = buildApp(framework, {
      session: { operation: (req) => headerOf(req, 'x-operation') },
    })
    await request(app)
      .get('/async/1')
      .set('x-session-id', 'op-1')
      .set('x-operation', 'LoadProfile')
      .expect(200)
    await request(app)
      .get('/users/1')
      .set('x-session-id', 'op-1')
      .set('x-operation', 'x'.repeat(300))
      .expect(200)
    const spans = serverSpans(await waitForSpans(tracing, (all) => serverSpans(all).length === 2))
    expect(spans.map((span) => span.attributes['session.operation'])).toEqual([
      'LoadProfile',
      'GET /users/:id',
    ])
    expect(spans.map((span) => span.attributes['session.operation_number'])).toEqual([1, 2])
  })

  test('session from a cookie, recorded as an HMAC with hashIds', async () => {
    const app = buildApp(framework, {
      session: { cookie: 'sid' },
      hashIds: { key: HMAC_KEY },
      user: () => 'ada@example.com',
    })
    await request(app)
      .get('/users/1')
      .set('cookie', 'theme=dark; sid=s%3Araw-session.sig; other=1')
      .expect(200)
    const { server } = await oneServerSpan()
    const hmac = (value: string) => createHmac('sha256', HMAC_KEY).update(value).digest('hex')
    expect(server.attributes['session.id']).toBe(hmac('s:raw-session.sig'))
    expect(server.attributes['user.id']).toBe(hmac('ada@example.com'))
    expect(JSON.stringify(server.attributes)).not.toContain('raw-session')
    expect(JSON.stringify(server.attributes)).not.toContain('ada@')
  })

  test('user: from the option at start, and identifyUser() reaches open and later spans', async () => {
    const app = buildApp(framework, { user: (req) => headerOf(req, 'x-user') })
    await request(app).get('/async/1').set('x-user', 'grace').expect(200)
    const first = await oneServerSpan()
    expect(first.server.attributes['user.id']).toBe('grace')
    expect(first.spans.find((span) => span.name === 'load user')!.attributes['user.id']).toBe('grace')

    tracing.reset()
    await request(app).get('/late-user').expect(200)
    const { server, spans } = await oneServerSpan()
    expect(server.attributes['user.id']).toBe('late-user')
    expect(spans.find((span) => span.name === 'opened before identify')!.attributes['user.id']).toBe(
      'late-user',
    )
    expect(spans.find((span) => span.name === 'after identify')!.attributes['user.id']).toBe('late-user')
  })

  test('user: invalid IDs are ignored', async () => {
    const app = buildApp(framework, { user: () => 'evil\nuser' }, { auth: true })
    await request(app).get('/users/1').set('x-test-auth', 'x'.repeat(300)).expect(200)
    const { server } = await oneServerSpan()
    expect(server.attributes['user.id']).toBeUndefined()
  })

  test('trustIncoming false: a new root trace linked to the caller, whose tracestate is dropped', async () => {
    const app = buildApp(framework, { trustIncoming: false })
    await request(app)
      .get('/users/1')
      .set('traceparent', PARENT)
      .set('tracestate', 'vendor=secret')
      .expect(200)
    const { server } = await oneServerSpan()
    expect(server.spanContext().traceId).not.toBe(TRACE_ID)
    expect(server.parentSpanContext).toBeUndefined()
    expect(server.links).toHaveLength(1)
    expect(server.links[0].context.traceId).toBe(TRACE_ID)
    expect(server.links[0].context.spanId).toBe('b7ad6b7169203331')
    expect(server.links[0].context.traceState).toBeUndefined()
    expect(server.spanContext().traceState).toBeUndefined()
  })

  test('trustIncoming as a function; one that throws counts as untrusted', async () => {
    const trusting = buildApp(framework, {
      trustIncoming: (req) => headerOf(req, 'x-internal') === '1',
    })
    await request(trusting).get('/users/1').set('traceparent', PARENT).set('x-internal', '1').expect(200)
    expect((await oneServerSpan()).server.spanContext().traceId).toBe(TRACE_ID)
    tracing.reset()
    const throwing = buildApp(framework, {
      trustIncoming: () => {
        throw new Error('policy bug')
      },
    })
    await request(throwing).get('/users/1').set('traceparent', PARENT).expect(200)
    expect((await oneServerSpan()).server.spanContext().traceId).not.toBe(TRACE_ID)
  })

  test('ignore: no span and no headers for ignored paths', async () => {
    const app = buildApp(framework, { ignore: ['/users/health', /^\/async\//] })
    const response = await request(app).get('/users/health').expect(200)
    await request(app).get('/async/2').expect(200)
    await request(app).get('/users/3').expect(200)
    expect(response.headers['x-request-id']).toBeUndefined()
    const spans = serverSpans(await waitForSpans(tracing, (all) => serverSpans(all).length >= 1))
    expect(spans.map((span) => span.attributes['url.path'])).toEqual(['/users/3'])
  })

  test('a thrown error reaches the app untouched and is recorded once', async () => {
    const { handler, appErrors } = buildAppWith(framework)
    await request(handler).get('/fail').expect(500)
    const { server } = await oneServerSpan()
    expect(appErrors).toHaveLength(1)
    expect((appErrors[0] as Error).message).toBe('boom')
    expect(server.status.code).toBe(SpanStatusCode.ERROR)
    expect(server.attributes['error.type']).toBe('Error')
    const exceptions = server.events.filter((event) => event.name === 'exception')
    expect(exceptions).toHaveLength(1)
    expect(exceptions[0].attributes?.['exception.message']).toBe('boom')
    // The request ID survives the framework's error response.
    const again = await request(handler).get('/fail').set('x-request-id', 'err-1')
    expect(again.headers['x-request-id']).toBe('err-1')
  })

  test('a client that disconnects early ends the span with one aborted event', async () => {
    const { port, close } = await listen(buildApp(framework) as RequestHandler)
    try {
      await new Promise<void>((resolve) => {
        const call = httpRequest({ host: '127.0.0.1', port, path: '/slow' })
        call.on('error', () => resolve())
        call.end()
        setTimeout(() => {
          call.destroy()
          resolve()
        }, 50)
      })
      const spans = serverSpans(await waitForSpans(tracing, (all) => serverSpans(all).length === 1))
      expect(spans).toHaveLength(1)
      expect(spans[0].events.filter((event) => event.name === 'aborted')).toHaveLength(1)
      expect(spans[0].attributes['http.response.status_code']).toBeUndefined()
    } finally {
      await close()
    }
  })

  test('captureHeaders records listed headers and redacts secrets', async () => {
    const app = buildApp(framework, {
      captureHeaders: {
        request: ['x-tenant', 'authorization', 'x-private'],
        response: ['content-type'],
        redact: ['x-private'],
      },
    })
    await request(app)
      .get('/users/1')
      .set('x-tenant', 'acme')
      .set('authorization', 'Bearer top-secret')
      .set('x-private', 'hidden')
      .set('x-other', 'not listed')
      .expect(200)
    const { server } = await oneServerSpan()
    expect(server.attributes['http.request.header.x-tenant']).toEqual(['acme'])
    expect(server.attributes['http.request.header.authorization']).toEqual(['[REDACTED]'])
    expect(server.attributes['http.request.header.x-private']).toEqual(['[REDACTED]'])
    expect(server.attributes['http.request.header.x-other']).toBeUndefined()
    expect(String(server.attributes['http.response.header.content-type'])).toMatch(/^application\/json/)
  })

  test('traceresponse and Access-Control-Expose-Headers when asked', async () => {
    const app = buildApp(framework, { traceResponse: true, exposeHeaders: true })
    const response = await request(app).get('/users/1').set('traceparent', PARENT).expect(200)
    const { server } = await oneServerSpan()
    expect(response.headers['traceresponse']).toBe(`00-${TRACE_ID}-${server.spanContext().spanId}-01`)
    expect(response.headers['access-control-expose-headers']).toBe('x-request-id, traceresponse')
    // Also on error responses, whose handlers may reset headers.
    const failed = await request(app).get('/fail').expect(500)
    // A trace started here: sampled, and the SDK's trace ID is random ("When a participant starts or
    // restarts a trace ... the requirements for this flag are the same as ... in the traceparent").
    expect(failed.headers['traceresponse']).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-03$/)
    expect(failed.headers['access-control-expose-headers']).toBe('x-request-id, traceresponse')
  })

  test('bad input never breaks a request: repeated, oversized and hostile headers', async () => {
    const app = buildApp(framework, { session: { cookie: 'sid' } })
    const hostile: Array<[string, string]> = [
      ['traceparent', `00-${TRACE_ID}-b7ad6b7169203331-01, 00-${TRACE_ID}-b7ad6b7169203332-01`],
      ['x-request-id', 'a'.repeat(129)],
      ['cookie', `sid=${'%'.repeat(300)}; sid=second`],
      ['host', 'bad host name:99999'],
      ['x-forwarded-for', '1.2.3.4, not-an-ip'],
    ]
    let call = request(app).get('/users/1')
    for (const [name, value] of hostile) call = call.set(name, value)
    const response = await call.expect(200)
    expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/)
    const { server } = await oneServerSpan()
    expect(server.spanContext().traceId).not.toBe(TRACE_ID)
    expect(server.attributes['session.id']).toBeUndefined()
    expect(server.attributes['server.address']).toBeUndefined()
    expect(String(server.attributes['client.address'])).toMatch(/127\.0\.0\.1$/)
  })
})

test('unknown methods are recorded as _OTHER and the span is named HTTP', async () => {
  await request(buildApp('express5')).search('/users/1').expect(404)
  const { server } = await oneServerSpan()
  expect(server.name).toBe('HTTP')
  expect(server.attributes['http.request.method']).toBe('_OTHER')
  expect(server.attributes['http.request.method_original']).toBe('SEARCH')
})

test('client.address follows the app trust of its proxy (Express trust proxy, Koa app.proxy)', async () => {
  const express5 = require('express5') as typeof import('express')
  const { traceweave } = require('@traceweave/express') as typeof import('@traceweave/express')
  const app = express5()
  app.set('trust proxy', 'loopback')
  app.use(traceweave())
  app.get('/ip', (req, res) => {
    res.json({ ip: req.ip })
  })
  const response = await request(app).get('/ip').set('x-forwarded-for', '203.0.113.9, 10.0.0.1').expect(200)
  const { server } = await oneServerSpan()
  // 10.0.0.1 is not loopback, so Express stops there, and so do we.
  expect(response.body.ip).toBe('10.0.0.1')
  expect(server.attributes['client.address']).toBe('10.0.0.1')

  tracing.reset()
  const Koa3 = require('koa3') as typeof import('koa')
  const { traceweave: koaTraceweave } = require('@traceweave/koa') as typeof import('@traceweave/koa')
  const koa = new Koa3({ proxy: true })
  koa.use(koaTraceweave())
  koa.use((ctx) => {
    ctx.body = { ip: ctx.ip }
  })
  const koaResponse = await request(koa.callback())
    .get('/')
    .set('x-forwarded-for', '203.0.113.9, 10.0.0.1')
    .expect(200)
  expect(koaResponse.body.ip).toBe('203.0.113.9')
  expect((await oneServerSpan()).server.attributes['client.address']).toBe('203.0.113.9')
})
