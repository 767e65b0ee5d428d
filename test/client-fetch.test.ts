import {
  DiagLogLevel,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  diag,
  propagation,
  trace,
  type Span,
} from '@opentelemetry/api'
import {
  CompositePropagator,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
  suppressTracing,
} from '@opentelemetry/core'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { instrumentGlobalFetch, traceFetch } from '@traceweave/client'
import { setRequestState, tracedRetry } from '@traceweave/core'
import { sendJson, startService, type TestService } from './support/http-services'
import { closedPort } from './support/servers'
import { ServiceSet, startExpress, startKoa, type RunningService } from './support/services'
import { startTestTracing, throwingTracer, type TestTracing } from './support/tracing'

const TRACE_HEADERS = ['traceparent', 'tracestate', 'baggage', 'x-request-id']

let tracing: TestTracing
const warnings: string[] = []

beforeAll(() => {
  tracing = startTestTracing()
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  )
  diag.setLogger(
    {
      error: (...args: unknown[]) => warnings.push(args.join(' ')),
      warn: (...args: unknown[]) => warnings.push(args.join(' ')),
      info: () => {},
      debug: () => {},
      verbose: () => {},
    },
    DiagLogLevel.WARN,
  )
})
afterEach(() => tracing.reset())
afterAll(async () => {
  await tracing.shutdown()
  diag.disable()
})

const services: TestService[] = []
const realServices = new ServiceSet()
afterEach(async () => {
  await Promise.all(services.splice(0).map((service) => service.close()))
  await realServices.closeAll()
})
async function service(name: string, handler: Parameters<typeof startService>[1]) {
  const started = await startService(name, handler)
  services.push(started)
  return started
}

const clientSpans = () => tracing.spans().filter((span) => span.kind === SpanKind.CLIENT)
const serverSpans = () => tracing.spans().filter((span) => span.kind === SpanKind.SERVER)
const tracer = () => trace.getTracer('test')

/** Runs `fn` inside an active, sampled span, like a handler inside a traced request. */
function inSpan<T>(fn: (span: Span) => Promise<T>): Promise<T> {
  return tracer().startActiveSpan('handler', async (span) => {
    try {
      return await fn(span)
    } finally {
      span.end()
    }
  })
}

/** Node's fetch network failure (a TypeError from undici's realm, so no instanceof under jest). */
const isFetchFailure = (error: unknown) =>
  (error as Error)?.name === 'TypeError' && (error as Error).message === 'fetch failed'

const echo = (_req: unknown, res: import('node:http').ServerResponse) => sendJson(res, 200, { ok: true })

