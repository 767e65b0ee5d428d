/**
 * `bindStreams`: code that reads the request stream itself (a multipart parser, a raw req.on('data'))
 * sees the request's context in its listeners where binding is on: by default in Koa, opt-in in Express.
 */
import { getRequestId } from '@traceweave/core'
import { traceweave as expressTraceweave } from '@traceweave/express'
import { traceweave as koaTraceweave } from '@traceweave/koa'
import type { IncomingMessage } from 'node:http'
import request from 'supertest'
import { useTestTracing } from './support/tracing'

const express5 = require('express5') as typeof import('express')
const Koa3 = require('koa3') as typeof import('koa')

useTestTracing()

/** Reads the body with raw stream events and reports the request ID seen inside the 'end' listener. */
function requestIdSeenOnEnd(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve) => {
    req.on('data', () => {})
    req.on('end', () => resolve(getRequestId()))
  })
}

function expressApp(bindStreams?: boolean) {
  const app = express5()
  app.use(expressTraceweave(bindStreams === undefined ? {} : { bindStreams }))
  app.post('/raw', async (req, res) => res.json({ seen: (await requestIdSeenOnEnd(req)) ?? null }))
  return app
}

function koaApp(bindStreams?: boolean) {
  const app = new Koa3()
  app.use(koaTraceweave(bindStreams === undefined ? {} : { bindStreams }))
  app.use(async (ctx) => {
    ctx.body = { seen: (await requestIdSeenOnEnd(ctx.req)) ?? null }
  })
  return app.callback()
}

const post = (app: Parameters<typeof request>[0]) =>
  request(app)
    .post('/raw')
    .set('x-request-id', 'req-7')
    .set('content-type', 'text/plain')
    .send('x'.repeat(10_000))

test.each([
  ['Koa, default (on)', () => koaApp(), 'req-7'],
  ['Koa, bindStreams: false', () => koaApp(false), null],
  ['Express, bindStreams: true', () => expressApp(true), 'req-7'],
  ['Express, default (off)', () => expressApp(), null],
])('%s', async (_name, build, expected) => {
  const response = await post(build()).expect(200)
  expect(response.body.seen).toBe(expected)
  expect(response.headers['x-request-id']).toBe('req-7')
})

test('a listener removed from a bound stream is really removed', async () => {
  const app = new Koa3()
  app.use(koaTraceweave())
  app.use(async (ctx) => {
    let calls = 0
    const listener = () => calls++
    ctx.req.on('data', listener)
    ctx.req.removeListener('data', listener)
    await new Promise((resolve) => ctx.req.on('end', resolve).resume())
    ctx.body = { calls }
  })
  const response = await post(app.callback()).expect(200)
  expect(response.body.calls).toBe(0)
})
