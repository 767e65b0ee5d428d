import {
  context,
  INVALID_SPAN_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
} from '@opentelemetry/api'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { performance } from 'node:perf_hooks'
import { resolveRequestId } from '../correlation/request-id'
import { readPropagatedCorrelation, withoutCorrelationBaggage } from '../correlation/propagated'
import { setRequestState, type RequestState } from '../correlation/request-state'
import { isTrackedSpan, trackOpenSpan } from '../correlation/span-processor'
import { parseUserId } from '../correlation/user'
import { logger, warnOnce } from '../internal/diag'
import { isTracingDisabled } from '../internal/disabled'
import { runInRequestContext } from '../internal/fallback-context'
import { failOpen, reportFailure } from '../internal/guard'
import { spanKindOf } from '../internal/otel-globals'
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_SESSION_OPERATION,
  EVENT_ABORTED,
  normalizeMethod,
  serverSpanName,
} from './attributes'
import type { ProxyTrust } from './client-address'
import { errorTypeOf, statusOf, toException } from './error-classification'
import { extractIncoming, type IncomingParent } from './incoming'
import { recordDuration, ServerMetrics } from './metrics'
import { resolveServerOptions, type ResolvedServerOptions, type TraceweaveOptions } from './options'
import { registerServerRequest } from './registry'
import {
  addRecordingAttributes,
  captureHeaders,
  pathOf,
  schemeOf,
  startAttributes,
} from './request-attributes'
import { RequestCorrelation } from './request-correlation'
import { isIgnored, isTrusted } from './request-policy'
import { ServerResources } from './resources'
import { decideResponse, needsResponseHead } from './response-decision'
import { hookResponseHead, ResponseHeaders } from './response-head'
import { registerMountWatch, serverOf, watchMount, type MountWatch } from './response-observer'
import { attachToStreams } from './stream-context'
import { TracerSource } from './tracer-source'
import type { ServerAdapter, ServerLifecycle, ServerRequest } from './types'

const withContext = <T>(ctx: Context, fn: () => T): T => context.with(ctx, fn)
const runInContext = <T>(ctx: Context, fn: () => T): T => runInRequestContext(ctx, fn, withContext)

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
  private readonly metrics = new ServerMetrics()
  private readonly tracers = new TracerSource()
  private readonly correlation: RequestCorrelation<Request>
  private readonly responseHeaders: ResponseHeaders<Request>
  private readonly bindStreams: boolean
  private readonly mount: MountWatch
  private readonly resources: ServerResources
  /** The `ignore` option names something (most apps: no), so a request need not hash its path. */
  private readonly ignores: boolean

  constructor(
    private readonly options: ResolvedServerOptions<Request>,
    private readonly adapter: ServerAdapter<Request>,
  ) {
    this.correlation = new RequestCorrelation(options)
    this.responseHeaders = new ResponseHeaders(options)
    this.bindStreams = options.bindStreams ?? adapter.bindStreams ?? true
    this.resources = new ServerResources(options.resources)
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
    failOpen('server.userKnown', () => this.correlation.userKnown(serverRequest.state, valid), undefined)
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
    this.responseHeaders.set(serverRequest, true, sampled)
    // An enriched span is ended by the http instrumentation on the response's 'close', before our
    // 'close' listener runs: its response headers are recorded now, when they are set.
    const { span, res, ownsSpan } = serverRequest
    if (!ownsSpan) captureHeaders(span, this.options.captureResponseHeaders, res.getHeaders())
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
    if (this.ignores && isIgnored(options, path, request)) return undefined

    const headers = req.headers
    const method = normalizeMethod(req.method)
    const policy = options.requestId
    const requestId = policy === undefined ? undefined : resolveRequestId(policy, headers, request)
    // Literal keys (not the ATTR_ constants) let V8 build this hot object from a boilerplate.
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
      trusted = isTrusted(options, request)
      incoming = extractIncoming(headers, trusted)
    }
    const correlation = options.correlation
    if (correlation !== undefined) {
      state.propagateCorrelation = correlation
      // Trusted by the middleware's policy and, when we extracted, not refused by the propagator's.
      if ((trusted ?? isTrusted(options, request)) && incoming?.link === undefined) {
        const received = readPropagatedCorrelation(headers.baggage, correlation)
        if (received !== undefined)
          this.correlation.applyPropagated(state, received, serverSpanName(method, undefined))
      }
    }
    if (state.sessionId === undefined)
      this.correlation.readSession(state, headers, request, serverSpanName(method, undefined))
    if (state.userId === undefined) this.correlation.readUser(state, request)

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
      captureHeaders(span, options.captureRequestHeaders, headers)
    } else {
      const parent = incoming ?? { context: active, link: undefined }
      // The record is in the parent context already, so a sampler sees the request at span start.
      requestContext = setRequestState(parent.context, state)
      const attributes = startAttributes(req, method, path, scheme, proxy, options.captureRequestHeaders)
      span = tracer.startSpan(
        serverSpanName(method, undefined),
        {
          kind: SpanKind.SERVER,
          attributes,
          links: parent.link === undefined ? undefined : [{ context: parent.link }],
        },
        requestContext,
      )
      if (span.isRecording()) addRecordingAttributes(span, req, proxy)
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
      state.sampling !== undefined &&
      ownsSpan &&
      needsResponseHead(serverRequest, this.responseHeaders.reportsDecision)
    this.responseHeaders.set(serverRequest, !decidesAtHead, undefined)
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
    if (recording && captured.length > 0) captureHeaders(span, captured, res.getHeaders())
    if (!ownsSpan) return
    span.end()
    if (this.options.metrics && !Number.isNaN(serverRequest.startedAt)) {
      const histogram = this.metrics.current()
      if (histogram !== undefined) recordDuration(histogram, serverRequest, status, errorType)
    }
  }
}

function isServerSpan(span: Span): boolean {
  return spanKindOf(span) === SpanKind.SERVER && span.isRecording()
}
