/**
 * Equivalent Express 4, Express 5, Koa 2 and Koa 3 apps for the middleware tests: the same routes,
 * built the way a user would, so one table of requests can run against all four.
 */
import { propagation, trace } from '@opentelemetry/api'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import {
  CorrelationSpanProcessor,
  getRequestId,
  identifyUser,
  type TraceweaveOptions,
} from '@traceweave/core'
import { traceweave as expressTraceweave, traceweaveErrors, type ExpressRequest } from '@traceweave/express'
import { traceweave as koaTraceweave, type KoaContext } from '@traceweave/koa'
import { startTestTracing, type TestTracing } from './tracing'

const express4 = require('express4') as typeof import('express')
const express5 = require('express5') as typeof import('express')
const Koa2 = require('koa2') as typeof import('koa')
const Koa3 = require('koa3') as typeof import('koa')
const KoaRouter = require('@koa/router').Router as typeof import('@koa/router').Router

export type Framework = 'express4' | 'express5' | 'koa2' | 'koa3'
export const FRAMEWORKS: readonly Framework[] = ['express4', 'express5', 'koa2', 'koa3']

/** Options for either framework: their callbacks get an Express request or a Koa context. */
export type AnyFrameworkOptions = TraceweaveOptions<ExpressRequest | KoaContext>

/** A request header as one string, from an Express request or a Koa context (both have `headers`). */
export function headerOf(request: ExpressRequest | KoaContext, name: string): string | undefined {
  const value = request.headers[name]
  return typeof value === 'string' ? value : undefined
}

/** What supertest takes: an Express app or Koa's callback. */
export type Handler = Parameters<typeof import('supertest')>[0]

/** Anything the tests add on top of the shared routes, before the routes. */
export interface AppExtras {
  /** Express and Koa middleware that stands in for an auth layer calling identifyUser(). */
  auth?: boolean
  /** A catch-all RegExp route (dot-star) after the shared routes: no request of the app is a 404. */
  catchAll?: boolean
}

async function childWork(name: string): Promise<void> {
  const tracer = trace.getTracer('test-app')
  await tracer.startActiveSpan(name, async (span) => {
    await new Promise((resolve) => setImmediate(resolve))
    span.end()
  })
}

/** Builds one framework's app with the shared routes and traceweave(options) mounted first. */
export function buildApp(
  framework: Framework,
  options: AnyFrameworkOptions = {},
  extras: AppExtras = {},
): Handler {
  return buildAppWith(framework, options, extras).handler
}

/** The app and, for tests of error delivery, the errors the app's own error handling received. */
export function buildAppWith(
  framework: Framework,
  options: AnyFrameworkOptions = {},
  extras: AppExtras = {},
): { handler: Handler; appErrors: unknown[] } {
  const appErrors: unknown[] = []
  const handler = buildAppInner(framework, options, extras, appErrors)
  return { handler, appErrors }
}

function buildAppInner(
  framework: Framework,
  options: AnyFrameworkOptions,
  extras: AppExtras,
  appErrors: unknown[],
): Handler {
  return framework.startsWith('express')
    ? buildExpress(framework === 'express4' ? express4 : express5, options, extras, appErrors)
    : buildKoa(framework === 'koa2' ? Koa2 : Koa3, options, extras, appErrors)
}

function buildExpress(
  express: typeof import('express'),
  options: AnyFrameworkOptions,
  extras: AppExtras,
  appErrors: unknown[],
): Handler {
  const app = express()
  app.use(expressTraceweave(options))
  if (extras.auth) {
    app.use((req, _res, next) => {
      const user = req.get('x-test-auth')
      if (user !== undefined) identifyUser(user)
      next()
    })
  }
  app.use(express.json())
  app.get('/users/:id', (req, res) => {
    res.json({ id: req.params.id, requestId: getRequestId() })
  })
  const users = express.Router()
  users.get('/users/:id', (req, res) => {
    res.json({ id: req.params.id })
  })
  users.get('/', (_req, res) => {
    res.json({ team: true })
  })
  const teams = express.Router()
  teams.use('/teams/:teamId', users)
  app.use('/api', teams)
  app.get('/fail', () => {
    throw new Error('boom')
  })
  app.get('/bad', (_req, res) => {
    res.status(400).send('bad')
  })
  app.get('/async/:id', async (req, res) => {
    await childWork('load user')
    res.json({ id: req.params.id })
  })
  app.post('/echo', async (req, res) => {
    await childWork('store body')
    res.json(req.body)
  })
  app.get('/slow', (_req, res) => {
    setTimeout(() => res.end('late'), 300)
  })
  app.get('/late-user', async (_req, res) => {
    await lateUser()
    res.json({ ok: true })
  })
  addExpressRouteShapes(express, app)
  if (extras.catchAll) app.get(/.*/, (_req, res) => res.send('caught'))
  app.use(traceweaveErrors())
  app.use((error: unknown, _req: unknown, res: import('express').Response, _next: unknown) => {
    appErrors.push(error)
    res.status(500).send('Internal Server Error')
  })
  return app
}

/**
 * Every shape of route Express accepts besides string templates: RegExp and array routes, middleware
 * mounted at a path that answers the request, routers mounted with a RegExp or an array, a sub-app.
 */
