import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { logger } from '../internal/diag'

/**
 * A process-wide observer of HTTP server responses, through `node:diagnostics_channel` (Node 20+
 * publishes `http.server.response.finish` for every response of every `http`/`https` server). It sees
 * what no middleware can: responses the middleware never saw. Subscribed only while someone listens.
 */
export const RESPONSE_FINISH_CHANNEL = 'http.server.response.finish'

/** What the channel publishes for each finished response. */
export interface FinishedResponse {
  request: IncomingMessage
  response: ServerResponse
  server: Server
}

/**
 * Watches one `traceweave()` middleware until it sees its first request. A finished response of an
 * Express or Koa app that mounts traceweave(), on a server none of whose requests a traceweave()
 * middleware has seen, means the routes run before it: matched routes never reach a middleware mounted
 * after them, so those requests get no span and no request ID. That is reported once per process,
 * naming the fix. Once every middleware has seen a request, nothing is subscribed and requests pay
 * nothing.
 */
export interface MountWatch {
  /** The middleware saw a request (of `server`, when known). Call until `settled` is true. */
  sawRequest(server: object | undefined): void
  /** True once this middleware has seen a request: the caller can stop calling `sawRequest`. */
  readonly settled: boolean
}

const waiting = new Set<{ framework: string }>()
// Servers a traceweave() middleware has seen a request of: their unseen responses are deliberate (routes
// mounted before traceweave on purpose, a health check) or come after a working setup, never a mistake.
const seenServers = new WeakSet<object>()
// Frameworks one of whose traceweave() middlewares has seen a request.
const settledFrameworks = new Set<string>()
let subscribed = false
let warned = false

function onResponseFinish(message: unknown): void {
  const { response, server } = message as FinishedResponse
  if (warned || waiting.size === 0 || server === undefined || seenServers.has(server)) return
  const framework = frameworkWithTraceweave(server)
  if (framework === undefined) {
    // Not an app that mounts traceweave() (a metrics endpoint, a plain server): not our business, ever.
    seenServers.add(server)
    return
  }
  warned = true
  stopListening()
  const mountedFirst =
    framework === 'koa'
      ? 'app.use(traceweave()) before app.use(router.routes())'
      : 'app.use(traceweave()) before your routes'
  logger.warn(
    `traceweave() is mounted but has seen none of the requests of the server on ${describeServer(server)}, which just ` +
      `answered one (status ${response.statusCode}): in this ${framework === 'koa' ? 'Koa' : 'Express'} app the routes ` +
      `are mounted before traceweave(), so they get no span and no X-Request-Id. Mount it first: ${mountedFirst}`,
  )
}

const MAX_ROUTER_DEPTH = 4
// On each middleware function an adapter returns: its watch, so an Express router stack tells whether
// the app's own traceweave() is still waiting for its first request.
const WATCH_KEY = Symbol('traceweave.mountWatch')
const watchesByLifecycle = new WeakMap<object, MountWatch>()

/** Called by the lifecycle that owns `watch`, so {@link tagMiddleware} can find it. */
export function registerMountWatch(lifecycle: object, watch: MountWatch): void {
  watchesByLifecycle.set(lifecycle, watch)
}

/**
 * Marks `middleware` (what an adapter's `traceweave()` returns) as the middleware of `lifecycle`, so the
 * observer recognises it in an Express app's router stack. Returns `middleware`.
 */
export function tagMiddleware<F extends object>(middleware: F, lifecycle: object): F {
  const watch = watchesByLifecycle.get(lifecycle)
  if (watch !== undefined) Object.defineProperty(middleware, WATCH_KEY, { value: watch })
  return middleware
}

/**
 * Which framework's app this server runs, if that app mounts a traceweave() middleware still waiting for
 * its first request. An Express app is the server's request listener, so its router stack (sub-routers
 * included) holds its traceweave() middleware. Koa's listener (`app.callback()`, named `handleRequest`)
 * does not reveal the app, so a Koa server counts only while no Koa traceweave() of the process has seen a
 * request yet (several Koa apps in one process, one of them mis-mounted, go unreported).
 */
function frameworkWithTraceweave(server: Server): 'express' | 'koa' | undefined {
  let listeners: unknown[]
  try {
    listeners = server.listeners('request')
  } catch {
    return undefined
  }
  for (const listener of listeners) {
    if (typeof listener !== 'function') continue
    const stack = expressStack(listener)
    if (stack !== undefined) {
      if (hasWaitingMiddleware(stack, 0)) return 'express'
    } else if (listener.name === 'handleRequest' && isWaiting('koa') && !settledFrameworks.has('koa')) {
      return 'koa'
    }
  }
  return undefined
}

function isWaiting(framework: string): boolean {
  for (const entry of waiting) if (entry.framework === framework) return true
  return false
}

interface Layer {
  handle?: unknown
}

// Express 4 keeps the router at `app._router` (its `app.router` getter throws), Express 5 at `app.router`.
function expressStack(app: unknown): Layer[] | undefined {
  const candidate = app as { handle?: unknown; set?: unknown; _router?: { stack?: unknown } }
  if (typeof candidate.handle !== 'function' || typeof candidate.set !== 'function') return undefined
  try {
    const router = candidate._router ?? (candidate as { router?: { stack?: unknown } }).router
    return Array.isArray(router?.stack) ? (router.stack as Layer[]) : []
  } catch {
    return []
  }
}

function hasWaitingMiddleware(stack: Layer[], depth: number): boolean {
  for (const layer of stack) {
    const handle = layer?.handle
    if (typeof handle !== 'function') continue
    const watch = (handle as { [WATCH_KEY]?: MountWatch })[WATCH_KEY]
    if (watch !== undefined && !watch.settled) return true
    const nested = (handle as { stack?: unknown }).stack
    if (
      depth < MAX_ROUTER_DEPTH &&
      Array.isArray(nested) &&
      hasWaitingMiddleware(nested as Layer[], depth + 1)
    ) {
      return true
    }
  }
  return false
}

function startListening(): void {
  if (subscribed || warned) return
  subscribed = true
  subscribe(RESPONSE_FINISH_CHANNEL, onResponseFinish)
}

function stopListening(): void {
  if (!subscribed) return
  subscribed = false
  unsubscribe(RESPONSE_FINISH_CHANNEL, onResponseFinish)
}

/** Starts watching a newly built middleware of `framework` (`'express'`, `'koa'`). */
export function watchMount(framework: string): MountWatch {
  const entry = { framework }
  waiting.add(entry)
  startListening()
  const watch = {
    settled: false,
    sawRequest(server: object | undefined): void {
      if (server !== undefined) seenServers.add(server)
      if (watch.settled) return
      watch.settled = true
      if (server !== undefined) settledFrameworks.add(framework)
      waiting.delete(entry)
      if (waiting.size === 0) stopListening()
    },
  }
  return watch
}

/** The server a request came in on (`req.socket.server`, set by `net.Server` for its connections). */
export function serverOf(req: IncomingMessage): object | undefined {
  const server = (req.socket as { server?: unknown } | null | undefined)?.server
  return typeof server === 'object' && server !== null ? server : undefined
}

function describeServer(server: Server): string {
  try {
    const address = server.address()
    if (address !== null && typeof address === 'object') return `port ${address.port}`
    if (typeof address === 'string') return address
  } catch {
    // an address is only decoration for the message
  }
  return 'an unknown address'
}
