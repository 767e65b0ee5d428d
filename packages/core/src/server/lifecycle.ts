import {
  context,
  INVALID_SPAN_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Exception,
  type Histogram,
  type Span,
  type Tracer,
} from '@opentelemetry/api'
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import { performance } from 'node:perf_hooks'
import type { TLSSocket } from 'node:tls'
import { resolveRequestId } from '../correlation/request-id'
import {
  readPropagatedCorrelation,
  withoutCorrelationBaggage,
  type PropagatedCorrelation,
} from '../correlation/propagated'
import { setRequestState, type RequestState } from '../correlation/request-state'
import { parseSessionId, readCookie, SessionCounters } from '../correlation/session'
import { isTrackedSpan, trackOpenSpan } from '../correlation/span-processor'
import { applyUserId, ATTR_USER_ID, parseUserId } from '../correlation/user'
import { logger, warnOnce } from '../internal/diag'
import { isTracingDisabled } from '../internal/disabled'
import { delegateTracer, spanKindOf, tracerProviderDelegate } from '../internal/otel-globals'
import { failOpen, reportFailure } from '../internal/guard'
import { TRACER_NAME, TRACER_VERSION } from '../internal/tracer'
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_REQUEST_METHOD_ORIGINAL,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_SESSION_ID,
  ATTR_SESSION_OPERATION,
  ATTR_SESSION_OPERATION_NUMBER,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
  EVENT_ABORTED,
  normalizeMethod,
  serverSpanName,
  TRACERESPONSE_HEADER,
} from './attributes'
import { isPeerTrusted, resolveClientAddress, type ProxyTrust } from './client-address'
import { extractIncoming, type IncomingParent } from './incoming'
import { ServerMetrics } from './metrics'
import { attachToStreams } from './stream-context'
import {
  resolveServerOptions,
  type CapturedHeader,
  type ResolvedServerOptions,
  type TraceweaveOptions,
} from './options'
import { registerServerRequest } from './registry'
import { runInRequestContext } from '../internal/fallback-context'
import { registerMountWatch, serverOf, watchMount, type MountWatch } from './response-observer'
import { ServerResources } from './resources'
import {
  decideResponse,
  needsResponseHead,
  setServerTimingTrace,
  traceResponseValue,
} from './response-decision'
import type { ServerAdapter, ServerLifecycle, ServerRequest } from './types'

const withContext = <T>(ctx: Context, fn: () => T): T => context.with(ctx, fn)
const runInContext = <T>(ctx: Context, fn: () => T): T => runInRequestContext(ctx, fn, withContext)
const ACCESS_CONTROL_EXPOSE_HEADERS = 'access-control-expose-headers'
// Captured header values and the user agent are cut here: attributes are not a place for bulk data.
const MAX_HEADER_ATTRIBUTE_LENGTH = 1024
// `url.path` is cut too (a raised `maxHeaderSize` lets 64 KB targets through); 2048 keeps every path a
// browser or CDN commonly accepts whole.
const MAX_URL_PATH_LENGTH = 2048
// Host header: a DNS name or IPv4 address, or a bracketed IPv6 address, then an optional port.
const HOST_PATTERN = /^(?:\[([0-9A-Fa-f:.]{2,45})\]|([A-Za-z0-9.-]{1,253}))(?::([0-9]{1,5}))?$/

/**
 * Builds the server lifecycle for one `traceweave()` call: options are resolved and checked here, once,
 * and each request then runs through the returned object's moments.
 *
 * @example const lifecycle = createServerLifecycle(options, { framework: 'koa', readRoute: (ctx) => ctx._matchedRoute })
 */
export function createServerLifecycle<Request>(
  options: TraceweaveOptions<Request> | undefined,
  adapter: ServerAdapter<Request>,
): ServerLifecycle<Request> {
  return new Lifecycle(resolveServerOptions(options), adapter)
}