describe('traceFetch: one trace across services', () => {
  it('an Express 5 service calling a Koa 3 service (and back), both traced, shares one trace ID', async () => {
    const fetch = traceFetch(globalThis.fetch)
    // Real apps with the real middlewares; the Koa service calls back into the Express one.
    const peers: { express?: RunningService } = {}
    const koa = realServices.add(
      await startKoa('koa', (_app, router) => {
        router.get('/work', async (ctx) => {
          const back = await fetch(`${peers.express!.url}/callback`)
          ctx.body = { callback: await back.json() }
        })
      }),
    )
    const express = realServices.add(
      await startExpress('express', (app) => {
        app.get('/callback', (_req, res) => void res.json({ from: 'express' }))
        app.get('/start', async (_req, res) => {
          const response = await fetch(`${koa.url}/work`, { headers: { accept: 'application/json' } })
          res.json({ koa: await response.json() })
        })
      }),
    )
    peers.express = express

    const response = await globalThis.fetch(`${express.url}/start`, { headers: { 'x-request-id': 'req-42' } })
    await expect(response.json()).resolves.toEqual({ koa: { callback: { from: 'express' } } })
    await realServices.idle()

    const spans = tracing.spans()
    expect(serverSpans()).toHaveLength(3)
    expect(clientSpans()).toHaveLength(2)
    expect(new Set(spans.map((span) => span.spanContext().traceId)).size).toBe(1)
    // Each server span's parent is the CLIENT span that called it.
    const byId = new Map(spans.map((span) => [span.spanContext().spanId, span]))
    const work = serverSpans().find((span) => span.name === 'GET /work')!
    expect(byId.get(work.parentSpanContext!.spanId)!.kind).toBe(SpanKind.CLIENT)
    expect(byId.get(work.parentSpanContext!.spanId)!.attributes['server.port']).toBe(koa.port)
    const callback = serverSpans().find((span) => span.name === 'GET /callback')!
    expect(byId.get(callback.parentSpanContext!.spanId)!.kind).toBe(SpanKind.CLIENT)
    expect(byId.get(callback.parentSpanContext!.spanId)!.parentSpanContext!.spanId).toBe(
      work.spanContext().spanId,
    )
    // The request ID the first service received travels with the trace; the caller's header survives.
    expect(koa.received[0]!.headers['x-request-id']).toBe('req-42')
    expect(koa.received[0]!.headers.accept).toBe('application/json')
    expect(express.received[1]!.headers['x-request-id']).toBe('req-42')
  })

  it('records the CLIENT span like the OpenTelemetry HTTP conventions ask', async () => {
    const api = await service('api', (req, res) =>
      sendJson(res, req.url!.startsWith('/missing') ? 404 : 200, {}),
    )
    const fetch = traceFetch(globalThis.fetch)
    await inSpan(async () => {
      await fetch(`http://127.0.0.1:${api.port}/orders/7?token=abc#frag`)
      await fetch(new URL(`${api.url}/missing?x=1`), { method: 'post', body: 'x' })
    })
    const [ok, missing] = clientSpans()
    expect(ok!.name).toBe('GET')
    expect(ok!.attributes).toEqual({
      'http.request.method': 'GET',
      'url.full': `http://127.0.0.1:${api.port}/orders/7`,
      'server.address': '127.0.0.1',
      'server.port': api.port,
      'http.response.status_code': 200,
    })
    expect(ok!.status.code).toBe(SpanStatusCode.UNSET)
    expect(missing!.name).toBe('POST')
    expect(missing!.attributes).toMatchObject({ 'http.response.status_code': 404, 'error.type': '404' })
    expect(missing!.status.code).toBe(SpanStatusCode.ERROR)
  })

  it('never puts credentials in url.full', async () => {
    // Node's fetch refuses URLs with credentials; other fetch implementations may not.
    const fetch = traceFetch(async (_input: string) => new Response('ok'))
    await inSpan(() => fetch('https://user:secret@api.example.test:8443/x?q=1'))
    expect(clientSpans()[0]!.attributes['url.full']).toBe('https://api.example.test:8443/x')
  })

  it('keeps the query with captureQuery, and marks a network error with its name', async () => {
    const api = await service('api', echo)
    const port = await closedPort()
    const fetch = traceFetch(globalThis.fetch, { captureQuery: true })
    const networkError = await inSpan(async () => {
      await fetch(`${api.url}/search?q=shoes`)
      return fetch(`http://127.0.0.1:${port}/`).catch((error: unknown) => error)
    })
    expect(isFetchFailure(networkError)).toBe(true)
    const [search, failed] = clientSpans()
    expect(search!.attributes['url.full']).toBe(`${api.url}/search?q=shoes`)
    expect(failed!.attributes['error.type']).toBe('TypeError')
    expect(failed!.status.code).toBe(SpanStatusCode.ERROR)
    expect(failed!.events.map((event) => event.name)).toEqual(['exception'])
  })

  it('ends the span when the headers arrive, without waiting for the body', async () => {
    let finishBody: (() => void) | undefined
    const slow = await service('slow', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.write('first part;')
      finishBody = () => res.end('rest')
    })
    const fetch = traceFetch(globalThis.fetch)
    const response = await inSpan(() => fetch(slow.url))
    expect(clientSpans()).toHaveLength(1) // ended (exported) while the body is still open
    finishBody!()
    await expect(response.text()).resolves.toBe('first part;rest')
  })
})

