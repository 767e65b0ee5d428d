import {
  SpanKind,
  SpanStatusCode,
  isSpanContextValid,
  trace,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api'
import { normalizeMethod } from '@traceweave/core/internal'
import type { ClientSettings } from './options'

/**
 * `url` as `url.full` may show it: credentials always removed, the query only with `captureQuery`,
 * never the fragment (it is not sent anyway).
 */
export function redactUrl(url: URL, captureQuery: boolean): string {
  const search = captureQuery ? url.search : ''
  return `${url.protocol}//${url.host}${url.pathname}${search}`
}

function defaultPort(protocol: string): number | undefined {
  return protocol === 'https:' ? 443 : protocol === 'http:' ? 80 : undefined
}

/** The CLIENT span's attributes at start, per the OpenTelemetry HTTP client conventions. */
function requestAttributes(method: string, url: URL, captureQuery: boolean, resendCount: number): Attributes {
  const normalized = normalizeMethod(method)
  const known = normalized !== '_OTHER'
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
  const attributes: Attributes = {
    'http.request.method': normalized,
    'url.full': redactUrl(url, captureQuery),
    'server.address': hostname,
  }
  const port = url.port === '' ? defaultPort(url.protocol) : Number(url.port)
  if (port !== undefined) attributes['server.port'] = port
  if (!known) attributes['http.request.method_original'] = method
  if (resendCount > 0) attributes['http.request.resend_count'] = resendCount
  return attributes
}

/**
 * Starts the CLIENT span of one HTTP call (one attempt, one redirect hop) under `parent`, or returns
 * `undefined` when `parent` has no span and root spans are off. Under a non-sampled parent the SDK
 * returns a non-recording span with a fresh span ID: injecting from it carries the trace on.
 */
export function startClientSpan(
  settings: ClientSettings,
  method: string,
  url: URL,
  resendCount: number,
  parent: Context,
): Span | undefined {
  const parentSpanContext = trace.getSpanContext(parent)
  if (
    !settings.startRootSpans &&
    (parentSpanContext === undefined || !isSpanContextValid(parentSpanContext))
  ) {
    return undefined
  }
  // Unknown methods are `_OTHER` and the span is `HTTP`, so arbitrary methods cannot blow up cardinality.
  const name = normalizeMethod(method) === '_OTHER' ? 'HTTP' : method
  return settings.tracer().startSpan(
    name,
    {
      kind: SpanKind.CLIENT,
      attributes: requestAttributes(method, url, settings.captureQuery, resendCount),
    },
    parent,
  )
}

/** Ends `span` with the response status: ERROR for 4xx and 5xx, as the conventions ask of clients. */
export function endWithStatus(span: Span, status: number | undefined): void {
  if (status !== undefined) {
    span.setAttribute('http.response.status_code', status)
    if (status >= 400) {
      span.setAttribute('error.type', String(status))
      span.setStatus({ code: SpanStatusCode.ERROR })
    }
  }
  span.end()
}

/**
 * Ends `span` for a failed call: the response status when the error carries one (axios rejects on
 * 4xx/5xx), else the error's name (`TypeError` for a network failure, `AbortError` for an abort).
 */
export function endWithError(span: Span, error: unknown, status: number | undefined): void {
  // Duck-typed rather than `instanceof Error`: undici's errors come from another realm under some
  // runners, and any thrown object with a name and message is worth recording as an exception.
  const described =
    typeof error === 'object' && error !== null && typeof (error as Error).message === 'string'
      ? (error as Error)
      : undefined
  if (status !== undefined) {
    span.setAttribute('http.response.status_code', status)
    span.setAttribute('error.type', String(status))
  } else {
    const name = described?.name
    span.setAttribute('error.type', typeof name === 'string' && name !== '' ? name : '_OTHER')
  }
  if (described !== undefined) span.recordException(described)
  span.setStatus({ code: SpanStatusCode.ERROR, message: described?.message })
  span.end()
}
