/**
 * traceweave({ resources }): process figures on server spans of sampled requests, and in
 * 'attributed' mode each request's own CPU time, told apart between two concurrent requests.
 */
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { traceweave as expressTraceweave } from '@traceweave/express'
import { traceweave as koaTraceweave } from '@traceweave/koa'
import type { ResourcesOption } from '@traceweave/core'
import { serverSpans, useMiddlewareTracing, waitForSpans, type Handler } from './support/middleware-apps'
import { listen, type RequestHandler } from './support/servers'

const express5 = require('express5') as typeof import('express')
const Koa3 = require('koa3') as typeof import('koa')
const KoaRouter = require('@koa/router').Router as typeof import('@koa/router').Router

const tracing = useMiddlewareTracing()

function burnCpu(ms: number): number {
  const until = Date.now() + ms
  let x = 0
  while (Date.now() < until) x += Math.sqrt(x + 1)
  return x
}

/** CPU-heavy across several turns of the event loop, so its work is in callbacks, not only in the first call. */
async function heavyWork(): Promise<void> {
  for (let i = 0; i < 6; i++) {
    await new Promise((resolve) => setImmediate(resolve))
    burnCpu(50)
  }
}

/** Waits without working, longer than heavyWork runs, so the heavy request's CPU falls inside its span. */
const idleWork = () => new Promise((resolve) => setTimeout(resolve, 900))

function expressApp(resources: ResourcesOption): Handler {
  const app = express5()
  app.use(expressTraceweave({ resources }))
  app.get('/heavy', async (_req, res) => {
    await heavyWork()
    res.send('heavy')
  })
  app.get('/idle', async (_req, res) => {
    await idleWork()
    res.send('idle')
  })
  return app
}

function koaApp(resources: ResourcesOption): Handler {
  const app = new Koa3()
  const router = new KoaRouter()
  router.get('/heavy', async (ctx) => {
    await heavyWork()
    ctx.body = 'heavy'
  })
  router.get('/idle', async (ctx) => {
    await idleWork()
    ctx.body = 'idle'
  })
  app.use(koaTraceweave({ resources }))
  app.use(router.routes())
  return app.callback()
}

const APPS = { express: expressApp, koa: koaApp } as const

async function withServer<T>(handler: Handler, fn: (base: string) => Promise<T>): Promise<T> {
  const server = await listen(handler as RequestHandler)
  try {
    return await fn(server.url)
  } finally {
    await server.close()
  }
}

const spanOf = (spans: ReadableSpan[], path: string) =>
  serverSpans(spans).find((span) => span.attributes['url.path'] === path)!
const num = (span: ReadableSpan, name: string) => Number(span.attributes[name])
const processCpu = (span: ReadableSpan) =>
  num(span, 'traceweave.process.cpu.user_us') + num(span, 'traceweave.process.cpu.system_us')

describe.each(Object.keys(APPS) as Array<keyof typeof APPS>)('%s', (name) => {
  it("'attributed': a CPU-heavy and an idle request at the same time get clearly different own CPU times, where the process-wide figure charges the idle one too", async () => {
    const spans = await withServer(APPS[name]('attributed'), async (base) => {
      const idle = fetch(`${base}/idle`).then((res) => res.text())
      await new Promise((resolve) => setTimeout(resolve, 100)) // the idle request is open first
      const heavy = fetch(`${base}/heavy`).then((res) => res.text())
      expect(await Promise.all([idle, heavy])).toEqual(['idle', 'heavy'])
      return waitForSpans(tracing, (all) => serverSpans(all).length === 2)
    })
    const heavy = spanOf(spans, '/heavy')
    const idle = spanOf(spans, '/idle')
    const heavyOwn = num(heavy, 'traceweave.request.cpu_us')
    const idleOwn = num(idle, 'traceweave.request.cpu_us')
    // 300 ms of busy loops in the heavy request's callbacks; the idle one only ran a few short callbacks.
    expect(heavyOwn).toBeGreaterThan(200_000)
    expect(idleOwn).toBeLessThan(heavyOwn / 10)
    expect(num(heavy, 'traceweave.request.callbacks')).toBeGreaterThan(6)
    expect(num(idle, 'traceweave.request.callbacks')).toBeGreaterThan(0)
    // The process-wide delta of the idle request includes the heavy request's CPU: it cannot tell them apart.
    expect(processCpu(idle)).toBeGreaterThan(3 * idleOwn)
    expect(processCpu(idle)).toBeGreaterThan(20_000)
    // The heavy request was open while the idle one was: the overlap shows.
    expect(num(heavy, 'traceweave.process.requests_in_flight.start')).toBe(2)
  })

  it('true: a sampled request records the process figures, and no per-request CPU time', async () => {
    const spans = await withServer(APPS[name](true), async (base) => {
      expect(await (await fetch(`${base}/heavy`)).text()).toBe('heavy')
      return waitForSpans(tracing, (all) => serverSpans(all).length === 1)
    })
    const heavy = spanOf(spans, '/heavy')
    expect(processCpu(heavy)).toBeGreaterThan(20_000) // 300 ms of loops; less CPU on a loaded machine
    expect(num(heavy, 'traceweave.process.event_loop.utilization')).toBeGreaterThan(0.5)
    expect(heavy.attributes['traceweave.process.heap.before']).toEqual(expect.any(Number))
    expect(heavy.attributes['traceweave.process.external.delta']).toEqual(expect.any(Number))
    expect(num(heavy, 'traceweave.process.requests_in_flight.start')).toBe(1)
    expect(num(heavy, 'traceweave.process.requests_in_flight.end')).toBe(1)
    expect(heavy.attributes['traceweave.request.cpu_us']).toBeUndefined()
  })

  it('true: an unsampled request pays nothing (no CPU or heap reading at all)', async () => {
    const cpuUsage = jest.spyOn(process, 'cpuUsage')
    try {
      await withServer(APPS[name](true), async (base) => {
        const res = await fetch(`${base}/idle`, {
          headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00' },
        })
        expect(await res.text()).toBe('idle')
      })
      expect(cpuUsage).not.toHaveBeenCalled()
    } finally {
      cpuUsage.mockRestore()
    }
  })
})

test('resources must be true, false or attributed, named in the error', () => {
  expect(() => expressTraceweave({ resources: 'yes' as never })).toThrow(
    "traceweave: `resources` must be true, false or 'attributed'; got 'yes'",
  )
  expect(() => koaTraceweave({ resources: 1 as never })).toThrow(
    "traceweave: `resources` must be true, false or 'attributed'; got 1",
  )
})