describe('traceFetch: where headers may go', () => {
  it('a call outside propagateTo gets a CLIENT span but no trace, baggage or request-ID headers', async () => {
    const inside = await service('inside', echo)
    const outside = await service('outside', echo)
    const fetch = traceFetch(globalThis.fetch, { propagateTo: [inside.url] })
    const baggage = propagation.createBaggage({ tenant: { value: 'acme' } })
    await inSpan(() => {
      const ctx = setRequestState(propagation.setBaggage(context.active(), baggage), {
        requestId: 'req-7',
        correlationAttributes: {},
      })
      return context.with(ctx, async () => {
        await fetch(`${inside.url}/a`)
        await fetch(`${outside.url}/b`)
      })
    })
    expect(inside.requests[0]!.headers).toMatchObject({ baggage: 'tenant=acme', 'x-request-id': 'req-7' })
    expect(inside.requests[0]!.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)
    for (const name of TRACE_HEADERS) expect(outside.requests[0]!.headers[name]).toBeUndefined()
    expect(clientSpans().map((span) => span.attributes['server.port'])).toEqual([inside.port, outside.port])
    expect(
      warnings.some((w) => w.includes(`127.0.0.1:${outside.port}`) && w.includes('traceFetch.propagateTo')),
    ).toBe(true)
  })

  it('by default sends headers to private destinations such as 127.0.0.1', async () => {
    const api = await service('api', echo)
    await inSpan(() => traceFetch(globalThis.fetch)(api.url))
    expect(api.requests[0]!.headers.traceparent).toBeDefined()
  })

  it("headers passed by the caller survive unchanged, in every form, and the caller's objects are untouched", async () => {
    const api = await service('api', echo)
    const fetch = traceFetch(globalThis.fetch)
    const record = {
      'X-Custom': 'one',
      'x-request-id': 'mine',
      traceparent: '00-' + '1'.repeat(32) + '-' + '2'.repeat(16) + '-01',
    }
    const headers = new Headers({ 'x-custom': 'two', authorization: 'Bearer t' })
    const pairs: [string, string][] = [['x-custom', 'three']]
    const init = { headers: record, method: 'GET' }
    const request = new Request(`${api.url}/req`, { headers: { 'x-custom': 'four' } })
    const before = JSON.stringify({ record, pairs, init })
    await inSpan(async () => {
      await fetch(`${api.url}/record`, init)
      await fetch(`${api.url}/headers`, { headers })
      await fetch(`${api.url}/pairs`, { headers: pairs })
      await fetch(request)
    })
    expect(JSON.stringify({ record, pairs, init })).toBe(before)
    expect([...headers.keys()]).toEqual(['authorization', 'x-custom'])
    expect(request.headers.get('traceparent')).toBeNull()

    const seen = api.requests.map((r) => r.headers)
    expect(seen.map((h) => h['x-custom'])).toEqual(['one', 'two', 'three', 'four'])
    expect(seen[1]!.authorization).toBe('Bearer t')
    // The caller's own request ID is kept; a stale traceparent is replaced by our CLIENT span's.
    expect(seen[0]!['x-request-id']).toBe('mine')
    const ours = clientSpans()[0]!.spanContext()
    expect(seen[0]!.traceparent).toBe(`00-${ours.traceId}-${ours.spanId}-01`)
    for (const h of seen) expect(h.traceparent).toMatch(/^00-/)
  })

  it('inside a non-sampled request, calls still carry the trace with a fresh parent ID and the sampled bit off', async () => {
    const api = await service('api', echo)
    const fetch = traceFetch(globalThis.fetch)
    const remote = { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: 0, isRemote: true }
    const incoming = trace.setSpanContext(ROOT_CONTEXT, remote)
    await context.with(incoming, () =>
      tracer().startActiveSpan('handler', async (span) => {
        await fetch(api.url)
        span.end()
      }),
    )
    const [, traceId, parentId, flags] = api.requests[0]!.headers.traceparent!.toString().split('-')
    expect(traceId).toBe('a'.repeat(32))
    expect(flags).toBe('00')
    expect(parentId).not.toBe('b'.repeat(16))
    expect(parentId).toMatch(/^[0-9a-f]{16}$/)
    expect(clientSpans()).toHaveLength(0)
  })

  it('outside any span starts no span, unless startRootSpans is on', async () => {
    const api = await service('api', echo)
    await traceFetch(globalThis.fetch)(api.url)
    expect(clientSpans()).toHaveLength(0)
    expect(api.requests[0]!.headers.traceparent).toBeUndefined()

    await traceFetch(globalThis.fetch, { startRootSpans: true })(api.url)
    const [root] = clientSpans()
    expect(root!.parentSpanContext).toBeUndefined()
    expect(api.requests[1]!.headers.traceparent).toContain(root!.spanContext().spanId)
  })
})