class Lifecycle<Request> implements ServerLifecycle<Request> {
  private readonly sessions: SessionCounters
  private readonly metrics = new ServerMetrics()
  private readonly tracers = new TracerSource()
  private readonly exposeNames: readonly string[]
  private readonly bindStreams: boolean
  private readonly mount: MountWatch
  private readonly resources: ServerResources
  /** `traceresponse` or the Server-Timing `trace` metric is sent. */
  private readonly reportsDecision: boolean
  /** The `ignore` option names something (most apps: no), so a request need not hash its path. */
  private readonly ignores: boolean

  constructor(
    private readonly options: ResolvedServerOptions<Request>,
    private readonly adapter: ServerAdapter<Request>,
  ) {
    this.sessions = new SessionCounters(options.maxSessions, options.hasher)
    this.bindStreams = options.bindStreams ?? adapter.bindStreams ?? true
    this.resources = new ServerResources(options.resources)
    const echoed = options.requestId?.echo === true ? [options.requestId.header] : []
    this.exposeNames = options.traceResponse ? [...echoed, TRACERESPONSE_HEADER] : echoed
    this.reportsDecision = options.traceResponse || options.serverTiming
    this.ignores =
      options.ignorePaths.size > 0 || options.ignorePatterns.length > 0 || options.ignoreRequest !== undefined
    this.mount = watchMount(adapter.framework)
    registerMountWatch(this, this.mount)
  }

  calledByWrongFramework(): void {
    this.mount.sawRequest(undefined)
    const [ours, theirs] = this.adapter.framework === 'koa' ? ['koa', 'express'] : ['express', 'koa']
    const call = ours === 'koa' ? '(req, res, next)' : '(ctx, next)'
    logger.error(
      `traceweave() from @traceweave/${ours} was called as ${call}: this is a ${theirs === 'koa' ? 'Koa' : 'Express'} app. ` +
        `Import it from @traceweave/${theirs} instead (import { traceweave } from '@traceweave/${theirs}'); ` +
        'until then requests pass through untraced',
    )
  }

  start(
    req: IncomingMessage,
    res: ServerResponse,
    request: Request,
    proxy: ProxyTrust,
  ): ServerRequest<Request> | undefined {
    if (!this.mount.settled) this.mount.sawRequest(serverOf(req))
    // try/catch rather than failOpen's closure: this runs on every request.
    try {
      return this.startRequest(req, res, request, proxy)
    } catch (error) {
      reportFailure('server.start', error)
      return undefined
    }
  }

  run<T>(serverRequest: ServerRequest<Request>, fn: () => T): T {
    return this.resources.run(serverRequest, fn, runInContext)
  }

  routeKnown(serverRequest: ServerRequest<Request>, route: string): void {
    if (serverRequest.ended || route === serverRequest.state.route) return
    try {
      this.applyRoute(serverRequest, route)
    } catch (error) {
      reportFailure('server.routeKnown', error)
    }
  }

  userKnown(serverRequest: ServerRequest<Request>, userId: string): void {
    const valid = parseUserId(userId)
    if (valid === undefined) return
    failOpen(
      'server.userKnown',
      () => {
        const hasher = this.options.hasher
        applyUserId(serverRequest.state, valid, hasher === undefined ? valid : hasher(valid))
      },
      undefined,
    )
  }

  beforeInject(serverRequest: ServerRequest<Request>): void {
    // A deferred sampling decision is about to be forced: let it see the route if routing has run.
    failOpen('server.beforeInject', () => this.refreshRoute(serverRequest), undefined)
  }

  recordError(serverRequest: ServerRequest<Request>, error: unknown): void {
    if (serverRequest.ended || error === serverRequest.lastError) return
    failOpen(
      'server.recordError',
      () => {
        // Koa's error handler removes every header before it writes the error response: re-adding ours
        // when the head is written keeps the request ID on error responses too.
        hookResponseHead(serverRequest)
        // An error carrying a 4xx status (ctx.throw(404), http-errors) is the client's, not ours.
        const status = statusOf(error)
        if (status !== undefined && status < 500) return
        serverRequest.lastError = error
        serverRequest.span.recordException(toException(error))
      },
      undefined,
    )
  }

