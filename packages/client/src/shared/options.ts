import { trace, type Tracer } from '@opentelemetry/api'
import type { PropagateTo, PropagateToMatcher, RetryOptions } from '@traceweave/core'
import {
  checkBoolean,
  checkObject,
  compilePropagateTo,
  invalidOption,
  validateRetryOptions,
} from '@traceweave/core/internal'

/** Methods that may be sent twice without a different effect (RFC 9110 9.2.2), retried by default. */
export const IDEMPOTENT_METHODS: readonly string[] = ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']

/**
 * Retries of an HTTP call: {@link RetryOptions} (`retries` 3, `factor` 2, `minTimeout` 1000 ms,
 * `maxTimeout` 30000 ms, ...) plus the methods that may be retried. A call is retried on a network
 * error or a 408, 429 or 5xx response, never after the caller's own abort; `Retry-After` (seconds or
 * an HTTP date) replaces the backoff, capped by `maxTimeout`. `shouldRetry` can veto a retry the
 * policy allows; for a status failure its `error` is an {@link HttpStatusError}. `signal` bounds every
 * call of the client, retried or not: once it aborts no attempt starts, a backoff ends, and the attempt
 * in flight is aborted (linked with the call's own signal, which keeps working).
 */
export interface HttpRetryOptions extends Omit<RetryOptions, 'name' | 'tracer'> {
  /** Methods retried, uppercase. Default: the idempotent ones, GET, HEAD, OPTIONS, PUT, DELETE, TRACE. */
  methods?: readonly string[]
}

/** Options shared by `traceFetch`, `instrumentGlobalFetch` and `traceAxios`. All optional. */
export interface ClientOptions {
  /**
   * Destinations that receive `traceparent`, `tracestate`, baggage and the request ID. Default:
   * private destinations only (loopback, private IP ranges, single-label hosts, `.local`,
   * `.internal`, `.svc`, `.cluster.local`). Calls elsewhere still get a CLIENT span. See `PropagateTo`
   * in `@traceweave/core`.
   */
  propagateTo?: PropagateTo
  /** Keep the query string in `url.full` (it may hold tokens). Default false. */
  captureQuery?: boolean
  /** Start a root CLIENT span for a call made outside any span. Default false: no span, headers still go. */
  startRootSpans?: boolean
  /**
   * Header carrying the request ID of the incoming request (from the traceweave middleware) to the
   * next service; `false` sends none. A request ID the caller set themselves is kept. Default: the
   * header the middleware of the current request reads and echoes (`requestId.header`, by default
   * `x-request-id`).
   */
  requestIdHeader?: string | false
  /** Retry failed calls; `true` for the defaults. Default: no retries. */
  retry?: boolean | HttpRetryOptions
  /**
   * Run the call with OpenTelemetry tracing suppressed underneath, so an active http or undici
   * instrumentation does not add a second CLIENT span (or overwrite our headers). Default true.
   */
  suppressNestedInstrumentation?: boolean
  /** Tracer for the spans. Default: the global tracer `@traceweave/client`. */
  tracer?: Tracer
}

/** Client options, validated and compiled once at setup. */
export interface ClientSettings {
  readonly propagateTo: PropagateToMatcher
  readonly captureQuery: boolean
  readonly startRootSpans: boolean
  /** Lowercase header name; `undefined`: the middleware's; `false`: none. */
  readonly requestIdHeader: string | false | undefined
  readonly retry: Readonly<HttpRetryOptions> | undefined
  readonly retryMethods: ReadonlySet<string>
  readonly suppressNested: boolean
  tracer(): Tracer
}

const TRACER_NAME = '@traceweave/client'
const TRACER_VERSION = '0.1.0'
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/i

/** Validates `options` (a `ConfigError` names `<api>.<option>` and the valid values) and compiles them. */
export function resolveClientOptions(api: string, options: ClientOptions = {}): ClientSettings {
  checkObject(`${api}(options)`, options)
  const {
    propagateTo,
    captureQuery = false,
    startRootSpans = false,
    requestIdHeader,
    retry = false,
    suppressNestedInstrumentation = true,
    tracer,
  } = options
  for (const [name, value] of Object.entries({
    captureQuery,
    startRootSpans,
    suppressNestedInstrumentation,
  })) {
    checkBoolean(`${api}.${name}`, value)
  }
  if (
    requestIdHeader !== undefined &&
    requestIdHeader !== false &&
    !(typeof requestIdHeader === 'string' && HEADER_NAME.test(requestIdHeader))
  ) {
    invalidOption(`${api}.requestIdHeader`, 'a header name (an RFC 9110 token) or false', requestIdHeader)
  }
  if (tracer !== undefined && typeof tracer?.startSpan !== 'function') {
    invalidOption(`${api}.tracer`, 'an OpenTelemetry Tracer (an object with startSpan())', tracer)
  }
  const retryOptions = resolveRetry(api, retry)
  return {
    propagateTo: compilePropagateTo(propagateTo, `${api}.propagateTo`),
    captureQuery,
    startRootSpans,
    requestIdHeader: typeof requestIdHeader === 'string' ? requestIdHeader.toLowerCase() : requestIdHeader,
    retry: retryOptions,
    retryMethods: new Set(retryOptions?.methods ?? IDEMPOTENT_METHODS),
    suppressNested: suppressNestedInstrumentation,
    // Looked up per call, not cached: the global provider may be registered after the client is built.
    tracer: tracer === undefined ? () => trace.getTracer(TRACER_NAME, TRACER_VERSION) : () => tracer,
  }
}

function resolveRetry(api: string, retry: boolean | HttpRetryOptions): HttpRetryOptions | undefined {
  if (retry === false) return undefined
  if (retry === true) return {}
  checkObject(`${api}.retry`, retry, 'true, false or retry options { retries, minTimeout, ... }')
  validateRetryOptions(retry, `${api}.retry`)
  const { methods } = retry
  if (
    methods !== undefined &&
    !(Array.isArray(methods) && methods.every((m) => typeof m === 'string' && m === m.toUpperCase()))
  ) {
    invalidOption(`${api}.retry.methods`, "an array of uppercase method names, e.g. ['GET', 'PUT']", methods)
  }
  return Object.freeze({ ...retry })
}