describe('traceFetch: redirects', () => {
  async function redirectPair() {
    const target = await service('third-party', echo)
    const origin = await service('origin', (_req, res) => {
      res.writeHead(302, { location: `${target.url}/landing` })
      res.end()
    })
    return { origin, target }
  }

  it("native redirects re-send our headers to the target (the Fetch spec's behaviour, documented)", async () => {
    const { origin, target } = await redirectPair()
    const fetch = traceFetch(globalThis.fetch, { propagateTo: [origin.url] })
    await inSpan(() => fetch(`${origin.url}/go`))
    expect(target.requests[0]!.headers.traceparent).toBeDefined()
  })

  it("followRedirects: 'traced' follows hop by hop and strips our headers outside propagateTo", async () => {
    const { origin, target } = await redirectPair()
    const fetch = traceFetch(globalThis.fetch, { propagateTo: [origin.url], followRedirects: 'traced' })
    const response = await inSpan(() => fetch(`${origin.url}/go`, { headers: { 'x-custom': 'kept' } }))
    await expect(response.json()).resolves.toEqual({ ok: true })
    expect(origin.requests[0]!.headers.traceparent).toBeDefined()
    expect(target.requests[0]!.headers['x-custom']).toBe('kept')
    for (const name of TRACE_HEADERS) expect(target.requests[0]!.headers[name]).toBeUndefined()
    const hops = clientSpans()
    expect(hops.map((span) => span.attributes['http.response.status_code'])).toEqual([302, 200])
    expect(hops.map((span) => span.attributes['http.request.resend_count'])).toEqual([undefined, 1])
  })
})

