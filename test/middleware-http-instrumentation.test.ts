/**
 * traceweave() under OpenTelemetry's http instrumentation (the real @opentelemetry/instrumentation-http),
 * on real Express 5 and Koa 3 apps: by default the instrumentation's SERVER span is enriched (one span per
 * request), with `existingServerSpan: 'nest'` ours is its child; handlers that resume after a body parser
 * still see the request record; and the trust policy reaches the instrumentation's span through the
 * propagator setupTracing() registers.
 *
 * Jest loads modules itself, so require hooks never fire: the instrumentation's own patch is applied to
 * the real `http` module by hand, which is what `registerInstrumentations` does.
 */
import { SpanKind, trace } from '@opentelemetry/api'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { getRequestId, type TraceweaveOptions } from '@traceweave/core'
import { resetReported } from '@traceweave/core/internal'
import { traceweave as expressTraceweave, type ExpressRequest } from '@traceweave/express'
import { traceweave as koaTraceweave, type KoaContext } from '@traceweave/koa'
import { setupTracing, type MemoryTracingHandle, type SetupTracingOptions } from '@traceweave/node'
import request from 'supertest'
import { httpInstrumentation } from './support/http-instrumentation'

const express5 = require('express5') as typeof import('express')
const Koa3 = require('koa3') as typeof import('koa')
const KoaRouter = require('@koa/router').Router as typeof import('@koa/router').Router

const THEIR_SCOPE = '@opentelemetry/instrumentation-http'
const OUR_SCOPE = '@traceweave/core'
const FORGED_TRACE_ID = '0af7651916cd43dd8448eb211c80319c'
const FORGED_PARENT = `00-${FORGED_TRACE_ID}-b7ad6b7169203331-01`

// Outgoing calls (supertest's own) are left alone: only the server side is under test.
const { instrumentation, patch, unpatch } = httpInstrumentation({ ignoreOutgoingRequestHook: () => true })

let tracing: MemoryTracingHandle | undefined

function startTracing(options: SetupTracingOptions = {}): MemoryTracingHandle {
  const handle = setupTracing({ ...options, exporter: 'memory', flushOnExit: false, serviceName: 'api' })
  // The instrumentation keeps the tracer it was given: hand it each new provider.
  instrumentation.setTracerProvider(handle.provider)
  tracing = handle
  return handle
}

async function stopTracing(): Promise<void> {
  await tracing?.shutdown()
  tracing = undefined
}

beforeAll(() => {
  patch()
})
afterEach(stopTracing)
afterAll(() => {
  unpatch()
})

/** Work a handler does, as its own span. */
function childWork(name: string): Promise<void> {
  return trace.getTracer('test-app').startActiveSpan(name, async (span) => {
    await new Promise((resolve) => setImmediate(resolve))
    span.end()
  })
}

/** What a handler reports about the context it runs in. */
function contextReport(): { requestId: string | undefined; spanId: string | undefined } {
  return { requestId: getRequestId(), spanId: trace.getActiveSpan()?.spanContext().spanId }
}

/**
 * Adds and removes listeners on the request stream the way libraries do (on/once, then
 * removeListener/off with the original function): true if every one is gone again.
 */
function listenersRemovable(req: import('node:http').IncomingMessage): boolean {
  const before = { data: req.listenerCount('data'), end: req.listenerCount('end') }
  const [onData, prependedData, onceEnd] = [() => {}, () => {}, () => {}]
  req.on('data', onData)
  req.prependListener('data', prependedData)
  req.once('end', onceEnd)
  const added = req.listenerCount('data') === before.data + 2 && req.listenerCount('end') === before.end + 1
  req.removeListener('data', onData)
  req.off('data', prependedData)
  req.off('end', onceEnd)
  return added && req.listenerCount('data') === before.data && req.listenerCount('end') === before.end
}

type Framework = 'express5' | 'koa3'
type Handler = Parameters<typeof request>[0]

function buildApp(framework: Framework, options: TraceweaveOptions<ExpressRequest | KoaContext>): Handler {
  return framework === 'express5' ? buildExpress(options) : buildKoa(options)
}

