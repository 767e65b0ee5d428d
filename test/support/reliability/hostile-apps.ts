/**
 * One small app per framework (Express 4/5, Koa 2/3), built twice: with `traceweave()` mounted first
 * and without it, so the reliability suite can send both the same bytes and compare the answers. The
 * routes echo what the app saw of the request's headers, so a traced app that changed the request
 * would answer differently.
 */
import { trace } from '@opentelemetry/api'
import { traceweave as expressTraceweave } from '@traceweave/express'
import { traceweave as koaTraceweave } from '@traceweave/koa'
import type { IncomingHttpHeaders } from 'node:http'
import type { Framework } from '../middleware-apps'

const express4 = require('express4') as typeof import('express')
const express5 = require('express5') as typeof import('express')
const Koa2 = require('koa2') as typeof import('koa')
const Koa3 = require('koa3') as typeof import('koa')
const KoaRouter = require('@koa/router').Router as typeof import('@koa/router').Router

/** The request headers the hostile generator sends, echoed back by `/users/:id`. */
export const ECHOED_HEADERS = [
  'traceparent',
  'tracestate',
  'baggage',
  'x-request-id',
  'x-session-id',
  'cookie',
  'x-user-id',
  'x-captured',
] as const

const seen = (headers: IncomingHttpHeaders) =>
  Object.fromEntries(ECHOED_HEADERS.map((name) => [name, headers[name] ?? null]))

async function childWork(): Promise<void> {
  await trace.getTracer('hostile').startActiveSpan('child work', async (span) => {
    await new Promise((resolve) => setImmediate(resolve))
    span.end()
  })
}

/** Every correlation input the middlewares read from a request, each taken from a hostile header. */
const headerOf = (headers: IncomingHttpHeaders, name: string) => {
  const value = headers[name]
  return typeof value === 'string' ? value : undefined
}

/** A request listener for `framework`, traced or not. */
export function hostileApp(framework: Framework, traced: boolean): (req: never, res: never) => void {
  if (framework === 'express4' || framework === 'express5') {
    const express = framework === 'express4' ? express4 : express5
    const app = express()
    app.set('etag', false)
    if (traced) {
      app.use(
        expressTraceweave({
          session: { header: 'x-session-id' },
          user: (req) => headerOf(req.headers, 'x-user-id'),
          captureHeaders: { request: ['x-captured', 'cookie', 'tracestate'], response: ['content-type'] },
          traceResponse: true,
        }),
      )
    }
    app.get('/users/:id', (req, res) => {
      res.json({ id: req.params.id, query: req.query, seen: seen(req.headers) })
    })
    app.get('/async/:id', async (req, res) => {
      await childWork()
      res.json({ id: req.params.id })
    })
    // The app's own error page: status and a fixed text (Express's default one prints the stack, which
    // differs by our frames, and logs every error).
    app.use((error: { status?: number }, _req: unknown, res: import('express').Response, _next: unknown) => {
      res.status(error.status ?? 500).send('error')
    })
    return app as never
  }
  const Koa = framework === 'koa2' ? Koa2 : Koa3
  const app = new Koa()
  app.silent = true
  if (traced) {
    app.use(
      koaTraceweave({
        session: { cookie: 'sid' },
        user: (ctx) => headerOf(ctx.headers, 'x-user-id'),
        captureHeaders: { request: ['x-captured', 'cookie', 'tracestate'], response: ['content-type'] },
        traceResponse: true,
      }),
    )
  }
  const router = new KoaRouter()
  router.get('/users/:id', (ctx) => {
    ctx.body = { id: ctx.params.id, query: ctx.query, seen: seen(ctx.headers) }
  })
  router.get('/async/:id', async (ctx) => {
    await childWork()
    ctx.body = { id: ctx.params.id }
  })
  app.use(router.routes())
  return app.callback() as never
}