  end(serverRequest: ServerRequest<Request>): void {
    if (serverRequest.ended) return
    serverRequest.ended = true
    try {
      this.resources.end(serverRequest)
      this.finish(serverRequest)
    } catch (error) {
      reportFailure('server.end', error)
    }
  }

  /**
   * Response starting (headers about to be written with `status`): last chance for route and response
   * headers, and the moment a deferred decision is judged on the outcome and reported.
   */
  responseStarting(serverRequest: ServerRequest<Request>, status?: number): void {
    this.refreshRoute(serverRequest)
    const sampled = decideResponse(serverRequest, status ?? serverRequest.res.statusCode)
    this.setResponseHeaders(serverRequest, true, sampled)
    // An enriched span is ended by the http instrumentation on the response's 'close', before our
    // 'close' listener runs: its response headers are recorded now, when they are set.
    const { span, res, ownsSpan } = serverRequest
    if (!ownsSpan) this.captureHeaders(span, this.options.captureResponseHeaders, res.getHeaders())
  }

  private startRequest(
    req: IncomingMessage,
    res: ServerResponse,
    request: Request,
    proxy: ProxyTrust,
  ): ServerRequest<Request> | undefined {
    // Tracing switched off (setupTracing({ disabled }) or OTEL_SDK_DISABLED): the request passes untouched.
    if (isTracingDisabled()) return undefined
    const options = this.options
    const path = pathOf(req)
    if (this.isIgnored(path, request)) return undefined

    const headers = req.headers
    const method = normalizeMethod(req.method)
    const policy = options.requestId
    const requestId = policy === undefined ? undefined : resolveRequestId(policy, headers, request)
    // Literal keys (not the ATTR_ constants) let V8 build these hot objects from a boilerplate.
    const correlationAttributes: Record<string, string | number> =
      requestId === undefined ? {} : { 'request.id': requestId }
    // Every field the request may get is declared here, so the record has one shape from the start
    // (fields added later would grow it a step at a time, per request).
    const state: RequestState = {
      requestId,
      requestIdHeader: policy?.header,
      method,
      path,
      headers,
      sessionId: undefined,
      sessionOperation: undefined,
      sessionOperationNumber: undefined,
      userId: undefined,
      route: undefined,
      correlationAttributes,
      openSpans: undefined,
      serverHooks: undefined,
      serverRequest: undefined,
    }
    const tracer = this.tracers.current()
    const active = context.active()
    const existing = trace.getSpan(active)
    const existingServer = tracer !== undefined && existing !== undefined && isServerSpan(existing)
    const enrich = existingServer && options.existingServerSpan === 'enrich'
    // The caller's context is read before the session and user, so a trusted caller's correlation
    // (correlation.propagate) is known before the span starts and the sampler sees the request.
    let incoming: IncomingParent | undefined
    let trusted: boolean | undefined
    if (tracer !== undefined && !existingServer) {
      trusted = this.isTrusted(request)
      incoming = extractIncoming(headers, trusted)
    }
    const correlation = options.correlation
    if (correlation !== undefined) {
      state.propagateCorrelation = correlation
      // Trusted by the middleware's policy and, when we extracted, not refused by the propagator's.
      if ((trusted ?? this.isTrusted(request)) && incoming?.link === undefined) {
        const received = readPropagatedCorrelation(headers.baggage, correlation)
        if (received !== undefined) this.applyPropagated(state, received, serverSpanName(method, undefined))
      }
    }
    if (state.sessionId === undefined)
      this.readSession(state, headers, request, serverSpanName(method, undefined))
    if (state.userId === undefined) this.readUser(state, request)

    const scheme = schemeOf(req, proxy)
    let span: Span
    let requestContext: Context
    let ownsSpan = false
    if (tracer === undefined) {
      warnOnce(
        'server.no-tracer',
        'no TracerProvider is registered, so requests get no spans: call setupTracing() before building the app (request IDs still work)',
      )
      span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT)
      requestContext = setRequestState(active, state)
    } else if (enrich) {
      // OpenTelemetry's http instrumentation opened the server span already: add to it, do not nest.
      span = existing!
      requestContext = setRequestState(withoutCorrelationBaggage(active, headers), state)
      span.setAttributes(correlationAttributes)
      this.captureHeaders(span, options.captureRequestHeaders, headers)
    } else {
      const parent = incoming ?? { context: active, link: undefined }
      // The record is in the parent context already, so a sampler sees the request at span start.
      requestContext = setRequestState(parent.context, state)
      const attributes = this.startAttributes(req, method, path, scheme, proxy)
      span = tracer.startSpan(
        serverSpanName(method, undefined),
        {
          kind: SpanKind.SERVER,
          attributes,
          links: parent.link === undefined ? undefined : [{ context: parent.link }],
        },
        requestContext,
      )
      if (span.isRecording()) this.addRecordingAttributes(span, req, proxy)
      ownsSpan = true
    }