describe('traceFetch: retries', () => {
  function flakyService(failures: number, status = 503, headers: Record<string, string> = {}) {
    let calls = 0
    return service('flaky', (_req, res) => {
      calls++
      if (calls <= failures) return sendJson(res, status, { attempt: calls }, headers)
      sendJson(res, 200, { attempt: calls })
    })
  }

  it('a traced fetch inside tracedRetry reports the resends of the attempts before it (http.request.resend_count)', async () => {
    const flaky = await flakyService(2)
    const fetch = traceFetch(globalThis.fetch) // no client-side retry: tracedRetry does the resending
    const body = await inSpan(() =>
      tracedRetry(
        async () => {
          const response = await fetch(`${flaky.url}/charge`)
          if (!response.ok) throw new Error(`status ${response.status}`)
          return response.json()
        },
        { retries: 3, minTimeout: 1, name: 'charge' },
      ),
    )
    expect(body).toEqual({ attempt: 3 })
    const attempts = tracing.spans().filter((span) => span.name === 'charge attempt')
    const clients = clientSpans()
    expect(clients.map((span) => span.attributes['http.request.resend_count'])).toEqual([undefined, 1, 2])
    clients.forEach((client, i) =>
      expect(client.parentSpanContext?.spanId).toBe(attempts[i]!.spanContext().spanId),
    )
  })

  it('retries a flaky server and traces every attempt with its resend count', async () => {
    const flaky = await flakyService(2)
    const fetch = traceFetch(globalThis.fetch, { retry: { minTimeout: 1 } })
    const response = await inSpan(() => fetch(`${flaky.url}/items`))
    expect(response.status).toBe(200)
    await expect(response.json()).resolves.toEqual({ attempt: 3 })

    const operation = tracing.spans().find((span) => span.name === 'retry GET')!
    expect(operation.attributes).toMatchObject({
      'retry.max_attempts': 4,
      'retry.total_attempts': 3,
      'retry.succeeded_at_attempt': 3,
    })
    const attempts = tracing.spans().filter((span) => span.name === 'retry GET attempt')
    expect(attempts.map((span) => span.attributes['error.type'])).toEqual([
      'HttpStatusError',
      'HttpStatusError',
      undefined,
    ])
    const clients = clientSpans()
    expect(clients.map((span) => span.attributes['http.request.resend_count'])).toEqual([undefined, 1, 2])
    expect(clients.map((span) => span.attributes['http.response.status_code'])).toEqual([503, 503, 200])
    clients.forEach((client, i) =>
      expect(client.parentSpanContext?.spanId).toBe(attempts[i]!.spanContext().spanId),
    )
    // Each attempt carried its own CLIENT span as the parent.
    const parents = flaky.requests.map((r) => String(r.headers.traceparent).split('-')[2])
    expect(parents).toEqual(clients.map((span) => span.spanContext().spanId))
  })

  it('honours Retry-After and hands the last response to the caller when retries run out', async () => {
    const flaky = await flakyService(10, 429, { 'retry-after': '0' })
    const fetch = traceFetch(globalThis.fetch, { retry: { retries: 2, minTimeout: 60_000 } })
    // A 60 s backoff would time the test out: Retry-After: 0 must replace it.
    const response = await inSpan(() => fetch(flaky.url))
    expect(response.status).toBe(429)
    await expect(response.json()).resolves.toEqual({ attempt: 3 })
    const attempts = tracing.spans().filter((span) => span.name === 'retry GET attempt')
    expect(attempts.map((span) => span.attributes['retry.backoff_ms'])).toEqual([0, 0, undefined])
    expect(tracing.spans().find((span) => span.name === 'retry GET')!.attributes['retry.all_failed']).toBe(
      true,
    )
  })

  it('does not retry POST by default, nor 4xx other than 408 and 429', async () => {
    const flaky = await flakyService(1)
    const fetch = traceFetch(globalThis.fetch, { retry: { minTimeout: 1 } })
    expect((await fetch(flaky.url, { method: 'POST', body: 'x' })).status).toBe(503)
    const notFound = await service('not-found', (_req, res) => sendJson(res, 404, {}))
    expect((await fetch(notFound.url)).status).toBe(404)
    expect(flaky.requests).toHaveLength(1)
    expect(notFound.requests).toHaveLength(1)
  })

  it('retries network errors and rethrows the last one unchanged', async () => {
    const port = await closedPort()
    const fetch = traceFetch(globalThis.fetch, { retry: { retries: 1, minTimeout: 1 }, startRootSpans: true })
    const error = await fetch(`http://127.0.0.1:${port}/`).catch((e: unknown) => e)
    expect(isFetchFailure(error)).toBe(true)
    expect(clientSpans()).toHaveLength(2)
  })

  it('an abort mid-retry ends everything at once, long before the next backoff', async () => {
    const flaky = await flakyService(100)
    const controller = new AbortController()
    const fetch = traceFetch(globalThis.fetch, {
      // A one-hour backoff: only the abort can settle this call within the test's timeout.
      retry: {
        minTimeout: 3_600_000,
        maxTimeout: 3_600_000,
        onFailedAttempt: () => void setImmediate(() => controller.abort()),
      },
    })
    const outcome = await inSpan(() => fetch(flaky.url, { signal: controller.signal })).catch(
      (e: unknown) => e,
    )
    expect((outcome as Error).name).toBe('AbortError')
    expect(flaky.requests).toHaveLength(1)
    const operation = tracing.spans().find((span) => span.name === 'retry GET')!
    expect(operation.attributes).toMatchObject({ 'retry.aborted': true, 'retry.total_attempts': 1 })
    expect(operation.status.code).toBe(SpanStatusCode.ERROR)
    expect(tracing.spans().every((span: ReadableSpan) => span.ended)).toBe(true)
  })
})

