import {
  DiagLogLevel,
  SpanKind,
  SpanStatusCode,
  diag,
  propagation,
  trace,
  type Span,
} from '@opentelemetry/api'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import axios, { AxiosError, type AxiosInstance } from 'axios'
import { traceAxios } from '@traceweave/client'
import { sendJson, startService, type TestService } from './support/http-services'
import { closedPort } from './support/servers'
import { ServiceSet, startExpress, startKoa, type RunningService } from './support/services'
import { startTestTracing, throwingTracer, type TestTracing } from './support/tracing'

let tracing: TestTracing

beforeAll(() => {
  tracing = startTestTracing()
  propagation.setGlobalPropagator(new W3CTraceContextPropagator())
  // Keep expected internal-failure reports out of the test output.
  diag.setLogger({ error() {}, warn() {}, info() {}, debug() {}, verbose() {} }, DiagLogLevel.ERROR)
})
afterEach(() => tracing.reset())
afterAll(async () => {
  await tracing.shutdown()
  diag.disable()
})

const services: TestService[] = []
const realServices = new ServiceSet()
const undos: (() => void)[] = []
afterEach(async () => {
  undos.splice(0).forEach((undo) => undo())
  await Promise.all(services.splice(0).map((service) => service.close()))
  await realServices.closeAll()
})
async function service(name: string, handler: Parameters<typeof startService>[1]) {
  const started = await startService(name, handler)
  services.push(started)
  return started
}

/** A traced `axios.create()` instance, undone after the test. */
function tracedInstance(options: Parameters<typeof traceAxios>[1] = {}, config = {}): AxiosInstance {
  const instance = axios.create(config)
  undos.push(traceAxios(instance, { getAdapter: axios.getAdapter, ...options }))
  return instance
}

const clientSpans = () => tracing.spans().filter((span) => span.kind === SpanKind.CLIENT)
const serverSpans = () => tracing.spans().filter((span) => span.kind === SpanKind.SERVER)

function inSpan<T>(fn: (span: Span) => Promise<T>): Promise<T> {
  return trace.getTracer('test').startActiveSpan('handler', async (span) => {
    try {
      return await fn(span)
    } finally {
      span.end()
    }
  })
}

const echo = (_req: unknown, res: import('node:http').ServerResponse) => sendJson(res, 200, { ok: true })
const TRACE_HEADERS = ['traceparent', 'tracestate', 'baggage', 'x-request-id']

describe('traceAxios: one trace across services', () => {
  it('an Express 5 service calling a Koa 3 service (and back), both traced, shares one trace ID', async () => {
    const http = tracedInstance()
    // Real apps with the real middlewares; the Koa service calls back into the Express one.
    const peers: { express?: RunningService } = {}
    const koa = realServices.add(
      await startKoa('koa', (_app, router) => {
        router.get('/work', async (ctx) => {
          const back = await http.get(`${peers.express!.url}/callback`)
          ctx.body = { callback: back.data }
        })
      }),
    )
    const express = realServices.add(
      await startExpress('express', (app) => {
        app.get('/callback', (_req, res) => void res.json({ from: 'express' }))
        app.get('/start', async (_req, res) => {
          const response = await http.get('/work', { baseURL: koa.url, headers: { 'x-custom': 'mine' } })
          res.json({ koa: response.data })
        })
      }),
    )
    peers.express = express

    const { data } = await axios.get(`${express.url}/start`, { headers: { 'x-request-id': 'req-9' } })
    expect(data).toEqual({ koa: { callback: { from: 'express' } } })
    await realServices.idle()
    expect(serverSpans()).toHaveLength(3)
    expect(clientSpans()).toHaveLength(2)
    expect(new Set(tracing.spans().map((span) => span.spanContext().traceId)).size).toBe(1)
    expect(koa.received[0]!.headers['x-request-id']).toBe('req-9')
    expect(koa.received[0]!.headers['x-custom']).toBe('mine')
    expect(express.received[1]!.headers['x-request-id']).toBe('req-9')
    const client = clientSpans().find((span) => span.attributes['server.port'] === koa.port)!
    expect(koa.received[0]!.headers.traceparent).toBe(
      `00-${client.spanContext().traceId}-${client.spanContext().spanId}-01`,
    )
    // Each downstream SERVER span's parent is the CLIENT span that called it.
    const work = serverSpans().find((span) => span.name === 'GET /work')!
    expect(work.parentSpanContext!.spanId).toBe(client.spanContext().spanId)
    const back = clientSpans().find((span) => span.attributes['server.port'] === express.port)!
    const callback = serverSpans().find((span) => span.name === 'GET /callback')!
    expect(callback.parentSpanContext!.spanId).toBe(back.spanContext().spanId)
    expect(back.parentSpanContext!.spanId).toBe(work.spanContext().spanId)
  })

  it('instruments the default axios instance, resolving its adapter by name', async () => {
    const api = await service('api', echo)
    const undo = traceAxios(axios)
    try {
      await inSpan(() => axios.get(api.url))
    } finally {
      undo()
    }
    expect(clientSpans()).toHaveLength(1)
    expect(api.requests[0]!.headers.traceparent).toBeDefined()
    expect(axios.defaults.adapter).toEqual(['xhr', 'http', 'fetch'])
  })

  it('records method, redacted URL, status and errors on the CLIENT span', async () => {
    const api = await service('api', (req, res) =>
      sendJson(res, req.url!.startsWith('/missing') ? 404 : 200, {}),
    )
    const http = tracedInstance()
    const error = await inSpan(async () => {
      await http.get(`http://user:pw@127.0.0.1:${api.port}/orders`, { params: { token: 'abc' } })
      return http.post(`${api.url}/missing`, { a: 1 }).catch((e: unknown) => e)
    })
    expect(error).toBeInstanceOf(AxiosError)
    expect((error as AxiosError).response?.status).toBe(404)
    const [ok, missing] = clientSpans()
    expect(ok!.attributes).toEqual({
      'http.request.method': 'GET',
      'url.full': `http://127.0.0.1:${api.port}/orders`,
      'server.address': '127.0.0.1',
      'server.port': api.port,
      'http.response.status_code': 200,
    })
    expect(missing!.name).toBe('POST')
    expect(missing!.attributes).toMatchObject({ 'http.response.status_code': 404, 'error.type': '404' })
    expect(missing!.status.code).toBe(SpanStatusCode.ERROR)
  })
})