    const serverRequest: ServerRequest<Request> = {
      state,
      span,
      context: trace.setSpan(requestContext, span),
      request,
      req,
      res,
      lifecycle: this,
      method,
      scheme,
      ownsSpan,
      // Read only when a MeterProvider will record the duration (a clock read is not free).
      startedAt: options.metrics && this.metrics.current() !== undefined ? performance.now() : NaN,
      ended: false,
      lastError: undefined,
      originalWriteHead: undefined,
      adapterState: undefined,
    }
    registerServerRequest(serverRequest)
    this.resources.start(serverRequest)
    // CorrelationSpanProcessor (registered by setupTracing) copied the correlation attributes onto the
    // span as it started, and tracked it; without it, do both here. Either way, once per span.
    // A span that does not record (a parent said no) takes no attributes: nothing to copy or track.
    if (!isTrackedSpan(state, span) && (!ownsSpan || span.isRecording())) {
      if (ownsSpan) span.setAttributes(correlationAttributes)
      trackOpenSpan(state, span)
    }
    // A deferred decision still open (outcome rules, or a decision the response reports) is judged and
    // reported when the head is written; only such requests pay for the hook (one field read for others).
    const decidesAtHead =
      state.sampling !== undefined && ownsSpan && needsResponseHead(serverRequest, this.reportsDecision)
    this.setResponseHeaders(serverRequest, !decidesAtHead, undefined)
    // A CORS middleware after us may overwrite Access-Control-Expose-Headers, and an enriched span is
    // ended before our 'close' listener runs: both need the moment the head is written.
    // The app may set its own Server-Timing after us: our metric is added when the head is written.
    if (
      decidesAtHead ||
      options.serverTiming ||
      options.exposeHeaders ||
      (!ownsSpan && options.captureResponseHeaders.length > 0)
    ) {
      hookResponseHead(serverRequest)
    }
    // One small closure per request: the alternative, finding the request from `res` in a shared
    // listener, needs a property on `res` (costly on Express's responses) or a WeakMap (costly in GC).
    // `on`, not `once`: 'close' is emitted once, and `end` is idempotent; `once` adds a wrapper per call.
    res.on('close', () => this.end(serverRequest))
    // Callback-style middleware (multipart parsers) resumes from request stream events, which would run
    // outside the request's context; attaching the request to its streams keeps them inside it.
    attachToStreams(serverRequest, this.bindStreams)
    const adapterStarted = this.adapter.onStart
    if (adapterStarted !== undefined) {
      failOpen(`${this.adapter.framework}.onStart`, () => adapterStarted(serverRequest), undefined)
    }
    return serverRequest
  }

  private isIgnored(path: string, request: Request): boolean {
    if (!this.ignores) return false
    const { ignorePaths, ignorePatterns, ignoreRequest } = this.options
    if (ignorePaths.has(path)) return true
    for (const pattern of ignorePatterns) if (pattern.test(path)) return true
    return (
      ignoreRequest !== undefined && failOpen('options.ignore', () => ignoreRequest(request) === true, false)
    )
  }

  private isTrusted(request: Request): boolean {
    const trust = this.options.trustIncoming
    if (typeof trust === 'boolean') return trust
    // A policy that throws must not let a forged traceparent in: treat the caller as untrusted.
    return failOpen('options.trustIncoming', () => trust(request) === true, false)
  }

  private readSession(
    state: RequestState,
    headers: IncomingHttpHeaders,
    request: Request,
    operation: string,
  ): void {
    const source = this.options.session
    if (source === undefined) return
    let raw: unknown
    if (source.kind === 'header') raw = headers[source.name]
    else if (source.kind === 'cookie') raw = readCookie(headers.cookie, source.name)
    else raw = failOpen('options.session.from', () => source.from(request), undefined)
    const sessionId = parseSessionId(raw)
    if (sessionId === undefined) return
    const name = this.options.sessionOperation
    // A custom name (parsed like a user ID: bounded, no control characters) is kept as it is.
    if (name !== undefined)
      operation =
        parseUserId(failOpen('options.session.operation', () => name(request), undefined)) ?? operation
    const entry = this.sessions.next(sessionId)
    state.sessionId = sessionId
    state.sessionOperation = operation
    state.sessionOperationNumber = entry.count
    const attributes = state.correlationAttributes
    attributes[ATTR_SESSION_ID] = entry.attributeValue
    attributes[ATTR_SESSION_OPERATION] = operation
    attributes[ATTR_SESSION_OPERATION_NUMBER] = entry.count
  }

  private readUser(state: RequestState, request: Request): void {
    const read = this.options.user
    if (read === undefined) return
    const userId = parseUserId(failOpen('options.user', () => read(request), undefined))
    if (userId === undefined) return
    const hasher = this.options.hasher
    state.userId = userId
    state.correlationAttributes[ATTR_USER_ID] = hasher === undefined ? userId : hasher(userId)
  }

  /** A trusted caller's session and user, as sent: hashed here only if they are not HMACs already. */
  private applyPropagated(state: RequestState, received: PropagatedCorrelation, operation: string): void {
    const hasher = this.options.hasher
    const attributes = state.correlationAttributes
    if (received.sessionId !== undefined && received.sessionOperationNumber !== undefined) {
      const hashed = received.sessionHashed === true
      state.sessionId = received.sessionId
      if (hashed) state.sessionIdHashed = true
      if (received.sessionOperation !== undefined) state.sessionOperationFromCaller = true
      state.sessionOperation = received.sessionOperation ?? operation
      state.sessionOperationNumber = received.sessionOperationNumber
      attributes[ATTR_SESSION_ID] =
        hashed || hasher === undefined ? received.sessionId : hasher(received.sessionId)
      attributes[ATTR_SESSION_OPERATION] = state.sessionOperation
      attributes[ATTR_SESSION_OPERATION_NUMBER] = received.sessionOperationNumber
    }
    if (received.userId !== undefined) {
      const hashed = received.userHashed === true
      state.userId = received.userId
      if (hashed) state.userIdHashed = true
      attributes[ATTR_USER_ID] = hashed || hasher === undefined ? received.userId : hasher(received.userId)
    }
  }

  private startAttributes(
    req: IncomingMessage,
    method: string,
    path: string,
    scheme: string,
    proxy: ProxyTrust,
  ): Attributes {
    const headers = req.headers
    const attributes: Attributes = {
      'http.request.method': method,
      'url.path': path.length > MAX_URL_PATH_LENGTH ? path.slice(0, MAX_URL_PATH_LENGTH) : path,
      'url.scheme': scheme,
    }
    if (method === '_OTHER' && req.method !== undefined)
      attributes[ATTR_HTTP_REQUEST_METHOD_ORIGINAL] = req.method
    const forwardedHost = isPeerTrusted(req, proxy) ? firstListValue(headers['x-forwarded-host']) : undefined
    const host = parseHost(forwardedHost ?? headers.host)
    if (host !== undefined) {
      attributes[ATTR_SERVER_ADDRESS] = host.address
      attributes[ATTR_SERVER_PORT] = host.port ?? (scheme === 'https' ? 443 : 80)
    }
    const captured = this.options.captureRequestHeaders
    for (const header of captured) {
      const value = headerAttribute(header, headers[header.name])
      if (value !== undefined) attributes[header.attribute] = value
    }
    return attributes
  }

  /**
   * The attributes no sampling decision needs, set only on a span that records: a request the sampler
   * drops (a parent that says no) does not pay for them.
   */
  private addRecordingAttributes(span: Span, req: IncomingMessage, proxy: ProxyTrust): void {
    if (typeof req.httpVersion === 'string') span.setAttribute(ATTR_NETWORK_PROTOCOL_VERSION, req.httpVersion)
    const client = resolveClientAddress(req, proxy)
    if (client !== undefined) span.setAttribute(ATTR_CLIENT_ADDRESS, client)
    const userAgent = req.headers['user-agent']
    if (typeof userAgent === 'string')
      span.setAttribute(ATTR_USER_AGENT_ORIGINAL, userAgent.slice(0, MAX_HEADER_ATTRIBUTE_LENGTH))
  }

  private captureHeaders(
    span: Span,
    captured: readonly CapturedHeader[],
    headers: Record<string, unknown>,
  ): void {
    for (const header of captured) {
      const value = headerAttribute(header, headers[header.name])
      if (value !== undefined) span.setAttribute(header.attribute, value)
    }
  }

  private applyRoute(serverRequest: ServerRequest<Request>, route: string): void {
    const { state, span } = serverRequest
    // The default operation name follows the span name; a custom one (session.operation) stays.
    const followsSpanName = state.sessionOperation === serverSpanName(serverRequest.method, state.route)
    state.route = route
    const name = serverSpanName(serverRequest.method, route)
    span.updateName(name)
    span.setAttribute(ATTR_HTTP_ROUTE, route)
    if (state.sessionId !== undefined && followsSpanName && state.sessionOperationFromCaller !== true) {
      state.sessionOperation = name
      state.correlationAttributes[ATTR_SESSION_OPERATION] = name
      span.setAttribute(ATTR_SESSION_OPERATION, name)
    }
  }

  private refreshRoute(serverRequest: ServerRequest<Request>): void {
    const readRoute = this.adapter.readRoute
    if (readRoute === undefined) return
    const route = readRoute(serverRequest.request, serverRequest)
    if (typeof route === 'string' && route.length > 0 && route !== serverRequest.state.route) {
      this.applyRoute(serverRequest, route)
    }
  }

  /**
   * The request ID, `traceresponse` and Server-Timing `trace` headers. The trace value is written when
   * `withTrace`: at start only if the decision is final already, at the head always, with the decision
   * as it stands then (`sampled`, from {@link decideResponse}).
   */
  private setResponseHeaders(
    serverRequest: ServerRequest<Request>,
    withTrace: boolean,
    sampled: boolean | undefined,
  ): void {
    const { res, state } = serverRequest
    if (res.headersSent) return
    const options = this.options
    const policy = options.requestId
    if (policy?.echo === true && state.requestId !== undefined && !res.hasHeader(policy.header)) {
      res.setHeader(policy.header, state.requestId)
    }
    if (this.reportsDecision && withTrace) {
      const value = traceResponseValue(serverRequest, sampled)
      if (value !== undefined) {
        if (options.traceResponse) res.setHeader(TRACERESPONSE_HEADER, value)
        if (options.serverTiming) setServerTimingTrace(res, value)
      }
    }
    if (options.exposeHeaders && this.exposeNames.length > 0) exposeHeaders(res, this.exposeNames)
  }

  private finish(serverRequest: ServerRequest<Request>): void {
    const { span, res, ownsSpan } = serverRequest
    this.refreshRoute(serverRequest)
    const recording = ownsSpan || span.isRecording()
    // 'close' without a finished response: the client went away before we could answer.
    if (!res.writableFinished && recording) span.addEvent(EVENT_ABORTED)
    const status = res.headersSent ? res.statusCode : undefined
    const errorType =
      status !== undefined && status >= 500 ? errorTypeOf(serverRequest.lastError, status) : undefined
    if (ownsSpan) {
      if (status !== undefined) span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status)
      if (errorType !== undefined) {
        span.setStatus({ code: SpanStatusCode.ERROR })
        span.setAttribute(ATTR_ERROR_TYPE, errorType)
      }
    }
    const captured = this.options.captureResponseHeaders
    if (recording && captured.length > 0) this.captureHeaders(span, captured, res.getHeaders())
    if (!ownsSpan) return
    span.end()
    if (this.options.metrics && !Number.isNaN(serverRequest.startedAt)) {
      const histogram = this.metrics.current()
      if (histogram !== undefined) this.recordDuration(histogram, serverRequest, status, errorType)
    }
  }

  private recordDuration(
    histogram: Histogram,
    serverRequest: ServerRequest<Request>,
    status: number | undefined,
    errorType: string | undefined,
  ): void {
    const attributes: Attributes = {
      [ATTR_HTTP_REQUEST_METHOD]: serverRequest.method,
      [ATTR_URL_SCHEME]: serverRequest.scheme,
    }
    const route = serverRequest.state.route
    if (route !== undefined) attributes[ATTR_HTTP_ROUTE] = route
    if (status !== undefined) attributes[ATTR_HTTP_RESPONSE_STATUS_CODE] = status
    if (errorType !== undefined) attributes[ATTR_ERROR_TYPE] = errorType
    const version = serverRequest.req.httpVersion
    if (typeof version === 'string') attributes[ATTR_NETWORK_PROTOCOL_VERSION] = version
    histogram.record((performance.now() - serverRequest.startedAt) / 1000, attributes)
  }
}

