/**
 * The request-ID policy (`requestId: { header, accept, generate, echo } | false`, `requestIdHeader` as
 * an alias) on Express 4, Express 5, Koa 2 and Koa 3, with real apps, and the traced clients
 * forwarding the ID under the header the request's middleware uses, to a real downstream server.
 */
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { traceAxios, traceFetch } from '@traceweave/client'
import { getRequestId, type TraceweaveOptions } from '@traceweave/core'
import { traceweave as expressTraceweave, type ExpressRequest } from '@traceweave/express'
import { traceweave as koaTraceweave, type KoaContext } from '@traceweave/koa'
import axios from 'axios'
import request from 'supertest'
import {
  buildApp,
  FRAMEWORKS,
  serverSpans,
  startMiddlewareTracing,
  waitForSpans,
  type Framework,
  type Handler,
} from './support/middleware-apps'
import { useDiagMessages } from './support/diag'
import { startRecordingService, type RunningService } from './support/services'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

const tracing = startMiddlewareTracing()
const messages = useDiagMessages()
afterEach(() => tracing.reset())
afterAll(() => tracing.shutdown())

async function serverSpan(): Promise<ReadableSpan> {
  const spans = await waitForSpans(tracing, (all) => serverSpans(all).length === 1)
  const [server] = serverSpans(spans)
  expect(server).toBeDefined()
  return server!
}

