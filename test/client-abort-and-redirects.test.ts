import type { IncomingHttpHeaders } from 'node:http'
import { getEventListeners } from 'node:events'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import {
  DiagLogLevel,
  ROOT_CONTEXT,
  SpanKind,
  TraceFlags,
  context,
  diag,
  propagation,
  trace,
} from '@opentelemetry/api'
import {
  CompositePropagator,
  TraceState,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core'
import axios, { AxiosError } from 'axios'
import { traceAxios, traceFetch } from '@traceweave/client'
import { linkCount } from '../packages/client/src/shared/signals'
import { listen } from './support/servers'
import { startTestTracing, type TestTracing } from './support/tracing'

// retry.signal and redirects, for every client: fetch, axios with its fetch adapter, axios with node's
// http adapter. Real servers on 127.0.0.1; the "outside" host of the redirect tests listens on
// 127.0.0.2, and every client names an explicit propagateTo that excludes it (loopback as a whole is
// allowed by default).

let tracing: TestTracing
beforeAll(() => {
  tracing = startTestTracing()
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  )
  diag.setLogger({ error() {}, warn() {}, info() {}, debug() {}, verbose() {} }, DiagLogLevel.ERROR)
})
afterEach(() => tracing.reset())
afterAll(async () => {
  await tracing.shutdown()
  diag.disable()
})

interface Host {
  readonly url: string
  readonly requests: { path: string; headers: IncomingHttpHeaders }[]
  close(): Promise<void>
}

const hosts: Host[] = []
afterEach(async () => void (await Promise.all(hosts.splice(0).map((host) => host.close()))))

/** A server that records every request; `answer` may leave a request unanswered. */
async function host(
  address: string,
  answer: (path: string, res: import('node:http').ServerResponse) => void,
): Promise<Host> {
  const requests: Host['requests'] = []
  const { url, close } = await listen(
    (req, res) => {
      requests.push({ path: req.url ?? '/', headers: { ...req.headers } })
      answer(req.url ?? '/', res)
    },
    { host: address },
  )
  const started = { url, requests, close }
  hosts.push(started)
  return started
}

const ok = (_path: string, res: import('node:http').ServerResponse) => {
  res.writeHead(200, { 'content-type': 'application/json' })
  res.end('{"ok":true}')
}
const neverAnswer = () => {}

/** Runs `fn` in a sampled span whose context also carries a tracestate and baggage. */
function inRichContext<T>(fn: () => Promise<T>): Promise<T> {
  const remote = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: '00f067aa0ba902b7',
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
    traceState: new TraceState('vendor=opaque'),
  })
  const withBaggage = propagation.setBaggage(remote, propagation.createBaggage({ tenant: { value: 'acme' } }))
  return context.with(withBaggage, () =>
    trace.getTracer('test').startActiveSpan('handler', async (span) => {
      try {
        return await fn()
      } finally {
        span.end()
      }
    }),
  )
}

/** Settles with the outcome, or with 'still pending' after `ms`: a hang fails with a clear message. */
function settleWithin<T>(
  promise: Promise<T>,
  ms: number,
): Promise<{ value?: T; error?: unknown } | 'still pending'> {
  let timer: NodeJS.Timeout | undefined
  const guard = new Promise<'still pending'>(
    (resolve) => (timer = setTimeout(() => resolve('still pending'), ms)),
  )
  return Promise.race([
    promise.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    ),
    guard,
  ]).finally(() => clearTimeout(timer))
}

const TRACE_CONTEXT_HEADERS = ['traceparent', 'tracestate', 'baggage']
const errorName = (outcome: { error?: unknown } | 'still pending') =>
  outcome === 'still pending' ? outcome : (outcome.error as { name?: string } | undefined)?.name

type Send = (url: string, init?: { method?: string; signal?: AbortSignal }) => Promise<unknown>

/** The three clients, each with the options given. */
const clients: [string, (options: Record<string, unknown>) => Send][] = [
  [
    'fetch',
    (options) => {
      const fetch = traceFetch(globalThis.fetch, options)
      return (url, init) => fetch(url, init)
    },
  ],
  [
    "axios's fetch adapter",
    (options) => {
      const instance = axios.create({ adapter: 'fetch' })
      undos.push(traceAxios(instance, options))
      return (url, init) => instance.request({ url, method: init?.method ?? 'get', signal: init?.signal })
    },
  ],
  [
    "axios's http adapter",
    (options) => {
      const instance = axios.create({ adapter: 'http' })
      undos.push(traceAxios(instance, options))
      return (url, init) => instance.request({ url, method: init?.method ?? 'get', signal: init?.signal })
    },
  ],
]
const undos: (() => void)[] = []
afterEach(() => undos.splice(0).forEach((undo) => undo()))