/**
 * The tracer of the TracerProvider registered now, or `undefined` when none is (the API's no-op).
 * Looked up again only when the global provider changes.
 */
class TracerSource {
  private delegate: unknown = TracerSource
  private tracer: Tracer | undefined

  current(): Tracer | undefined {
    const provider = trace.getTracerProvider()
    const delegate = tracerProviderDelegate(provider)
    if (delegate !== this.delegate) {
      this.delegate = delegate
      this.tracer = delegateTracer(provider, TRACER_NAME, TRACER_VERSION)
    }
    return this.tracer
  }
}

/**
 * Calls the lifecycle's `responseStarting` when the response head is written, by wrapping this
 * response's `writeHead` (once). Only for the responses that need it (errors, exposeHeaders,
 * serverTiming, a deferred decision judged or reported at the head), so the closure it makes costs
 * nothing on the common path.
 */
function hookResponseHead(serverRequest: ServerRequest<unknown>): void {
  const res = serverRequest.res
  if (serverRequest.originalWriteHead !== undefined || res.headersSent) return
  const original = res.writeHead
  serverRequest.originalWriteHead = original
  res.writeHead = function traceweaveWriteHead(this: ServerResponse, ...args: unknown[]) {
    // Unwrap first (unless someone wrapped us in turn), so a second call goes straight to Node.
    if (this.writeHead === traceweaveWriteHead) this.writeHead = original
    if (!serverRequest.ended) {
      const lifecycle = serverRequest.lifecycle as Lifecycle<unknown>
      const status = typeof args[0] === 'number' ? args[0] : undefined
      failOpen('server.responseStarting', () => lifecycle.responseStarting(serverRequest, status), undefined)
    }
    return (original as (...a: unknown[]) => unknown).apply(this, args)
  } as ServerResponse['writeHead']
}