describe.each(FRAMEWORKS)('%s', (framework: Framework) => {
  test('by default a valid incoming ID is kept and echoed (today’s behaviour)', async () => {
    const response = await request(buildApp(framework))
      .get('/users/1')
      .set('x-request-id', 'req-default')
      .expect(200)
    expect(response.headers['x-request-id']).toBe('req-default')
    expect(response.body.requestId).toBe('req-default')
    expect((await serverSpan()).attributes['request.id']).toBe('req-default')
  })

  test('accept: false ignores a valid incoming ID and generates a new one', async () => {
    const app = buildApp(framework, { requestId: { accept: false } })
    const response = await request(app).get('/users/1').set('x-request-id', 'spoofed-by-caller').expect(200)
    const id = response.headers['x-request-id']
    expect(id).toMatch(UUID)
    expect(response.body.requestId).toBe(id)
    const server = await serverSpan()
    expect(server.attributes['request.id']).toBe(id)
    expect(JSON.stringify(server.attributes)).not.toContain('spoofed-by-caller')
  })

  test('accept and trustIncoming are independent: either can refuse the caller while the other accepts', async () => {
    const parent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
    const app = buildApp(framework, { requestId: { accept: false } })
    await request(app).get('/users/1').set('traceparent', parent).set('x-request-id', 'req-x').expect(200)
    const server = await serverSpan()
    expect(server.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c')
    expect(server.attributes['request.id']).toMatch(UUID)
    tracing.reset()
    // And the other way: an untrusted caller's trace is not continued, its valid ID still is kept.
    const untrusting = buildApp(framework, { trustIncoming: false })
    const kept = await request(untrusting)
      .get('/users/1')
      .set('traceparent', parent)
      .set('x-request-id', 'req-kept')
      .expect(200)
    expect(kept.headers['x-request-id']).toBe('req-kept')
    const fresh = await serverSpan()
    expect(fresh.spanContext().traceId).not.toBe('0af7651916cd43dd8448eb211c80319c')
    expect(fresh.attributes['request.id']).toBe('req-kept')
  })

  test('accept as a function gets the framework request and decides per request', async () => {
    const seen: unknown[] = []
    const accept = (req: ExpressRequest | KoaContext): boolean => {
      seen.push(req)
      return req.headers['x-internal'] === 'yes'
    }
    const app = buildApp(framework, { requestId: { accept } })
    const internal = await request(app)
      .get('/users/1')
      .set('x-internal', 'yes')
      .set('x-request-id', 'req-internal')
      .expect(200)
    expect(internal.headers['x-request-id']).toBe('req-internal')
    tracing.reset()
    const external = await request(app).get('/users/1').set('x-request-id', 'req-external').expect(200)
    expect(external.headers['x-request-id']).toMatch(UUID)
    expect((await serverSpan()).attributes['request.id']).toBe(external.headers['x-request-id'])
    // Express hands over `req`, Koa its `ctx`, as every other per-request callback.
    expect(seen).toHaveLength(2)
    const first = seen[0] as Partial<ExpressRequest & KoaContext>
    if (framework.startsWith('express')) expect(typeof first.get).toBe('function')
    else expect(first.request).toBeDefined()
    expect(first.res).toBeDefined()
  })

  test('an accept function that throws counts as false; the request goes on', async () => {
    const app = buildApp(framework, {
      requestId: {
        accept: () => {
          throw new Error('policy broke')
        },
      },
    })
    const response = await request(app).get('/users/1').set('x-request-id', 'req-thrown').expect(200)
    expect(response.headers['x-request-id']).toMatch(UUID)
    expect(response.body.id).toBe('1')
  })

  test('a custom generator makes the IDs of requests without a valid one', async () => {
    let next = 0
    const app = buildApp(framework, { requestId: { generate: () => `gen-${framework}-${++next}` } })
    // Called once at setup to check it.
    expect(next).toBe(1)
    const fresh = await request(app).get('/users/1').expect(200)
    expect(fresh.headers['x-request-id']).toBe(`gen-${framework}-2`)
    expect(fresh.body.requestId).toBe(`gen-${framework}-2`)
    tracing.reset()
    const invalid = await request(app).get('/users/1').set('x-request-id', 'not valid').expect(200)
    expect(invalid.headers['x-request-id']).toBe(`gen-${framework}-3`)
    expect((await serverSpan()).attributes['request.id']).toBe(`gen-${framework}-3`)
  })

  test('echo: false keeps the ID on spans and in getRequestId() but off the response', async () => {
    const app = buildApp(framework, { requestId: { echo: false }, exposeHeaders: true })
    const response = await request(app).get('/users/1').set('x-request-id', 'req-quiet').expect(200)
    expect(response.headers['x-request-id']).toBeUndefined()
    expect(String(response.headers['access-control-expose-headers'] ?? '')).not.toContain('x-request-id')
    expect(response.body.requestId).toBe('req-quiet')
    expect((await serverSpan()).attributes['request.id']).toBe('req-quiet')
    const failed = await request(app).get('/fail').expect(500)
    expect(failed.headers['x-request-id']).toBeUndefined()
  })

  test.each([
    ['requestId.header', { requestId: { header: 'X-Correlation-Id' } }],
    ['the requestIdHeader alias', { requestIdHeader: 'X-Correlation-Id' }],
  ] as [string, TraceweaveOptions][])(
    'a custom header (%s) is the one read and echoed, error responses included',
    async (_how, options) => {
      const app = buildApp(framework, { ...options, exposeHeaders: true })
      const response = await request(app)
        .get('/users/1')
        .set('x-correlation-id', 'corr-1')
        .set('x-request-id', 'req-other')
        .expect(200)
      expect(response.headers['x-correlation-id']).toBe('corr-1')
      expect(response.headers['x-request-id']).toBe(undefined)
      expect(response.headers['access-control-expose-headers']).toBe('x-correlation-id')
      expect(response.body.requestId).toBe('corr-1')
      expect((await serverSpan()).attributes['request.id']).toBe('corr-1')
      const ignoredDefault = await request(app).get('/users/1').set('x-request-id', 'req-other').expect(200)
      expect(ignoredDefault.headers['x-correlation-id']).toMatch(UUID)
      const failed = await request(app).get('/fail').set('x-correlation-id', 'corr-err').expect(500)
      expect(failed.headers['x-correlation-id']).toBe('corr-err')
    },
  )

  test('requestId: false reads, generates, echoes and records no request ID', async () => {
    const app = buildApp(framework, { requestId: false, exposeHeaders: true })
    const response = await request(app).get('/users/1').set('x-request-id', 'req-ignored').expect(200)
    expect(response.headers['x-request-id']).toBeUndefined()
    expect(response.headers['access-control-expose-headers']).toBeUndefined()
    expect(response.body).toEqual({ id: '1' })
    const server = await serverSpan()
    expect(server.attributes['request.id']).toBeUndefined()
    expect(JSON.stringify(server.attributes)).not.toContain('req-ignored')
    const failed = await request(app).get('/fail').expect(500)
    expect(failed.headers['x-request-id']).toBeUndefined()
  })
})

test('an invalid generated ID is replaced by a UUID and reported once, on every framework', async () => {
  messages.length = 0
  for (const framework of FRAMEWORKS) {
    let calls = 0
    // Valid at setup (so setup accepts it), invalid afterwards.
    const app = buildApp(framework, { requestId: { generate: () => (++calls === 1 ? 'ok' : 'bad id!') } })
    for (let i = 0; i < 2; i++) {
      const response = await request(app).get('/users/1').expect(200)
      expect(response.headers['x-request-id']).toMatch(UUID)
      expect(response.body.requestId).toBe(response.headers['x-request-id'])
    }
    expect(calls).toBe(3)
  }
  const reports = messages.filter((message) => message.includes('requestId.generate'))
  expect(reports).toHaveLength(1)
  expect(reports[0]).toContain('replaced by crypto.randomUUID()')
  expect(reports[0]).not.toContain('bad id!')
})

test.each(FRAMEWORKS)('%s: bad requestId options throw at setup, naming the option', (framework) => {
  const traceweave = framework.startsWith('express') ? expressTraceweave : koaTraceweave
  expect(() => traceweave({ requestId: { header: 'x request id' } })).toThrow(
    "traceweave: `requestId.header` must be a header name (an RFC 9110 token); got 'x request id'",
  )
  expect(() => traceweave({ requestId: { generate: () => 'a b' } })).toThrow(
    /^traceweave: `requestId.generate` must be a function \(\) => string returning 1-128 characters of \[A-Za-z0-9._:-\]; got /,
  )
  expect(() => traceweave({ requestId: { accept: 'sometimes' as never } })).toThrow(
    "traceweave: `requestId.accept` must be true, false or a function (request) => boolean; got 'sometimes'",
  )
})

/** Apps whose one route calls `downstream` with traced fetch and traced axios, inside the request. */
function callerApp(
  framework: Framework,
  options: TraceweaveOptions<ExpressRequest | KoaContext>,
  downstream: () => string,
  clientOptions: { requestIdHeader?: string | false } = {},
): Handler {
  const tracedFetch = traceFetch(fetch, clientOptions)
  const instance = axios.create()
  traceAxios(instance, { getAdapter: axios.getAdapter, ...clientOptions })
  const callDownstream = async () => {
    await (await tracedFetch(`${downstream()}/via-fetch`)).text()
    await instance.get(`${downstream()}/via-axios`)
    return { requestId: getRequestId() ?? null }
  }
  if (framework.startsWith('express')) {
    const express = require(framework) as typeof import('express')
    const app = express()
    app.use(expressTraceweave(options))
    app.get('/call', async (_req, res) => {
      res.json(await callDownstream())
    })
    return app
  }
  const Koa = require(framework === 'koa2' ? 'koa2' : 'koa3') as typeof import('koa')
  const app = new Koa()
  app.silent = true
  app.use(koaTraceweave(options))
  app.use(async (ctx) => {
    if (ctx.path === '/call') ctx.body = await callDownstream()
  })
  return app.callback()
}

describe.each(FRAMEWORKS)('%s: clients inside a request', (framework: Framework) => {
  let downstream: RunningService
  beforeAll(async () => {
    downstream = await startRecordingService('downstream', (_req, res) => res.end('ok'))
  })
  afterAll(() => downstream.close())
  beforeEach(() => downstream.received.splice(0))

  test('forward the ID under the header the middleware is configured with', async () => {
    const app = callerApp(framework, { requestId: { header: 'X-Correlation-Id' } }, () => downstream.url)
    const response = await request(app).get('/call').set('x-correlation-id', 'corr-down').expect(200)
    expect(response.body.requestId).toBe('corr-down')
    expect(downstream.received.map((received) => received.path)).toEqual(['/via-fetch', '/via-axios'])
    for (const received of downstream.received) {
      expect(received.headers['x-correlation-id']).toBe('corr-down')
      expect(received.headers['x-request-id']).toBeUndefined()
      expect(received.headers.traceparent).toBeDefined()
    }
  })

  test('forward a generated ID when the incoming one is not accepted, even with echo off', async () => {
    const app = callerApp(framework, { requestId: { accept: false, echo: false } }, () => downstream.url)
    const response = await request(app).get('/call').set('x-request-id', 'spoofed').expect(200)
    expect(response.headers['x-request-id']).toBeUndefined()
    expect(response.body.requestId).toMatch(UUID)
    for (const received of downstream.received) {
      expect(received.headers['x-request-id']).toBe(response.body.requestId)
    }
  })

  test('forward nothing with requestId: false', async () => {
    const app = callerApp(framework, { requestId: false }, () => downstream.url)
    const response = await request(app).get('/call').set('x-request-id', 'req-none').expect(200)
    expect(response.body.requestId).toBeNull()
    expect(downstream.received).toHaveLength(2)
    for (const received of downstream.received) {
      expect(received.headers['x-request-id']).toBeUndefined()
      expect(received.headers.traceparent).toBeDefined()
    }
  })

  test('a header named on the client itself wins; requestIdHeader: false on the client sends none', async () => {
    const options = { requestId: { header: 'x-correlation-id' } }
    const named = callerApp(framework, options, () => downstream.url, { requestIdHeader: 'X-Upstream-Id' })
    await request(named).get('/call').set('x-correlation-id', 'corr-own').expect(200)
    for (const received of downstream.received) {
      expect(received.headers['x-upstream-id']).toBe('corr-own')
      expect(received.headers['x-correlation-id']).toBeUndefined()
    }
    downstream.received.splice(0)
    const none = callerApp(framework, options, () => downstream.url, { requestIdHeader: false })
    await request(none).get('/call').set('x-correlation-id', 'corr-own').expect(200)
    expect(downstream.received).toHaveLength(2)
    for (const received of downstream.received) {
      expect(received.headers['x-correlation-id']).toBeUndefined()
      expect(received.headers['x-request-id']).toBeUndefined()
    }
  })
})
