import {
  SpanKind,
  SpanStatusCode,
  context,
  trace as traceApi,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type Tracer,
} from '@opentelemetry/api'
import { TRACER_NAME, TRACER_VERSION } from '../internal/tracer'
import { finishMeasuring, startMeasuring } from './resources'

/** Options of {@link trace}. */
export interface TraceOptions {
  /** Attributes set on the span when it starts. Default: none. */
  attributes?: Attributes
  /** Span kind. Default `SpanKind.INTERNAL`. */
  kind?: SpanKind
  /** Links to other spans (e.g. the messages of a batch). Default: none. */
  links?: Link[]
  /** Parent context. Default: the active context. */
  context?: Context
  /** Tracer to use. Default: the global tracer `@traceweave/core`. */
  tracer?: Tracer
  /**
   * Record on the span the CPU time, heap and external memory and event-loop utilization of the
   * PROCESS while the span was open (`traceweave.process.*`; see `withResources`). Costs about 10 µs
   * per span, only for recorded spans. Default `false`.
   */
  resources?: boolean
}

/**
 * Runs `fn` in a new active span named `name` and returns `fn`'s result unchanged: a value as is, a
 * promise as a promise that settles exactly like it (same value or same rejection). The span stays active across `await`, timers and `Promise.all` fan-out; an exception or
 * rejection is recorded on the span, sets its status to ERROR and is rethrown untouched. The span ends
 * exactly once, when `fn` returns or its promise settles.
 *
 * @example
 * const user = await trace('load user', () => db.users.find(id), { attributes: { 'user.id': id } })
 */
export function trace<T>(name: string, fn: (span: Span) => T, options: TraceOptions = {}): T {
  const tracer = options.tracer ?? traceApi.getTracer(TRACER_NAME, TRACER_VERSION)
  const parent = options.context ?? context.active()
  const span = tracer.startSpan(
    name,
    { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes, links: options.links },
    parent,
  )
  const resources = options.resources === true ? startMeasuring(span) : undefined
  let result: T
  try {
    result = context.with(traceApi.setSpan(parent, span), fn, undefined, span)
  } catch (error) {
    failSpan(span, error)
    finishMeasuring(span, resources)
    span.end()
    throw error
  }
  if (isPromiseLike(result)) {
    // A promise that settles exactly like fn's (same value, same rejection), after the span ended. Not
    // fn's own promise: handling that one here would hide an unhandled rejection the caller forgot.
    return Promise.resolve(result).then(
      (value) => {
        finishMeasuring(span, resources)
        span.end()
        return value
      },
      (error: unknown) => {
        failSpan(span, error)
        finishMeasuring(span, resources)
        span.end()
        throw error
      },
    ) as T
  }
  finishMeasuring(span, resources)
  span.end()
  return result
}

/** Records `error` on `span` and marks it failed, without changing the error. */
export function failSpan(span: Span, error: unknown): void {
  if (error instanceof Error) {
    span.recordException(error)
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.message })
    span.setAttribute('error.type', error.name || 'Error')
  } else {
    span.recordException(String(error))
    span.setStatus({ code: SpanStatusCode.ERROR })
    span.setAttribute('error.type', '_OTHER')
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  )
}