function isServerSpan(span: Span): boolean {
  return spanKindOf(span) === SpanKind.SERVER && span.isRecording()
}

function pathOf(req: IncomingMessage): string {
  // Connect-style frameworks rewrite req.url inside mounted routers; originalUrl keeps the full target.
  const url = (req as { originalUrl?: unknown }).originalUrl
  const target = typeof url === 'string' ? url : (req.url ?? '/')
  const query = target.indexOf('?')
  return query === -1 ? target : target.slice(0, query)
}

function schemeOf(req: IncomingMessage, proxy: ProxyTrust): string {
  if (isPeerTrusted(req, proxy)) {
    const forwarded = firstListValue(req.headers['x-forwarded-proto'])?.toLowerCase()
    if (forwarded === 'http' || forwarded === 'https') return forwarded
  }
  return (req.socket as TLSSocket | undefined)?.encrypted === true ? 'https' : 'http'
}

function firstListValue(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > MAX_HEADER_ATTRIBUTE_LENGTH) return undefined
  const comma = value.indexOf(',')
  const first = (comma === -1 ? value : value.slice(0, comma)).trim()
  return first.length > 0 ? first : undefined
}

interface ParsedHost {
  readonly address: string
  readonly port: number | undefined
}

// One slot: a service sees the same Host header on nearly every request, so the regex, the
// lowercasing and the result object are spent once per change, not per request.
let lastHostValue: string | undefined
let lastHost: ParsedHost | undefined

