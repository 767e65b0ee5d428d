/**
 * No bleed between concurrent requests: 1,000 requests in flight at once (each handler waits until all
 * have arrived), with distinct trace IDs, request IDs, sessions and users, each doing awaits, timers,
 * fan-out and an outgoing traced fetch. Every span's trace ID and correlation attributes belong to its
 * own request, every answer names its own request, and the downstream service sees each request's own
 * trace and request ID. On Express 5 and Koa 3, with the real SDK (memory exporter) in this process.
 */
import { trace } from '@opentelemetry/api'
import { traceFetch } from '@traceweave/client'
import { getRequestId } from '@traceweave/core'
import { traceweave as expressTraceweave } from '@traceweave/express'
import { traceweave as koaTraceweave } from '@traceweave/koa'
import { setupTracing, type MemoryTracingHandle } from '@traceweave/node'
import { request, type IncomingMessage } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { elapsedSince, recordFigures, scaled } from '../support/reliability/run-config'
import { listen, type ListeningServer, type RequestHandler } from '../support/servers'

const express5 = require('express5') as typeof import('express')
const Koa3 = require('koa3') as typeof import('koa')
const KoaRouter = require('@koa/router').Router as typeof import('@koa/router').Router

const CONCURRENT = scaled(1000)
/** How long a handler waits for the others before going on anyway (then the test fails on the count). */
const BARRIER_TIMEOUT_MILLIS = 30000

let tracing: MemoryTracingHandle
const servers: ListeningServer[] = []
const figures: Record<string, unknown> = {}
const suiteStart = performance.now()

/** The downstream service: plain node:http, no tracing; it remembers what each call carried. */
const downstreamSaw = new Map<string, { traceparent: string | undefined; requestId: string | undefined }>()
let downstreamPort = 0

async function serve(listener: RequestHandler): Promise<number> {
  const server = await listen(listener, { backlog: 4096 })
  servers.push(server)
  return server.port
}

beforeAll(async () => {
  tracing = setupTracing({
    serviceName: 'isolation',
    exporter: 'memory',
    memory: { maxSpans: 100000 },
    flushOnExit: false,
  })
  downstreamPort = await serve((req, res) => {
    const call = String(req.url).slice(1)
    const header = (name: string) =>
      typeof req.headers[name] === 'string' ? (req.headers[name] as string) : undefined
    downstreamSaw.set(call, { traceparent: header('traceparent'), requestId: header('x-request-id') })
    setTimeout(() => res.end('ok'), Math.random() * 5)
  })
})
afterAll(async () => {
  for (const server of servers) void server.close()
  await tracing.shutdown()
  recordFigures('contextIsolation', {
    ...figures,
    concurrentRequests: CONCURRENT,
    elapsedMs: elapsedSince(suiteStart),
  })
})

const tracedFetch = traceFetch(fetch)

/** Lets every handler wait until `CONCURRENT` are in flight, counting the most seen at once. */
function barrier() {
  let inFlight = 0
  let most = 0
  let release!: () => void
  const all = new Promise<void>((resolve) => (release = resolve))
  return {
    most: () => most,
    async enter(): Promise<void> {
      most = Math.max(most, ++inFlight)
      if (inFlight === CONCURRENT) release()
      await Promise.race([all, sleep(BARRIER_TIMEOUT_MILLIS, undefined, { ref: false })])
    },
    leave: () => inFlight--,
  }
}

/** One request's work: timers, awaits, fan-out of child spans and an outgoing call, all in its context. */
async function work(index: string): Promise<{ requestId: string | undefined; traceId: string | undefined }> {
  const tracer = trace.getTracer('isolation')
  await sleep(Math.random() * 10)
  await Promise.all([
    tracer.startActiveSpan('fan-out a', async (span) => {
      await new Promise((resolve) => setImmediate(resolve))
      span.end()
    }),
    tracer.startActiveSpan('fan-out b', async (span) => {
      await sleep(Math.random() * 5)
      span.end()
    }),
    tracedFetch(`http://127.0.0.1:${downstreamPort}/${index}`).then((response) => response.text()),
  ])
  await new Promise<void>((resolve) => setTimeout(resolve, 1))
  return { requestId: getRequestId(), traceId: trace.getActiveSpan()?.spanContext().traceId }
}

