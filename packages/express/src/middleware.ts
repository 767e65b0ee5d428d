import {
  createServerLifecycle,
  type ProxyTrust,
  type ServerAdapter,
  type ServerLifecycle,
  type ServerRequest,
  type TraceweaveOptions,
} from '@traceweave/core'
import { tagMiddleware } from '@traceweave/core/internal'
import { instrumentApp, readMountRoute, recordOf } from './routes'
import type {
  ExpressErrorMiddleware,
  ExpressMiddleware,
  ExpressNext,
  ExpressRequest,
  ExpressResponse,
} from './types'

// Express pushes the route from its router (see routes.ts); the reader only names requests answered by
// middleware mounted at a path.
const EXPRESS_ADAPTER: ServerAdapter<ExpressRequest> = {
  framework: 'express',
  onStart: expressStarted,
  readRoute: (_req, serverRequest) => readMountRoute(serverRequest),
  // Express replaces the prototype of every req/res, so anything attached to them costs ~3 µs a
  // request; its body parsers keep the context themselves. Opt in with `bindStreams: true`.
  bindStreams: false,
}
const TRUST_NONE: ProxyTrust = { trust: false }

/**
 * Traces every request of an Express 4 or 5 app: a SERVER span named `METHOD /route/:template`
 * (mount patterns of nested routers included), request and session IDs, the user, and the
 * `http.server.request.duration` metric. Mount it first; add {@link traceweaveErrors} after the routes.
 * Options are checked here, at setup: an invalid one throws.
 *
 * @example app.use(traceweave({ user: (req) => req.get('x-user-id') }))
 */
export function traceweave(options: TraceweaveOptions<ExpressRequest> = {}): ExpressMiddleware {
  const lifecycle = createServerLifecycle(options, EXPRESS_ADAPTER)
  return tagMiddleware(function traceweaveMiddleware(
    req: ExpressRequest,
    res: ExpressResponse,
    next: ExpressNext,
  ): void {
    if (typeof next !== 'function') return passThroughKoa(lifecycle, res)
    const serverRequest = lifecycle.start(req, res, req, proxyTrustOf(req))
    if (serverRequest === undefined) return next()
    lifecycle.run(serverRequest, next)
  }, lifecycle)
}

/**
 * Mounted in a Koa app, Koa calls us as (ctx, next): `res` is Koa's `next`. Say so once, then let the
 * request go on untraced, returning Koa's promise so the chain still waits for the downstream middleware.
 */
function passThroughKoa(lifecycle: ServerLifecycle<ExpressRequest>, koaNext: unknown): void {
  lifecycle.calledByWrongFramework()
  if (typeof koaNext === 'function') return (koaNext as () => void)()
}

/**
 * Records errors that Express's router catches before they can reach a middleware mounted first,
 * then passes them on untouched. Mount it after your routes and before your own error handlers.
 *
 * @example app.use(traceweaveErrors())
 */
export function traceweaveErrors(): ExpressErrorMiddleware {
  return function traceweaveErrorHandler(
    error: unknown,
    req: ExpressRequest,
    _res: ExpressResponse,
    next: ExpressNext,
  ): void {
    const record = recordOf(req)
    if (record !== undefined) record.serverRequest.lifecycle.recordError(record.serverRequest, error)
    next(error)
  }
}

// Runs inside the lifecycle's fail-open guard: route capture failing leaves the route unknown, no more.
function expressStarted(serverRequest: ServerRequest<ExpressRequest>): void {
  serverRequest.adapterState = { serverRequest, mounts: [], routed: false }
  const app = serverRequest.request.app
  // Once an app's routers check themselves (see routes.ts), its requests skip this: one comparison.
  if (app !== followedApp && instrumentApp(app)) followedApp = app
}

// The app whose router tree follows itself; one slot, as one app per process is the common case.
let followedApp: unknown

// One slot: an app's compiled `trust proxy` function is the same on every request, so its policy
// object is built once per change, not per request.
let lastTrustFn: unknown
let lastProxyTrust: ProxyTrust = TRUST_NONE

function proxyTrustOf(req: ExpressRequest): ProxyTrust {
  // Express compiles its `trust proxy` setting to (address, hop) => boolean: the rule req.ip follows.
  const trust = req.app?.get?.('trust proxy fn')
  if (typeof trust !== 'function') return TRUST_NONE
  if (trust !== lastTrustFn) {
    lastTrustFn = trust
    lastProxyTrust = { trust: trust as (address: string, hop: number) => boolean }
  }
  return lastProxyTrust
}
