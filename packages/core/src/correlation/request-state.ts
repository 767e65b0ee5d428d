import { context, createContextKey, type Context, type Span, type SpanContext } from '@opentelemetry/api'
import type { CorrelationPropagation } from './propagated'
import { ChainContext } from '../internal/chain-context'
import { fallbackContext } from '../internal/fallback-context'

/**
 * The one per-request record. The server lifecycle creates it at request start and keeps it in the
 * OpenTelemetry context; propagation, sampling, correlation and the client read and write it, so a new
 * feature adds a reader rather than a side channel. Fields are filled in as the request goes on
 * (the route after routing, the user after authentication).
 */
export interface RequestState {
  /** Validated or generated request ID (`X-Request-Id`); absent with the middleware's `requestId: false`. */
  requestId?: string
  /**
   * Lowercase header the middleware reads and echoes the request ID in (`requestId.header`); the
   * traced clients forward the ID under the same name. Absent: `x-request-id`.
   */
  requestIdHeader?: string
  /** HTTP method, normalized (`GET`, or `_OTHER` for unknown methods); for sampling rules. */
  method?: string
  /** URL path without the query string; for sampling rules. Never recorded raw beyond `url.path`. */
  path?: string
  /** The incoming request headers, as Node parsed them; for sampling rules on headers. Not recorded. */
  headers?: Readonly<Record<string, string | string[] | undefined>>
  /** Validated session ID, if the request belongs to a session. */
  sessionId?: string
  /** The session operation's name (by default the span name, e.g. `GET /users/:id`). */
  sessionOperation?: string
  /** 1 for the session's first request in this process, then 2, 3, ... */
  sessionOperationNumber?: number
  /** Validated user ID, from the `user` option or `identifyUser()`, or a trusted caller's baggage. */
  userId?: string
  /**
   * `userId` is an HMAC a trusted caller sent (`correlation.propagate` with `hashIds` upstream), not the
   * ID itself: it is recorded as it is, and `sampling.users` compares it with the HMACs of its list.
   */
  userIdHashed?: boolean
  /** `sessionId` is an HMAC a trusted caller sent: recorded as it is, never hashed again. */
  sessionIdHashed?: boolean
  /** The session operation's name came from a trusted caller: it stays as sent, not following the route. */
  sessionOperationFromCaller?: boolean
  /**
   * @internal The middleware's `correlation.propagate`, when set: the traced clients add the session
   * and user to the `baggage` of calls to `propagateTo` destinations.
   */
  propagateCorrelation?: CorrelationPropagation
  /** Route template once routing has matched it (`/users/:id`). */
  route?: string
  /**
   * Attributes that must reach every span of the request (request.id, session.*, user.id), kept
   * ready-made so the span processor copies them without rebuilding them per span.
   */
  readonly correlationAttributes: Record<string, string | number>
  /**
   * @internal Spans started during the request (bounded), so a late `identifyUser()` reaches those
   * still open. Kept on the record rather than in a WeakMap: a request allocates no map entries.
   */
  openSpans?: Span[]
  /** @internal Installed by the server lifecycle on the records it creates. */
  serverHooks?: ServerHooks
  /** @internal Installed by deferred sampling while the request's decision is pending or made. */
  samplingHooks?: SamplingHooks
  /** @internal The server lifecycle's handle of the request, when a traceweave middleware started it. */
  serverRequest?: unknown
  /** @internal The request's deferred sampling decision, pending or made (`decide: 'deferred'` only). */
  sampling?: unknown
}

/**
 * What the server lifecycle installs on the records it creates, so that propagation and correlation
 * reach it through the record instead of importing the server layer.
 */
export interface ServerHooks {
  /** An outgoing call is about to inject trace headers: settle what a deferred decision needs (the route). */
  beforeInject(state: RequestState): void
  /** The app named the request's user (`identifyUser()`): hash it as configured, reach the open spans. */
  userKnown(state: RequestState, userId: string): void
}

/** What deferred sampling installs on the record of a request whose decision waits. */
export interface SamplingHooks {
  /**
   * The span context an outgoing call carries instead of `spanContext` (the decision made now, its
   * sampled flag and threshold), or `undefined` when this request's trace is not pending here.
   */
  outgoingSpanContext(state: RequestState, spanContext: SpanContext): SpanContext | undefined
}

const REQUEST_STATE_KEY = createContextKey('traceweave.request-state')

/**
 * The request record carried by `ctx` (the active context by default), if any. Without a registered
 * context manager, the active context is always the root one; the request's context is then in
 * traceweave's own store (see `runInRequestContext`).
 */
export function getRequestState(ctx?: Context): RequestState | undefined {
  const state = (ctx ?? context.active()).getValue(REQUEST_STATE_KEY) as RequestState | undefined
  if (state !== undefined || ctx !== undefined) return state
  return fallbackContext()?.getValue(REQUEST_STATE_KEY) as RequestState | undefined
}

/** A context that carries `state` as the request record. */
export function setRequestState(ctx: Context, state: RequestState): Context {
  // Linked, not copied: see ChainContext. Contexts derived from it (the server span's) link too.
  return new ChainContext(ctx, REQUEST_STATE_KEY, state)
}