function buildExpress(options: TraceweaveOptions<ExpressRequest>): Handler {
  const app = express5()
  app.use(expressTraceweave({ user: (req) => req.get('x-user-id'), ...options }))
  app.use(express5.json())
  app.get('/users/:id', async (req, res) => {
    await childWork('load user')
    res.json({ id: req.params.id, ...contextReport() })
  })
  app.get('/listeners', (req, res) => {
    res.json({ removable: listenersRemovable(req) })
  })
  app.post('/echo', async (req, res) => {
    // Runs after express.json() resumed from the request stream's events.
    const report = contextReport()
    await childWork('store body')
    res.json({ body: req.body, ...report })
  })
  // A callback-style body reader (as older parsers and multipart readers are): it parses inside the
  // request stream's listeners and resumes the chain from its 'end' event.
  app.post(
    '/raw',
    function readRawBody(req, _res, next) {
      const chunks: Buffer[] = []
      req.on('data', (chunk: Buffer) => chunks.push(chunk))
      req.on('end', () => {
        trace.getTracer('test-app').startSpan('parse body').end()
        req.body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
        next()
      })
    },
    async (req, res) => {
      const report = contextReport()
      await childWork('store body')
      res.json({ body: req.body, ...report })
    },
  )
  return app
}

/**
 * A body reader the way Koa apps write one over the raw stream: the listeners do the parsing work
 * (here a span) when the stream's events fire, then the middleware chain goes on.
 */
function readJsonBody(req: import('node:http').IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('error', reject)
    req.on('end', () => {
      const span = trace.getTracer('test-app').startSpan('parse body')
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')))
      } catch (error) {
        reject(error)
      } finally {
        span.end()
      }
    })
  })
}

function buildKoa(options: TraceweaveOptions<KoaContext>): Handler {
  const app = new Koa3()
  app.silent = true
  app.use(koaTraceweave({ user: (ctx) => ctx.get('x-user-id') || undefined, ...options }))
  app.use(async (ctx, next) => {
    if (ctx.method === 'POST') {
      ;(ctx.request as unknown as { body: unknown }).body = await readJsonBody(ctx.req)
    }
    await next()
  })
  const router = new KoaRouter()
  router.get('/users/:id', async (ctx) => {
    await childWork('load user')
    ctx.body = { id: ctx.params.id, ...contextReport() }
  })
  router.get('/listeners', (ctx) => {
    ctx.body = { removable: listenersRemovable(ctx.req) }
  })
  for (const path of ['/echo', '/raw']) {
    router.post(path, async (ctx) => {
      const report = contextReport()
      await childWork('store body')
      ctx.body = { body: (ctx.request as unknown as { body: unknown }).body, ...report }
    })
  }
  app.use(router.routes())
  return app.callback()
}

const serverSpans = (spans: ReadableSpan[]) => spans.filter((span) => span.kind === SpanKind.SERVER)