describe('traceFetch: fail open', () => {
  it.each(['start', 'end'] as const)(
    'a tracer that throws at %s never replaces the result or the error',
    async (where) => {
      const api = await service('api', echo)
      const port = await closedPort()
      const fetch = traceFetch(globalThis.fetch, {
        tracer: throwingTracer(where, { setAttributeThrows: true }),
      })
      const response = await inSpan(() => fetch(api.url))
      await expect(response.json()).resolves.toEqual({ ok: true })
      const error = await inSpan(() => fetch(`http://127.0.0.1:${port}/`)).catch((e: unknown) => e)
      expect(isFetchFailure(error)).toBe(true)
    },
  )

  it('a propagator that throws on inject never replaces the result or the error', async () => {
    const api = await service('api', echo)
    const port = await closedPort()
    propagation.disable()
    propagation.setGlobalPropagator({
      inject() {
        throw new Error('propagator broke')
      },
      extract: (ctx) => ctx,
      fields: () => [],
    })
    try {
      const fetch = traceFetch(globalThis.fetch)
      const response = await inSpan(() => fetch(api.url, { headers: { 'x-custom': 'kept' } }))
      await expect(response.json()).resolves.toEqual({ ok: true })
      expect(api.requests[0]!.headers['x-custom']).toBe('kept')
      const error = await inSpan(() => fetch(`http://127.0.0.1:${port}/`)).catch((e: unknown) => e)
      expect(isFetchFailure(error)).toBe(true)
    } finally {
      propagation.disable()
      propagation.setGlobalPropagator(
        new CompositePropagator({
          propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
        }),
      )
    }
  })

  it("the caller's own fetch errors and results pass through unchanged", async () => {
    const own = new Error('custom fetch refused')
    const fetch = traceFetch(async (input: string) => {
      if (input.endsWith('/refuse')) throw own
      return new Response('custom', { status: 201 })
    })
    await expect(inSpan(() => fetch('http://127.0.0.1:1/refuse'))).rejects.toBe(own)
    const response = await inSpan(() => fetch('http://127.0.0.1:1/ok'))
    expect(response.status).toBe(201)
    // A relative URL is fetch's own error to report: passed through untouched.
    await expect(fetch('/relative')).resolves.toBeInstanceOf(Response)
  })

  it('calls made while tracing is suppressed (an exporter) are not traced', async () => {
    const api = await service('api', echo)
    const fetch = traceFetch(globalThis.fetch)
    await inSpan(() => context.with(suppressTracing(context.active()), () => fetch(api.url)))
    expect(clientSpans()).toHaveLength(0)
    expect(api.requests[0]!.headers.traceparent).toBeUndefined()
  })
})

describe('instrumentGlobalFetch()', () => {
  it('swaps the global fetch, does not double-wrap, and undoes', async () => {
    const api = await service('api', echo)
    const original = globalThis.fetch
    const undo = instrumentGlobalFetch()
    try {
      expect(instrumentGlobalFetch()).toBe(undo)
      expect(traceFetch(globalThis.fetch)).toBe(globalThis.fetch)
      await inSpan(() => fetch(api.url))
      expect(clientSpans()).toHaveLength(1)
      expect(api.requests[0]!.headers.traceparent).toBeDefined()
    } finally {
      undo()
    }
    expect(globalThis.fetch).toBe(original)
    undo()
    expect(globalThis.fetch).toBe(original)
  })
})

describe('traceFetch: bad configuration fails at setup', () => {
  it.each([
    [
      { propagateTo: ['https://x.test/path'] },
      /^traceweave: `traceFetch.propagateTo` must list origins as .*; got 'https:\/\/x.test\/path' in the list$/,
    ],
    [{ retry: { retries: -1 } }, 'traceweave: `traceFetch.retry.retries` must be an integer >= 0; got -1'],
    [
      { retry: { methods: ['get'] } },
      "traceweave: `traceFetch.retry.methods` must be an array of uppercase method names, e.g. ['GET', 'PUT']; got an array of 1 item",
    ],
    [
      { followRedirects: 'manual' },
      "traceweave: `traceFetch.followRedirects` must be one of 'native', 'traced'; got 'manual'",
    ],
    [
      { requestIdHeader: 'bad header' },
      "traceweave: `traceFetch.requestIdHeader` must be a header name (an RFC 9110 token) or false; got 'bad header'",
    ],
    [{ captureQuery: 'yes' }, "traceweave: `traceFetch.captureQuery` must be true or false; got 'yes'"],
  ])('%p fails with a ConfigError naming the option and its valid values', (options, message) => {
    expect(() => traceFetch(globalThis.fetch, options as never)).toThrow(message)
  })
})
