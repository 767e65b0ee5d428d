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
 * Watches one `traceweave()` middleware until it sees its first request. A finished response of a server
 * none of whose requests a traceweave() middleware has seen, while a middleware is mounted and waiting,
 * means the routes run before it: matched routes never reach a middleware mounted after them, so those
 * requests get no span and no request ID. That is reported once per process, naming the fix. Once every
 * middleware has seen a request, nothing is subscribed and requests pay nothing.
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
let subscribed = false
let warned = false

function onResponseFinish(message: unknown): void {
  const { response, server } = message as FinishedResponse
  if (warned || waiting.size === 0 || server === undefined || seenServers.has(server)) return
  warned = true
  stopListening()
  const [first] = waiting
  const name = first?.framework === 'koa' ? 'Koa' : 'Express'
  const mountedFirst =
    first?.framework === 'koa'
      ? 'app.use(traceweave()) before app.use(router.routes())'
      : 'app.use(traceweave()) before your routes'
  logger.warn(
    `traceweave() is mounted but has seen none of the requests of the server on ${describeServer(server)}, which just ` +
      `answered one (status ${response.statusCode}): in this ${name} app the routes are mounted before traceweave(), so ` +
      `they get no span and no X-Request-Id. Mount it first: ${mountedFirst}`,
  )
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
