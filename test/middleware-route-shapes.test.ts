/**
 * Route naming beyond the shared table: layers added after the first request, a path-mounted
 * middleware that fails, and Koa's `ctx._matchedRoute` left as @koa/router wrote it.
 */
import { traceweave as expressTraceweave } from '@traceweave/express'
import { traceweave as koaTraceweave } from '@traceweave/koa'
import request from 'supertest'
import { serverSpans, useMiddlewareTracing, waitForSpans } from './support/middleware-apps'

const express4 = require('express4') as typeof import('express')
const express5 = require('express5') as typeof import('express')
const Koa2 = require('koa2') as typeof import('koa')
const Koa3 = require('koa3') as typeof import('koa')
const KoaRouter = require('@koa/router').Router as typeof import('@koa/router').Router

const tracing = useMiddlewareTracing()

async function serverSpanName(): Promise<string> {
  const spans = await waitForSpans(tracing, (all) => serverSpans(all).length === 1)
  const [server] = serverSpans(spans)
  tracing.reset()
  return server.name
}

describe.each([
  ['express4', express4],
  ['express5', express5],
])('%s', (_name, express) => {
  test('a sub-app, a router and path-mounted middleware added after the first request are named', async () => {
    const app = express()
    app.use(expressTraceweave())
    app.get('/first', (_req, res) => {
      res.send('first')
    })
    await request(app).get('/first').expect(200)
    expect(await serverSpanName()).toBe('GET /first')

    const subApp = express()
    subApp.get('/users/:id', (_req, res) => {
      res.send('late sub-app')
    })
    app.use('/late', subApp)
    const router = express.Router()
    router.get(/\/rx/, (_req, res) => {
      res.send('late router')
    })
    app.use('/late-router', router)
    app.use('/late-bare', (_req: unknown, res: import('express').Response) => {
      res.send('late middleware')
    })
    await request(app).get('/late/users/3').expect(200)
    expect(await serverSpanName()).toBe('GET /late/users/:id')
    await request(app).get('/late-router/rx').expect(200)
    expect(await serverSpanName()).toBe('GET /late-router/\\/rx/')
    await request(app).get('/late-bare/anything').expect(200)
    expect(await serverSpanName()).toBe('GET /late-bare')
  })

  test('path-mounted middleware that throws names the failed request by its path', async () => {
    const app = express()
    app.use(expressTraceweave())
    app.use('/explode', () => {
      throw new Error('boom')
    })
    app.use((_error: unknown, _req: unknown, res: import('express').Response, _next: unknown) => {
      res.status(500).send('failed')
    })
    await request(app).get('/explode/now').expect(500)
    expect(await serverSpanName()).toBe('GET /explode')
  })
})

describe.each([
  ['koa2', Koa2],
  ['koa3', Koa3],
])('%s', (_name, Koa) => {
  test('ctx._matchedRoute stays the RegExp @koa/router wrote; the span is named by its toString()', async () => {
    const app = new Koa()
    app.use(koaTraceweave())
    let seen: unknown
    app.use(async (ctx, next) => {
      await next()
      seen = ctx._matchedRoute
    })
    const router = new KoaRouter()
    const pattern = /\/test\/regex/
    router.get(pattern, (ctx) => {
      ctx.body = 'regex'
    })
    app.use(router.routes())
    await request(app.callback()).get('/test/regex').expect(200)
    expect(await serverSpanName()).toBe('GET /\\/test\\/regex/')
    expect(seen).toBe(pattern)
  })
})