const user = (headers: IncomingMessage['headers']) => {
  const value = headers['x-user-id']
  return typeof value === 'string' ? value : undefined
}

async function startApp(framework: 'express5' | 'koa3', gate: ReturnType<typeof barrier>): Promise<number> {
  if (framework === 'express5') {
    const app = express5()
    app.use(expressTraceweave({ user: (req) => user(req.headers) }))
    app.get('/work/:index', async (req, res) => {
      await gate.enter()
      const result = await work(req.params.index)
      gate.leave()
      res.json(result)
    })
    return serve(app as never)
  }
  const app = new Koa3()
  app.silent = true
  app.use(koaTraceweave({ user: (ctx) => user(ctx.headers) }))
  const router = new KoaRouter()
  router.get('/work/:index', async (ctx) => {
    await gate.enter()
    ctx.body = await work(ctx.params.index)
    gate.leave()
  })
  app.use(router.routes())
  return serve(app.callback() as never)
}

const traceIdOf = (framework: string, i: number) =>
  `${framework === 'express5' ? 'a' : 'b'}${i.toString(16).padStart(31, '0')}`

function call(port: number, path: string, headers: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve(body))
    })
    req.on('error', reject)
    req.end()
  })
}

describe.each(['express5', 'koa3'] as const)('%s', (framework) => {
  it(`keeps ${CONCURRENT} concurrent requests apart: every span, answer and downstream call belongs to its own request`, async () => {
    const started = performance.now()
    tracing.memory.reset()
    downstreamSaw.clear()
    const gate = barrier()
    const port = await startApp(framework, gate)
    const expected = Array.from({ length: CONCURRENT }, (_, i) => ({
      index: `${framework}-${i}`,
      traceId: traceIdOf(framework, i),
      requestId: `req-${framework}-${i}`,
      session: `session-${framework}-${i}`,
      user: `user-${framework}-${i}`,
    }))
    const answers = await Promise.all(
      expected.map((request) =>
        call(port, `/work/${request.index}`, {
          traceparent: `00-${request.traceId}-${'1'.repeat(16)}-01`,
          'x-request-id': request.requestId,
          'x-session-id': request.session,
          'x-user-id': request.user,
        }),
      ),
    )
    // Server spans end as the response closes, which the client may see first.
    await sleep(200)
    const spans = tracing.memory.getFinishedSpans()
    const byTrace = new Map(expected.map((request) => [request.traceId, request]))
    const bleed: string[] = []
    for (const span of spans) {
      const own = byTrace.get(span.spanContext().traceId)
      const attributes = span.attributes
      if (own === undefined) {
        bleed.push(`${span.name}: trace ${span.spanContext().traceId} is no request's`)
        continue
      }
      const wrong = [
        attributes['request.id'] !== own.requestId && `request.id ${String(attributes['request.id'])}`,
        attributes['session.id'] !== own.session && `session.id ${String(attributes['session.id'])}`,
        attributes['user.id'] !== own.user && `user.id ${String(attributes['user.id'])}`,
      ].filter(Boolean)
      if (wrong.length > 0) bleed.push(`${span.name} of ${own.requestId}: ${wrong.join(', ')}`)
    }
    const wrongAnswers = answers.filter(
      (body, i) =>
        body !== JSON.stringify({ requestId: expected[i]!.requestId, traceId: expected[i]!.traceId }),
    )
    const wrongDownstream = expected.filter((request) => {
      const saw = downstreamSaw.get(request.index)
      return saw?.requestId !== request.requestId || saw.traceparent?.split('-')[1] !== request.traceId
    })
    figures[framework] = {
      requests: CONCURRENT,
      mostInFlight: gate.most(),
      spans: spans.length,
      elapsedMs: elapsedSince(started),
    }
    expect(gate.most()).toBe(CONCURRENT)
    expect(bleed.slice(0, 5)).toEqual([])
    expect(wrongAnswers.slice(0, 5)).toEqual([])
    expect(wrongDownstream.slice(0, 5)).toEqual([])
    // Server span, two fan-out spans and the client span of the outgoing call, per request.
    expect(spans.length).toBe(CONCURRENT * 4)
  }, 120000)
})
