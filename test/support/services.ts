/**
 * Real traced services for the end-to-end tests: Express 5 and Koa 3 apps with `traceweave()` mounted
 * first, listening on 127.0.0.1, as a user would run them. Every service remembers the headers of the
 * requests it received (what a downstream service saw) and knows when its responses have closed (the
 * moment the middleware ends the server span), so a test can wait for a request's spans, or for their
 * absence, without sleeping.
 */
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import type { TraceweaveOptions } from '@traceweave/core'
import { traceweave as expressTraceweave, type ExpressRequest } from '@traceweave/express'
import { traceweave as koaTraceweave, type KoaContext } from '@traceweave/koa'
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import { listen } from './servers'

export const express5 = require('express5') as typeof import('express')
export const Koa3 = require('koa3') as typeof import('koa')
export const KoaRouter = require('@koa/router').Router as typeof import('@koa/router').Router

export type ExpressApp = ReturnType<typeof import('express')>
export type KoaApp = import('koa')
export type KoaRouterInstance = import('@koa/router').Router

/** One request a service received, as it arrived. */
export interface ReceivedRequest {
  method: string
  path: string
  headers: IncomingHttpHeaders
}

export interface RunningService {
  readonly name: string
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  readonly port: number
  /** Every request received, in order. */
  readonly received: ReceivedRequest[]
  /** Resolves once every request received so far has closed its response (its server span ended). */
  idle(): Promise<void>
  close(): Promise<void>
}

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void

/**
 * A service of `listener` on 127.0.0.1 (an app, or a plain handler for an untraced third party),
 * recording requests and tracking responses still open.
 */
export async function startRecordingService(
  name: string,
  listener: RequestListener,
): Promise<RunningService> {
  const received: ReceivedRequest[] = []
  let open = 0
  const server = createServer()
  // Registered before the app, so this sees every request first and its 'close' listener runs before
  // the middleware's: the count drops a turn later, after the server span has ended.
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    received.push({ method: req.method ?? 'GET', path: req.url ?? '/', headers: { ...req.headers } })
    open++
    res.once('close', () => setImmediate(() => open--))
  })
  server.on('request', listener)
  // Tests end quickly; do not let keep-alive sockets hold close() open.
  server.keepAliveTimeout = 100
  const { url, port, close } = await listen(server)
  return {
    name,
    url,
    port,
    received,
    async idle() {
      // Bounded: 2,000 turns of 5 ms at most, then the test's own assertions report what is missing.
      for (let i = 0; i < 2000 && open > 0; i++) await new Promise((resolve) => setTimeout(resolve, 5))
      await new Promise((resolve) => setImmediate(resolve))
    },
    close,
  }
}

/** An Express 5 app with `app.use(traceweave(options))` first, then whatever `build` adds. */
export function startExpress(
  name: string,
  build: (app: ExpressApp, express: typeof import('express')) => void,
  options: TraceweaveOptions<ExpressRequest> = {},
): Promise<RunningService> {
  const app = express5()
  app.use(expressTraceweave(options))
  build(app, express5)
  return startRecordingService(name, app as unknown as RequestListener)
}

/** A Koa 3 app with `app.use(traceweave(options))` first, then whatever `build` adds. */
export function startKoa(
  name: string,
  build: (app: KoaApp, router: KoaRouterInstance) => void,
  options: TraceweaveOptions<KoaContext> = {},
): Promise<RunningService> {
  const app = new Koa3()
  app.silent = true
  app.use(koaTraceweave(options))
  const router = new KoaRouter()
  build(app, router)
  app.use(router.routes())
  return startRecordingService(name, app.callback() as unknown as RequestListener)
}

/** Services started by a test file, closed after each test. */
export class ServiceSet {
  private readonly running: RunningService[] = []

  add(service: RunningService): RunningService {
    this.running.push(service)
    return service
  }

  /** Waits until every service's responses have closed. */
  async idle(): Promise<void> {
    for (const service of this.running) await service.idle()
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.running.splice(0).map((service) => service.close()))
  }
}

/** The fields of a `traceparent` header, or `undefined` when it is missing or malformed. */
export function parseTraceparentHeader(
  value: string | string[] | undefined,
): { traceId: string; parentId: string; sampled: boolean; flags: string } | undefined {
  if (typeof value !== 'string') return undefined
  const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(value)
  if (match === null) return undefined
  return {
    traceId: match[1]!,
    parentId: match[2]!,
    flags: match[3]!,
    sampled: (parseInt(match[3]!, 16) & 1) === 1,
  }
}

export const SERVER = 1 // SpanKind.SERVER
export const CLIENT = 2 // SpanKind.CLIENT

/** Whether the exported span carries the sampled flag. */
export const isSampled = (span: ReadableSpan) => (span.spanContext().traceFlags & 1) === 1

/** The SERVER span a service exported for `route`, found by port and route. */
export function serverSpan(
  spans: readonly ReadableSpan[],
  service: RunningService,
  route: string,
): ReadableSpan | undefined {
  return spans.find(
    (span) =>
      span.kind === SERVER &&
      span.attributes['server.port'] === service.port &&
      span.attributes['http.route'] === route,
  )
}

/** The CLIENT spans that called `service`. */
export function clientSpansTo(spans: readonly ReadableSpan[], service: RunningService): ReadableSpan[] {
  return spans.filter((span) => span.kind === CLIENT && span.attributes['server.port'] === service.port)
}

/** Starts a fresh child span inside a handler, for spans that must follow the request's decision. */
export async function childWork(tracer: import('@opentelemetry/api').Tracer, name: string): Promise<void> {
  await tracer.startActiveSpan(name, async (span) => {
    await new Promise((resolve) => setImmediate(resolve))
    span.end()
  })
}