/** Waits until the request's spans have ended (SERVER spans end on the response's close). */
async function spansOnceEnded(handle: MemoryTracingHandle, servers: number, total: number) {
  for (let i = 0; i < 200; i++) {
    const spans = handle.memory.getFinishedSpans()
    if (serverSpans(spans).length >= servers && spans.length >= total) return spans
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  return handle.memory.getFinishedSpans()
}

const named = (spans: ReadableSpan[], name: string) => spans.find((span) => span.name === name)!

describe.each(['express5', 'koa3'] as const)('%s under the http instrumentation', (framework) => {
  test('the instrumentation really opens a server span here (without traceweave: one span named GET)', async () => {
    const handle = startTracing()
    const plain = framework === 'express5' ? express5().get('/x', (_req, res) => res.end()) : undefined
    const koa = new Koa3()
    koa.use((ctx) => {
      ctx.body = ''
    })
    await request(plain ?? koa.callback())
      .get('/x')
      .expect(200)
    const [server] = serverSpans(await spansOnceEnded(handle, 1, 1))
    expect(server?.instrumentationScope.name).toBe(THEIR_SCOPE)
    expect(server?.name).toBe('GET')
  })

  test("enrich (default): exactly one SERVER span, the instrumentation's, carrying our name and attributes", async () => {
    const handle = startTracing()
    const response = await request(buildApp(framework, {}))
      .get('/users/7')
      .set('x-session-id', 'sess-1')
      .set('x-user-id', 'user-7')
      .expect(200)
    const requestId = response.headers['x-request-id']
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/)
    expect(response.body.requestId).toBe(requestId)

    const spans = await spansOnceEnded(handle, 1, 2)
    const servers = serverSpans(spans)
    expect(servers).toHaveLength(1)
    const server = servers[0]!
    expect(server.instrumentationScope.name).toBe(THEIR_SCOPE)
    expect(server.name).toBe('GET /users/:id')
    expect(server.attributes).toMatchObject({
      'http.route': '/users/:id',
      'request.id': requestId,
      'session.id': 'sess-1',
      'session.operation': 'GET /users/:id',
      'session.operation_number': 1,
      'user.id': 'user-7',
      'http.response.status_code': 200,
    })
    // Handlers run with that span active, so their spans are its children and carry the correlation.
    expect(response.body.spanId).toBe(server.spanContext().spanId)
    const child = named(spans, 'load user')
    expect(child.parentSpanContext?.spanId).toBe(server.spanContext().spanId)
    expect(child.attributes).toMatchObject({
      'request.id': requestId,
      'session.id': 'sess-1',
      'user.id': 'user-7',
    })
  })

  // express.json() (raw-body binds its callback to the caller's async context) and Koa's reader.
  test('enrich: a handler resuming after the body parser still sees the request record', async () => {
    const handle = startTracing()
    const response = await request(buildApp(framework, {}))
      .post('/echo')
      .set('x-request-id', 'req-after-body')
      .set('x-user-id', 'user-9')
      .send({ hello: 'world' })
      .expect(200)
    expect(response.headers['x-request-id']).toBe('req-after-body')
    expect(response.body.body).toEqual({ hello: 'world' })
    expect(response.body.requestId).toBe('req-after-body')

    const spans = await spansOnceEnded(handle, 1, framework === 'koa3' ? 3 : 2)
    const [server] = serverSpans(spans)
    expect(serverSpans(spans)).toHaveLength(1)
    expect(server!.name).toBe('POST /echo')
    expect(response.body.spanId).toBe(server!.spanContext().spanId)
    const store = named(spans, 'store body')
    expect(store.parentSpanContext?.spanId).toBe(server!.spanContext().spanId)
    expect(store.attributes).toMatchObject({ 'request.id': 'req-after-body', 'user.id': 'user-9' })
  })

  // The instrumentation bound the request stream to its own context before our middleware ran.
  test("enrich: work inside the request stream's listeners, and handlers resumed from them, see the request record", async () => {
    const handle = startTracing()
    const response = await request(buildApp(framework, {}))
      .post('/raw')
      .set('content-type', 'text/plain')
      .set('x-request-id', 'req-raw')
      .set('x-session-id', 'sess-raw')
      .send('{"hello":"raw"}')
      .expect(200)
    expect(response.body.body).toEqual({ hello: 'raw' })
    expect(response.body.requestId).toBe('req-raw')

    const spans = await spansOnceEnded(handle, 1, 3)
    const servers = serverSpans(spans)
    expect(servers).toHaveLength(1)
    const server = servers[0]!
    expect(server.name).toBe('POST /raw')
    expect(response.body.spanId).toBe(server.spanContext().spanId)
    for (const name of ['parse body', 'store body']) {
      const span = named(spans, name)
      expect(span.parentSpanContext?.spanId).toBe(server.spanContext().spanId)
      expect(span.attributes).toMatchObject({ 'request.id': 'req-raw', 'session.id': 'sess-raw' })
    }
  })

  test('enrich: captureHeaders records request and response headers on the enriched span', async () => {
    const handle = startTracing()
    const app = buildApp(framework, {
      captureHeaders: { request: ['x-tenant', 'authorization'], response: ['x-request-id'] },
    })
    const response = await request(app)
      .get('/users/1')
      .set('x-tenant', 'acme')
      .set('authorization', 'Bearer secret')
      .expect(200)
    const [server] = serverSpans(await spansOnceEnded(handle, 1, 2))
    expect(server!.instrumentationScope.name).toBe(THEIR_SCOPE)
    expect(server!.attributes).toMatchObject({
      'http.request.header.x-tenant': ['acme'],
      'http.request.header.authorization': ['[REDACTED]'],
      'http.response.header.x-request-id': [response.headers['x-request-id']],
    })
  })

  test('enrich: listeners added to the re-bound request stream can still be removed', async () => {
    startTracing()
    const response = await request(buildApp(framework, {})).get('/listeners').expect(200)
    expect(response.body).toEqual({ removable: true })
  })

  test("nest: two SERVER spans, ours a child of the instrumentation's", async () => {
    const handle = startTracing()
    const response = await request(buildApp(framework, { existingServerSpan: 'nest' }))
      .get('/users/7')
      .set('x-session-id', 'sess-2')
      .expect(200)
    const requestId = response.headers['x-request-id']

    const spans = await spansOnceEnded(handle, 2, 3)
    const servers = serverSpans(spans)
    expect(servers).toHaveLength(2)
    const theirs = servers.find((span) => span.instrumentationScope.name === THEIR_SCOPE)!
    const ours = servers.find((span) => span.instrumentationScope.name === OUR_SCOPE)!
    expect(ours.parentSpanContext?.spanId).toBe(theirs.spanContext().spanId)
    expect(ours.spanContext().traceId).toBe(theirs.spanContext().traceId)
    expect(ours.name).toBe('GET /users/:id')
    expect(ours.attributes).toMatchObject({
      'http.route': '/users/:id',
      'request.id': requestId,
      'session.id': 'sess-2',
      'http.response.status_code': 200,
    })
    expect(response.body.spanId).toBe(ours.spanContext().spanId)
    expect(named(spans, 'load user').parentSpanContext?.spanId).toBe(ours.spanContext().spanId)
  })

  test("nest: work in the request stream's listeners and the handlers after it run under our span", async () => {
    const handle = startTracing()
    const response = await request(buildApp(framework, { existingServerSpan: 'nest' }))
      .post('/raw')
      .set('content-type', 'text/plain')
      .set('x-request-id', 'req-nested')
      .send('{"n":1}')
      .expect(200)
    expect(response.body.requestId).toBe('req-nested')
    const spans = await spansOnceEnded(handle, 2, 4)
    const ours = serverSpans(spans).find((span) => span.instrumentationScope.name === OUR_SCOPE)!
    expect(response.body.spanId).toBe(ours.spanContext().spanId)
    for (const name of ['parse body', 'store body']) {
      const span = named(spans, name)
      expect(span.parentSpanContext?.spanId).toBe(ours.spanContext().spanId)
      expect(span.attributes['request.id']).toBe('req-nested')
    }
  })

  // What the README suggests when traceweave's request-level trust and sampling should decide: the
  // instrumentation skips incoming requests (and binds them to a tracing-suppressed context).
  test('instrumentation told to skip incoming requests: our span is the one SERVER span, also in stream listeners', async () => {
    const handle = startTracing()
    const config = instrumentation.getConfig()
    instrumentation.setConfig({ ...config, ignoreIncomingRequestHook: () => true })
    try {
      const response = await request(buildApp(framework, {}))
        .post('/raw')
        .set('content-type', 'text/plain')
        .set('x-request-id', 'req-skipped')
        .send('{"n":2}')
        .expect(200)
      expect(response.body.requestId).toBe('req-skipped')
      const spans = await spansOnceEnded(handle, 1, 3)
      const servers = serverSpans(spans)
      expect(servers.map((span) => span.instrumentationScope.name)).toEqual([OUR_SCOPE])
      for (const name of ['parse body', 'store body']) {
        const span = named(spans, name)
        expect(span.parentSpanContext?.spanId).toBe(servers[0]!.spanContext().spanId)
        expect(span.attributes['request.id']).toBe('req-skipped')
      }
    } finally {
      instrumentation.setConfig(config)
    }
  })

  test("deferred sampling under the instrumentation's server span: decided at its start, and said so once", async () => {
    resetReported()
    const written: string[] = []
    const write = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: unknown) => {
      written.push(String(chunk))
      return true
    })
    try {
      const handle = startTracing({
        sampling: { decide: 'deferred', ratio: 0, rules: [{ status: 'error', sample: 1 }] },
      })
      for (let i = 0; i < 2; i++) {
        const response = await request(buildApp(framework, { traceResponse: true }))
          .get('/users/1')
          .expect(200)
        // Decided when the instrumentation's span started (ratio 0): unsampled, nothing held to upgrade.
        expect(response.headers.traceresponse).toMatch(/-0[02]$/)
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
      expect(handle.memory.getFinishedSpans()).toEqual([])
      const said = written.filter((line) =>
        line.includes("a SERVER span started outside traceweave's middleware"),
      )
      expect(said).toHaveLength(1)
      expect(said[0]).toMatch(/ignoreIncomingRequestHook/)
    } finally {
      write.mockRestore()
    }
  })

  test("trust: the instrumentation's span continues a trusted caller's trace (the control)", async () => {
    const handle = startTracing()
    await request(buildApp(framework, {})).get('/users/1').set('traceparent', FORGED_PARENT).expect(200)
    const [server] = serverSpans(await spansOnceEnded(handle, 1, 2))
    expect(server!.instrumentationScope.name).toBe(THEIR_SCOPE)
    expect(server!.spanContext().traceId).toBe(FORGED_TRACE_ID)
  })

  test("trust: with setupTracing({ propagation: { trustIncoming: false } }) the instrumentation's span does not continue a forged traceparent", async () => {
    const handle = startTracing({ propagation: { trustIncoming: false } })
    const response = await request(buildApp(framework, {}))
      .get('/users/1')
      .set('traceparent', FORGED_PARENT)
      .expect(200)
    const spans = await spansOnceEnded(handle, 1, 2)
    const servers = serverSpans(spans)
    expect(servers).toHaveLength(1)
    const server = servers[0]!
    expect(server.instrumentationScope.name).toBe(THEIR_SCOPE)
    expect(server.spanContext().traceId).not.toBe(FORGED_TRACE_ID)
    expect(server.parentSpanContext).toBeUndefined()
    expect(server.attributes['request.id']).toBe(response.headers['x-request-id'])
    // Children follow the new trace, not the forged one.
    expect(named(spans, 'load user').spanContext().traceId).toBe(server.spanContext().traceId)
  })
})
