/**
 * Issue 10, sections 1 and 2, end to end: a caller's `tracestate` crosses a traced Express 4/5 or
 * Koa 2/3 service into a downstream service over real HTTP, as `setupTracing()` wires it. Level 2 keys
 * (`@` anywhere after the first character) pass, a key repeated across two header lines keeps its
 * first member and the rest of the list, an invalid `ot=rv` is erased, and nothing is injected under
 * `suppressTracing()`.
 */
import { context } from '@opentelemetry/api'
import { suppressTracing } from '@opentelemetry/core'
import { injectContext } from '@traceweave/core'
import { traceFetch } from '@traceweave/client'
import { traceweave as expressTraceweave } from '@traceweave/express'
import { traceweave as koaTraceweave } from '@traceweave/koa'
import { setupTracing, type MemoryTracingHandle } from '@traceweave/node'
import { get as httpGet, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http'
import request from 'supertest'
import { listen, type ListeningServer, type RequestHandler } from './support/servers'

const express4 = require('express4') as typeof import('express')
const express5 = require('express5') as typeof import('express')
const Koa2 = require('koa2') as typeof import('koa')
const Koa3 = require('koa3') as typeof import('koa')

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'
const CALLER = `00-${TRACE_ID}-00f067aa0ba902b7-03` // sampled + random

let downstream: ListeningServer
let received: IncomingHttpHeaders | undefined
let tracing: MemoryTracingHandle

beforeAll(async () => {
  tracing = setupTracing({ exporter: 'memory', flushOnExit: false })
  downstream = await listen((req, res) => {
    received = req.headers
    res.end('ok')
  })
})
afterAll(async () => {
  await downstream.close()
  await tracing.shutdown()
})
afterEach(() => {
  received = undefined
})

/** `/hop` calls the downstream with a traced fetch; `/suppressed` returns what injectContext writes under suppressTracing. */
async function hop(): Promise<void> {
  await (await traceFetch(fetch)(`${downstream.url}/inventory`)).text()
}
function injectedWhileSuppressed(): Record<string, string> {
  const headers: Record<string, string> = {}
  injectContext(headers, { context: suppressTracing(context.active()) })
  return headers
}

/** A GET over a real socket, so a header can go out as several lines. */
async function getWithHeaderLines(
  handler: RequestHandler,
  path: string,
  headers: OutgoingHttpHeaders,
): Promise<void> {
  const { port, close } = await listen(handler)
  try {
    await new Promise<void>((resolve, reject) => {
      httpGet({ host: '127.0.0.1', port, path, headers }, (res) => {
        expect(res.statusCode).toBe(200)
        res.resume().on('end', resolve).on('error', reject)
      }).on('error', reject)
    })
  } finally {
    await close()
  }
}

const APPS = {
  express4: () => expressApp(express4),
  express5: () => expressApp(express5),
  koa2: () => koaApp(Koa2),
  koa3: () => koaApp(Koa3),
}

function expressApp(express: typeof import('express')) {
  const app = express()
  app.use(expressTraceweave())
  app.get('/hop', async (_req, res) => {
    await hop()
    res.json({ ok: true })
  })
  app.get('/suppressed', (_req, res) => {
    res.json(injectedWhileSuppressed())
  })
  return app
}

function koaApp(Koa: typeof import('koa')) {
  const app = new Koa()
  app.use(koaTraceweave())
  app.use(async (ctx) => {
    if (ctx.path === '/hop') {
      await hop()
      ctx.body = { ok: true }
    } else if (ctx.path === '/suppressed') {
      ctx.body = injectedWhileSuppressed()
    }
  })
  return app.callback()
}

describe.each(Object.keys(APPS) as Array<keyof typeof APPS>)('%s', (framework) => {
  const app = APPS[framework]()

  it('forwards Level 2 keys (keychar = ... / "@") and keeps the first of a key repeated across tracestate lines (vendors MAY also discard duplicate keys)', async () => {
    const vendor = `t@${'v'.repeat(15)}`
    // Two real tracestate header lines (supertest sends one), which the server joins in order.
    await getWithHeaderLines(app, '/hop', {
      traceparent: CALLER,
      tracestate: ['foo@=1,rojo=2', `foo@=3,${vendor}=4`],
    })
    expect(received!.traceparent).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-03$`))
    expect(received!.tracestate).toBe(`foo@=1,rojo=2,${vendor}=4`)
  })

  it('still discards a list with a key that starts with @ (A key MUST begin with a lowercase letter or a digit)', async () => {
    await request(app).get('/hop').set('traceparent', CALLER).set('tracestate', '@foo=1,rojo=2').expect(200)
    expect(received!.traceparent).toMatch(new RegExp(`^00-${TRACE_ID}-`))
    expect(received!.tracestate).toBeUndefined()
  })

  it('erases an invalid ot=rv and keeps the rest of the tracestate', async () => {
    await request(app)
      .get('/hop')
      .set('traceparent', CALLER)
      .set('tracestate', 'rojo=1,ot=th:0;rv:NOT-HEX,congo=2')
      .expect(200)
    expect(received!.tracestate).toBe('ot=th:0,rojo=1,congo=2')
  })

  it('injects nothing under suppressTracing()', async () => {
    const response = await request(app).get('/suppressed').set('traceparent', CALLER).expect(200)
    expect(response.body).toEqual({})
  })
})