function addExpressRouteShapes(express: typeof import('express'), app: import('express').Express): void {
  app.get(/\/test\/regex/, (_req, res) => {
    res.send('regex')
  })
  app.get(['/array/one', '/array/two/:id'], (_req, res) => {
    res.send('array')
  })
  app.use('/bare_middleware', (_req: unknown, res: import('express').Response) => {
    res.send('bare')
  })
  // Passed through (it calls next) on the way to a route: it must not name the request.
  app.use('/passing', (_req, _res, next) => next())
  app.get('/passing/through', (_req, res) => {
    res.send('passed')
  })
  const router = express.Router()
  router.use('/x', (_req: unknown, res: import('express').Response) => {
    res.send('router middleware')
  })
  router.get(/\/inner\/regex/, (_req, res) => {
    res.send('router regex')
  })
  app.use('/router', router)
  const regexMounted = express.Router()
  regexMounted.get('/inner/:id', (_req, res) => {
    res.send('regex mount')
  })
  app.use(/\/regex_router/, regexMounted)
  const arrayMounted = express.Router()
  arrayMounted.get('/inner', (_req, res) => {
    res.send('array mount')
  })
  app.use(['/arr_router_a', '/arr_router_b/:b'], arrayMounted)
  const subApp = express()
  subApp.get('/users/:id', (_req, res) => {
    res.send('sub-app')
  })
  const subRouter = express.Router()
  subRouter.get('/:id', (_req, res) => {
    res.send('sub-app router')
  })
  subApp.use('/nested', subRouter)
  app.use('/sub', subApp)
}

/** A span opened before the user is known and ended after, then one started after: both get user.id. */
async function lateUser(): Promise<void> {
  const tracer = trace.getTracer('test-app')
  const before = tracer.startSpan('opened before identify')
  identifyUser('late-user')
  before.end()
  await childWork('after identify')
}

function buildKoa(
  Koa: typeof import('koa'),
  options: AnyFrameworkOptions,
  extras: AppExtras,
  appErrors: unknown[],
): Handler {
  const app = new Koa()
  app.silent = true
  app.on('error', (error) => appErrors.push(error))
  app.use(koaTraceweave(options))
  if (extras.auth) {
    app.use(async (ctx, next) => {
      const user = ctx.get('x-test-auth')
      if (user !== '') identifyUser(user)
      await next()
    })
  }
  app.use(async (ctx, next) => {
    if (ctx.method === 'POST' && ctx.is('application/json')) {
      let raw = ''
      for await (const chunk of ctx.req) raw += chunk
      ;(ctx.request as unknown as { body: unknown }).body = JSON.parse(raw)
    }
    await next()
  })
  const router = new KoaRouter()
  router.get('/users/:id', (ctx) => {
    ctx.body = { id: ctx.params.id, requestId: getRequestId() }
  })
  const users = new KoaRouter()
  users.get('/users/:id', (ctx) => {
    ctx.body = { id: ctx.params.id }
  })
  users.get('/', (ctx) => {
    ctx.body = { team: true }
  })
  const teams = new KoaRouter()
  teams.use('/teams/:teamId', users.routes())
  router.use('/api', teams.routes())
  router.get('/fail', () => {
    throw new Error('boom')
  })
  router.get('/bad', (ctx) => {
    ctx.status = 400
    ctx.body = 'bad'
  })
  router.get('/async/:id', async (ctx) => {
    await childWork('load user')
    ctx.body = { id: ctx.params.id }
  })
  router.post('/echo', async (ctx) => {
    await childWork('store body')
    ctx.body = (ctx.request as unknown as { body: unknown }).body
  })
  router.get('/slow', async (ctx) => {
    await new Promise((resolve) => setTimeout(resolve, 300))
    ctx.body = 'late'
  })
  router.get('/late-user', async (ctx) => {
    await lateUser()
    ctx.body = { ok: true }
  })
  router.get(/\/test\/regex/, (ctx) => {
    ctx.body = 'regex'
  })
  // @koa/router registers one route per member of an array.
  router.get(['/array/one', '/array/two/:id'], (ctx) => {
    ctx.body = 'array'
  })
  if (extras.catchAll) {
    router.get(/.*/, (ctx) => {
      ctx.body = 'caught'
    })
  }
  app.use(router.routes())
  return app.callback()
}

/** The real SDK with the correlation processor and the W3C propagator, registered globally. */
export function startMiddlewareTracing(): TestTracing {
  const tracing = startTestTracing({ spanProcessors: [new CorrelationSpanProcessor() as never] })
  propagation.setGlobalPropagator(new W3CTraceContextPropagator())
  return tracing
}

/** {@link startMiddlewareTracing} for a whole test file: reset after each test, shut down after all. */
export function useMiddlewareTracing(): TestTracing {
  const tracing = startMiddlewareTracing()
  afterEach(() => tracing.reset())
  afterAll(() => tracing.shutdown())
  return tracing
}

/** Finished spans of one test, with the server span found by kind. */
export function serverSpans(spans: ReadableSpan[]): ReadableSpan[] {
  return spans.filter((span) => span.kind === 1)
}

/** Waits until `predicate` holds for the finished spans (spans end on the response's close). */
export async function waitForSpans(
  tracing: TestTracing,
  predicate: (spans: ReadableSpan[]) => boolean,
): Promise<ReadableSpan[]> {
  for (let i = 0; i < 200; i++) {
    const spans = tracing.spans()
    if (predicate(spans)) return spans
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  return tracing.spans()
}