describe.each(clients)('retry.signal aborts the attempt in flight (%s)', (_name, client) => {
  it('a call to a server that never answers settles when retry.signal aborts, retried method or not', async () => {
    const silent = await host('127.0.0.1', neverAnswer)
    const send = client({ retry: { signal: AbortSignal.timeout(300), minTimeout: 1 } })
    // The README: retry.signal "stops the loop" and aborts the attempt in flight. Before the fix the
    // GET was still pending after minutes; 15 s is a generous bound on a loaded machine.
    const get = await settleWithin(send(silent.url), 15_000)
    expect(get).not.toBe('still pending')
    expect((get as { error?: unknown }).error).toBeDefined()
    const post = await settleWithin(send(silent.url, { method: 'POST' }), 15_000)
    expect(post).not.toBe('still pending')
    expect((post as { error?: unknown }).error).toBeDefined()
  })

  it("the caller's own signal still aborts the call when retry.signal is set too", async () => {
    const silent = await host('127.0.0.1', neverAnswer)
    const longLived = new AbortController()
    const send = client({ retry: { signal: longLived.signal, minTimeout: 1 } })
    const caller = new AbortController()
    const pending = settleWithin(send(silent.url, { signal: caller.signal }), 15_000)
    setTimeout(() => caller.abort(), 50)
    const outcome = await pending
    expect(outcome).not.toBe('still pending')
    expect(['AbortError', 'CanceledError']).toContain(errorName(outcome))
    expect(longLived.signal.aborted).toBe(false)
  })
})