describe('traceAxios: where headers may go', () => {
  it('a call outside propagateTo gets a span but no trace headers', async () => {
    const inside = await service('inside', echo)
    const outside = await service('outside', echo)
    const http = tracedInstance({ propagateTo: [inside.url] })
    await inSpan(async () => {
      await http.get(inside.url)
      await http.get(outside.url)
    })
    expect(inside.requests[0]!.headers.traceparent).toBeDefined()
    for (const name of TRACE_HEADERS) expect(outside.requests[0]!.headers[name]).toBeUndefined()
    expect(clientSpans()).toHaveLength(2)
  })

  it("headers passed by the caller survive unchanged and the caller's config is untouched", async () => {
    const api = await service('api', echo)
    const http = tracedInstance({}, { headers: { 'x-instance': 'inst' } })
    const config = { headers: { 'X-Custom': 'mine', 'x-request-id': 'caller-id' } }
    const before = JSON.stringify(config)
    const defaultsBefore = JSON.stringify(http.defaults.headers)
    const response = await inSpan(() => http.get(api.url, config))
    expect(JSON.stringify(config)).toBe(before)
    expect(JSON.stringify(http.defaults.headers)).toBe(defaultsBefore)
    const seen = api.requests[0]!.headers
    expect(seen).toMatchObject({ 'x-custom': 'mine', 'x-instance': 'inst', 'x-request-id': 'caller-id' })
    expect(seen.traceparent).toBeDefined()
    expect(response.data).toEqual({ ok: true })
  })

  it('strips our headers on a redirect outside propagateTo, keeps them inside, and still calls beforeRedirect', async () => {
    const thirdParty = await service('third-party', echo)
    const origin = await service('origin', (req, res) => {
      const target = req.url === '/away' ? `${thirdParty.url}/landing` : '/home'
      if (req.url === '/home') return sendJson(res, 200, { home: true })
      res.writeHead(302, { location: target })
      res.end()
    })
    const redirected: string[] = []
    const http = tracedInstance({ propagateTo: [origin.url] })
    await inSpan(async () => {
      await http.get(`${origin.url}/away`, {
        beforeRedirect: (options) => void redirected.push(String(options.href)),
      })
      await http.get(`${origin.url}/stay`, { headers: { 'x-custom': 'kept' } })
    })
    expect(redirected).toEqual([`${thirdParty.url}/landing`])
    expect(thirdParty.requests[0]!.headers.traceparent).toBeUndefined()
    const home = origin.requests.find((r) => r.path === '/home')!
    expect(home.headers.traceparent).toBeDefined()
    expect(home.headers['x-custom']).toBe('kept')
  })
})

