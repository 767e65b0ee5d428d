import { context, type Context } from '@opentelemetry/api'
import { IncomingMessage, type ServerResponse } from 'node:http'
import { boundEmitterMark } from '../internal/otel-globals'
import type { ServerRequest } from './types'

/**
 * Runs the events of a traced request's `req` stream in the request's context, so listeners that
 * handlers and parsers add (a multipart parser, a raw `req.on('data')`) see the request record and
 * span: Node emits these events from the HTTP parser's async context, not from the middleware's.
 *
 * OpenTelemetry's context manager binds an emitter by writing wrapped `on`/`once`/... methods and a
 * listener map onto it: closures and own properties on every request, which costs more than the rest
 * of a request's tracing. Instead, `IncomingMessage.prototype.emit` is wrapped once, lazily: an event
 * of a traced request runs within its context; any other stream pays one property miss. Listeners are not
 * wrapped, so adding and removing them behaves exactly as in Node.
 *
 * The request's handle is kept on `req` under a private symbol, not in a WeakMap. Measured:
 * a WeakMap keyed by short-lived objects makes every minor garbage collection walk its entries (the
 * map is old, the keys are young), which cost far more per request than everything else the lifecycle
 * does; the symbol property goes with the request. (On Express's requests, whose prototype Express
 * replaces, adding any property costs about 1.3 µs, as V8 cannot reuse a cached shape; still cheaper.)
 */
const SERVER_REQUEST = Symbol('traceweave.serverRequest')
let emitWrapped = false

type Traced = { [SERVER_REQUEST]?: ServerRequest<unknown> }

function serverRequestOfStream(stream: object): ServerRequest<unknown> | undefined {
  return (stream as Traced)[SERVER_REQUEST]
}

/**
 * Makes the events of the request's `req` and `res` run in its context (see the module comment) when
 * `bind` is on, and layers our binding over one OpenTelemetry's http instrumentation made already.
 */
export function attachToStreams(serverRequest: ServerRequest<unknown>, bind: boolean): void {
  const { req, res, context: ctx } = serverRequest
  if (bind) {
    if (!emitWrapped) wrapEmits()
    // The request stream only: its events are the ones code reads a request by ('data', 'end',
    // 'readable'). The response's ('finish', 'close') serve logging and cleanup, and running each of
    // them in a context switch measurably costs more than it gives.
    ;(req as Traced)[SERVER_REQUEST] = serverRequest
  }
  // Someone bound them already (OpenTelemetry's http instrumentation): its wrapped listeners would run
  // in its context whatever emit does, so our binding must be layered over its own.
  if (Object.prototype.hasOwnProperty.call(req, 'on')) bindOver(ctx, req)
  if (Object.prototype.hasOwnProperty.call(res, 'on')) bindOver(ctx, res)
}

function wrapEmits(): void {
  emitWrapped = true
  const prototype = IncomingMessage.prototype
  const original = prototype.emit as (this: unknown, ...args: unknown[]) => boolean
  prototype.emit = function traceweaveEmit(this: Traced & IncomingMessage, event: string | symbol) {
    const serverRequest = serverRequestOfStream(this)
    // No listener but Node's own, nothing to run in the context: Node emits 'resume', 'readable', 'end'
    // and 'close' on every request whether anyone listens or not, and on Node 24+ each context switch
    // allocates an async context frame (measured: the largest part of this binding's cost on a GET).
    if (serverRequest === undefined || !hasAppListener(this, event))
      // eslint-disable-next-line prefer-rest-params
      return original.apply(this, arguments as unknown as unknown[])
    // eslint-disable-next-line prefer-rest-params
    return context.with(serverRequest.context, applyEmit, this, original, arguments)
  } as typeof prototype.emit
}

/**
 * Whether `event` has a listener other than Node's own: the http server listens to 'end' of every
 * keep-alive request (`clearIncoming`, its connection bookkeeping), which needs no context.
 */
function hasAppListener(req: IncomingMessage, event: string | symbol): boolean {
  const count = req.listenerCount(event)
  if (count !== 1 || event !== 'end') return count > 0
  return (req.rawListeners('end')[0] as { name?: unknown }).name !== 'clearIncoming'
}

function applyEmit(this: unknown, emit: (...args: unknown[]) => boolean, args: IArguments): boolean {
  return emit.apply(this, args as unknown as unknown[])
}

/**
 * The context manager ignores a second bind of an emitter it has bound. Hiding its mark during our
 * bind layers ours over its own (listeners run in `ctx`, removal still finds them); then the mark goes
 * back so both layers share one listener map. With another context manager this is a plain bind.
 */
function bindOver(ctx: Context, emitter: IncomingMessage | ServerResponse): void {
  const marked = emitter as unknown as Record<symbol, unknown>
  const mark = boundEmitterMark(emitter)
  if (mark === undefined) {
    context.bind(ctx, emitter)
    return
  }
  const listeners = marked[mark]
  delete marked[mark]
  try {
    context.bind(ctx, emitter)
  } finally {
    marked[mark] = listeners
  }
}