describe('linking the caller signal with retry.signal', () => {
  function collectGarbage(): () => void {
    setFlagsFromString('--expose-gc')
    return runInNewContext('gc') as () => void
  }

  it.each(clients)(
    'puts at most one listener on a long-lived caller signal and retry.signal, however many calls (%s)',
    async (_name, client) => {
      const gc = collectGarbage()
      const api = await host('127.0.0.1', ok)
      const callerSignal = new AbortController().signal // e.g. the app's shutdown signal
      const retrySignal = new AbortController().signal
      const send = client({ retry: { signal: retrySignal, minTimeout: 1 } })
      const listeners = () =>
        Math.max(
          getEventListeners(callerSignal, 'abort').length,
          getEventListeners(retrySignal, 'abort').length,
        )
      let most = 0
      for (let i = 0; i < 300; i++) {
        // Every other call has no signal of its own: then only retry.signal bounds it.
        const response = await send(api.url, i % 2 === 0 ? { signal: callerSignal } : {})
        // fetch hands back an unread body; read it as a user would.
        if (response instanceof Response) await response.text()
        most = Math.max(most, listeners())
      }
      // One fan-out listener per long-lived signal, however many calls are linked to it.
      expect(most).toBeLessThanOrEqual(1)
      // And the links themselves go when the calls are collected (a keep-alive socket may still hold
      // the last call's config, hence "at most one" rather than none).
      for (let round = 0; round < 50 && linkCount(callerSignal) > 1; round++) {
        gc()
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      expect(linkCount(callerSignal)).toBeLessThanOrEqual(1)
      expect(linkCount(retrySignal)).toBeLessThanOrEqual(1)
    },
  )
})

describe.each(clients)('a redirect outside propagateTo carries no trace context (%s)', (name, client) => {
  it('the outside host (127.0.0.2) receives no traceparent, tracestate or baggage; the inside one does', async () => {
    const outside = await host('127.0.0.2', ok)
    const origin = await host('127.0.0.1', (path, res) => {
      if (path === '/inside') return ok(path, res)
      res.writeHead(302, { location: path === '/away' ? `${outside.url}/landing` : '/inside' })
      res.end()
    })
    const options = name === 'fetch' ? { followRedirects: 'traced' } : {}
    const send = client({ ...options, propagateTo: [origin.url] })
    await inRichContext(async () => {
      await send(`${origin.url}/away`)
      await send(`${origin.url}/stay`)
    })
    expect(outside.requests).toHaveLength(1)
    for (const header of TRACE_CONTEXT_HEADERS) expect(outside.requests[0]!.headers[header]).toBeUndefined()
    // The same headers do reach a hop inside propagateTo, so the check above can fail.
    const inside = origin.requests.find((request) => request.path === '/inside')!
    expect(inside.headers.traceparent).toBeDefined()
    expect(inside.headers.tracestate).toBe('vendor=opaque')
    expect(inside.headers.baggage).toBe('tenant=acme')
  })
})

describe("axios's fetch adapter: redirects we follow behave as the Fetch spec says", () => {
  function traced(config: Parameters<typeof axios.create>[0] = {}) {
    const instance = axios.create({ adapter: 'fetch', ...config })
    undos.push(traceAxios(instance, { propagateTo: '*' }))
    return instance
  }

  it('each hop is its own CLIENT span; a 303 after POST becomes a bodiless GET', async () => {
    const target = await host('127.0.0.1', ok)
    const origin = await host('127.0.0.1', (_path, res) => {
      res.writeHead(303, { location: `${target.url}/done` })
      res.end()
    })
    const response = await inRichContext(() =>
      traced().post(`${origin.url}/form`, { a: 1 }, { headers: { authorization: 'secret' } }),
    )
    expect(response.data).toEqual({ ok: true })
    const clientSpans = tracing.spans().filter((span) => span.kind === SpanKind.CLIENT)
    expect(clientSpans.map((span) => [span.name, span.attributes['http.response.status_code']])).toEqual([
      ['POST', 303],
      ['GET', 200],
    ])
    expect(clientSpans[1]!.attributes['http.request.resend_count']).toBe(1)
    const landed = target.requests[0]!
    expect(landed.path).toBe('/done')
    expect(landed.headers['content-type']).toBeUndefined()
    // Another origin (another port): the credential stays behind.
    expect(landed.headers.authorization).toBeUndefined()
  })

  it('keeps maxRedirects: past it the redirect is the answer, an AxiosError of the right class', async () => {
    const loop = await host('127.0.0.1', (path, res) => {
      res.writeHead(302, { location: `/${Number(path.slice(1)) + 1}` })
      res.end()
    })
    const error = await traced({ maxRedirects: 2 })
      .get(`${loop.url}/0`)
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AxiosError)
    expect(axios.isAxiosError(error)).toBe(true)
    expect((error as AxiosError).response?.status).toBe(302)
    expect(loop.requests.map((request) => request.path)).toEqual(['/0', '/1', '/2'])
  })
})

describe('traceAxios finds the adapter lookup of the instance', () => {
  it('traceAxios(axios.create()) works without getAdapter, and errors keep their class', async () => {
    const api = await host('127.0.0.1', (path, res) => {
      res.writeHead(path === '/missing' ? 404 : 200, { 'content-type': 'application/json' })
      res.end('{}')
    })
    const instance = axios.create()
    undos.push(traceAxios(instance))
    await inRichContext(() => instance.get(api.url))
    expect(api.requests[0]!.headers.traceparent).toBeDefined()
    const error = await instance.get(`${api.url}/missing`).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AxiosError)
    expect(axios.isAxiosError(error)).toBe(true)
  })

  it('an instance of no loaded axios fails at setup, naming the option; getAdapter still overrides', () => {
    // Looks like axios.create() but comes from no loaded axios module (like a bundled copy).
    const foreign = { defaults: { adapter: ['http'] }, interceptors: { request: new (class Manager {})() } }
    expect(() => traceAxios(foreign)).toThrow(
      /^traceweave: `traceAxios.getAdapter` must be given as \{ getAdapter: axios.getAdapter \}: .*; got none, with the adapter an array of 1 item$/,
    )
    expect(() => traceAxios(foreign, { getAdapter: 'http' as never })).toThrow(
      "traceweave: `traceAxios.getAdapter` must be a function (axios's getAdapter); got 'http'",
    )
    const undo = traceAxios(foreign, { getAdapter: axios.getAdapter })
    expect(typeof foreign.defaults.adapter).toBe('function')
    undo()
    expect(foreign.defaults.adapter).toEqual(['http'])
  })
})