describe('traceAxios: retries', () => {
  function flakyService(failures: number) {
    let calls = 0
    return service('flaky', (_req, res) => {
      calls++
      sendJson(res, calls <= failures ? 503 : 200, { attempt: calls })
    })
  }

  it('retries a flaky server with one CLIENT span per attempt and resend_count', async () => {
    const flaky = await flakyService(2)
    const http = tracedInstance({ retry: { minTimeout: 1 } })
    const { data } = await inSpan(() => http.get(flaky.url))
    expect(data).toEqual({ attempt: 3 })
    const clients = clientSpans()
    expect(clients.map((span) => span.attributes['http.request.resend_count'])).toEqual([undefined, 1, 2])
    expect(clients.map((span) => span.attributes['http.response.status_code'])).toEqual([503, 503, 200])
    const operation = tracing.spans().find((span) => span.name === 'retry GET')!
    expect(operation.attributes).toMatchObject({ 'retry.total_attempts': 3, 'retry.succeeded_at_attempt': 3 })
  })

  it("rejects with axios's own error when retries run out", async () => {
    const flaky = await flakyService(100)
    const http = tracedInstance({ retry: { retries: 1, minTimeout: 1 } })
    const error = await inSpan(() => http.get(flaky.url)).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AxiosError)
    expect((error as AxiosError).response?.data).toEqual({ attempt: 2 })
    expect(flaky.requests).toHaveLength(2)
  })

  it('an abort mid-retry ends everything at once, long before the next backoff', async () => {
    const flaky = await flakyService(100)
    const controller = new AbortController()
    const http = tracedInstance({
      retry: {
        minTimeout: 3_600_000,
        maxTimeout: 3_600_000,
        onFailedAttempt: () => void setImmediate(() => controller.abort()),
      },
    })
    const error = await inSpan(() => http.get(flaky.url, { signal: controller.signal })).catch(
      (e: unknown) => e,
    )
    expect(axios.isCancel(error) || (error as Error).name === 'AbortError').toBe(true)
    expect(flaky.requests).toHaveLength(1)
    const operation = tracing.spans().find((span) => span.name === 'retry GET')!
    expect(operation.attributes['retry.aborted']).toBe(true)
  })

  it('does not retry POST by default', async () => {
    const flaky = await flakyService(1)
    const http = tracedInstance({ retry: { minTimeout: 1 } })
    await expect(http.post(flaky.url, {})).rejects.toBeInstanceOf(AxiosError)
    expect(flaky.requests).toHaveLength(1)
  })
})

describe('traceAxios: instrumentation lifecycle', () => {
  it('does not double-wrap, and undo restores the original adapter', async () => {
    const api = await service('api', echo)
    const instance = axios.create()
    const original = instance.defaults.adapter
    const undo = traceAxios(instance, { getAdapter: axios.getAdapter })
    expect(traceAxios(instance, { getAdapter: axios.getAdapter })).toBe(undo)
    await inSpan(() => instance.get(api.url))
    expect(clientSpans()).toHaveLength(1)
    undo()
    expect(instance.defaults.adapter).toBe(original)
    await inSpan(() => instance.get(api.url))
    expect(clientSpans()).toHaveLength(1)
    expect(api.requests[1]!.headers.traceparent).toBeUndefined()
  })

  it('something that is no axios instance fails at setup', () => {
    // An instance whose axios cannot be found: test/client-abort-and-redirects.test.ts.
    expect(() => traceAxios(null as never)).toThrow(
      'traceweave: `traceAxios(instance)` must be an axios instance (axios or axios.create()); got null',
    )
  })
})

describe('traceAxios: fail open', () => {
  it.each(['start', 'end'] as const)(
    'a tracer that throws at %s never replaces the response or the error',
    async (where) => {
      const api = await service('api', (req, res) =>
        sendJson(res, req.url === '/missing' ? 404 : 200, { ok: true }),
      )
      const port = await closedPort()
      const http = tracedInstance({ tracer: throwingTracer(where) })
      const { data } = await inSpan(() => http.get(api.url, { headers: { 'x-custom': 'kept' } }))
      expect(data).toEqual({ ok: true })
      expect(api.requests[0]!.headers['x-custom']).toBe('kept')
      const notFound = await inSpan(() => http.get(`${api.url}/missing`)).catch((e: unknown) => e)
      expect((notFound as AxiosError).response?.status).toBe(404)
      const refused = await inSpan(() => http.get(`http://127.0.0.1:${port}/`)).catch((e: unknown) => e)
      expect((refused as AxiosError).code).toBe('ECONNREFUSED')
    },
  )

  it('a propagator that throws on inject never replaces the response', async () => {
    const api = await service('api', echo)
    propagation.disable()
    propagation.setGlobalPropagator({
      inject() {
        throw new Error('propagator broke')
      },
      extract: (ctx) => ctx,
      fields: () => [],
    })
    try {
      const { data } = await inSpan(() => tracedInstance().get(api.url))
      expect(data).toEqual({ ok: true })
    } finally {
      propagation.disable()
      propagation.setGlobalPropagator(new W3CTraceContextPropagator())
    }
  })
})