function parseHost(value: unknown): ParsedHost | undefined {
  if (typeof value !== 'string') return undefined
  if (value === lastHostValue) return lastHost
  const host = parseHostValue(value)
  lastHostValue = value
  lastHost = host
  return host
}

function parseHostValue(value: string): ParsedHost | undefined {
  if (value.length > 261) return undefined
  const match = HOST_PATTERN.exec(value)
  if (match === null) return undefined
  const port = match[3] === undefined ? undefined : Number(match[3])
  if (port !== undefined && port > 65535) return undefined
  return { address: (match[1] ?? match[2]).toLowerCase(), port }
}

function headerAttribute(header: CapturedHeader, value: unknown): string[] | undefined {
  if (value === undefined) return undefined
  if (header.redacted) return ['[REDACTED]']
  const values = Array.isArray(value) ? value : [value]
  return values.slice(0, 16).map((one) => String(one).slice(0, MAX_HEADER_ATTRIBUTE_LENGTH))
}

function exposeHeaders(res: ServerResponse, names: readonly string[]): void {
  const current = res.getHeader(ACCESS_CONTROL_EXPOSE_HEADERS)
  const list = current === undefined ? '' : Array.isArray(current) ? current.join(', ') : String(current)
  const present = new Set(list.split(',').map((name) => name.trim().toLowerCase()))
  if (present.has('*')) return
  const missing = names.filter((name) => !present.has(name))
  if (missing.length === 0) return
  res.setHeader(
    ACCESS_CONTROL_EXPOSE_HEADERS,
    list.trim().length === 0 ? missing.join(', ') : `${list}, ${missing.join(', ')}`,
  )
}

function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const { status, statusCode } = error as { status?: unknown; statusCode?: unknown }
  const value = typeof status === 'number' ? status : statusCode
  return typeof value === 'number' && value >= 400 && value <= 599 ? value : undefined
}

function toException(error: unknown): Exception {
  if (error instanceof Error || typeof error === 'string') return error
  return String(error)
}

function errorTypeOf(error: unknown, status: number): string {
  if (error instanceof Error) {
    const constructorName = error.constructor?.name
    return typeof constructorName === 'string' && constructorName.length > 0 ? constructorName : error.name
  }
  return String(status)
}
