import type { Context, Span } from '@opentelemetry/api'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { RequestState } from '../correlation/request-state'
import type { ProxyTrust } from './client-address'

/**
 * What an adapter tells the lifecycle about its framework, once, at setup.
 */
export interface ServerAdapter<Request> {
  /** Framework name for diagnostics (`express`, `koa`). */
  readonly framework: string
  /**
   * The route template the framework knows for this request, read when the lifecycle needs it (before
   * an outgoing inject, when the response starts, at the end). For frameworks whose router leaves the
   * route on the request (Koa's `ctx._matchedRoute`), and for routes only known once the request is
   * answered (Express: middleware mounted at a path); Express pushes route layers with `routeKnown`.
   */
  readRoute?(request: Request, serverRequest: ServerRequest<Request>): string | undefined
  /**
   * Called once a request has started, inside the lifecycle's fail-open guard: for the adapter's own
   * per-request bookkeeping (Express: route capture). A failure here is reported once and ignored.
   */
  onStart?(serverRequest: ServerRequest<Request>): void
  /** The default of the `bindStreams` option for this framework (see its documentation). Default `true`. */
  readonly bindStreams?: boolean
}

/**
 * The lifecycle's handle on one traced request: the request record, the server span, and the context
 * handlers run in. Adapters pass it back to the lifecycle's moments.
 */
export interface ServerRequest<Request = unknown> {
  /** The request record (also in `context`). */
  readonly state: RequestState
  /** The server span: ours, or OpenTelemetry http instrumentation's when enriching it. */
  readonly span: Span
  /** The context every handler runs in: the server span and the request record. */
  readonly context: Context
  /** The framework's request object (Express `req`, Koa `ctx`), as the user's option functions get it. */
  readonly request: Request
  readonly req: IncomingMessage
  readonly res: ServerResponse
  /** The lifecycle that started this request (reached from the record by `identifyUser()`). */
  readonly lifecycle: ServerLifecycle<Request>
  /** `http.request.method` (`_OTHER` for unknown methods). */
  readonly method: string
  /** `url.scheme` as resolved at start. */
  readonly scheme: string
  /** Whether we started the span (and so end it), or enrich one opened before us. */
  readonly ownsSpan: boolean
  /** `performance.now()` at start, for the duration metric; `NaN` when no MeterProvider was registered. */
  readonly startedAt: number
  /** Set once the response closed. */
  ended: boolean
  /** The last app error recorded, so the same error seen twice is recorded once. */
  lastError: unknown
  /** `res.writeHead` as it was before ours wrapped it for this response. */
  originalWriteHead: ServerResponse['writeHead'] | undefined
  /** The adapter's own per-request data (Express: mount patterns; Koa: the matched route). */
  adapterState: unknown
}

/**
 * The framework-neutral server lifecycle: named moments an adapter calls as a request goes through
 * its framework. Built once per `traceweave()` call; every per-request step runs through these
 * methods. Each moment is fail-open: an internal error is reported once and the request goes on.
 */
export interface ServerLifecycle<Request = unknown> {
  /**
   * Request start: reads the request and session IDs and the user, extracts the caller's context under
   * the trust policy, starts (or enriches) the server span, sets the response headers, and arranges
   * for `end` when the response closes. `undefined` for ignored requests: pass them through untouched.
   */
  start(
    req: IncomingMessage,
    res: ServerResponse,
    request: Request,
    proxy: ProxyTrust,
  ): ServerRequest<Request> | undefined
  /** Runs `fn` (the rest of the framework's chain) in the request's context. */
  run<T>(serverRequest: ServerRequest<Request>, fn: () => T): T
  /** Route known: names the span `METHOD route` and sets `http.route`. */
  routeKnown(serverRequest: ServerRequest<Request>, route: string): void
  /** User known: sets `user.id` on the record and on every open span of the request. */
  userKnown(serverRequest: ServerRequest<Request>, userId: string): void
  /** Before an outgoing call injects trace headers: the last moment to settle route-based decisions. */
  beforeInject(serverRequest: ServerRequest<Request>): void
  /** An app error passing through: recorded on the span once (errors with a 4xx status are not). */
  recordError(serverRequest: ServerRequest<Request>, error: unknown): void
  /** End: status, duration metric, span end. Called by the response's `close`; idempotent. */
  end(serverRequest: ServerRequest<Request>): void
  /**
   * The middleware was called the way the other framework calls middleware (Express's in a Koa app, or
   * the reverse): reports it once, naming the right package. The adapter then passes the request on.
   */
  calledByWrongFramework(): void
}
