import { isSpanContextValid, TraceFlags } from '@opentelemetry/api'
import { isTraceIdRandom } from '../propagation/random-flag'
import { parseTraceParent } from '../propagation/traceparent'
import { awaitsResponseHead, decideAtResponseHead } from '../sampling/deferred'
import type { ServerRequest } from './types'

/**
 * The response's side of sampling: the decision a deferred request reports when its head is written
 * (outcome rules judge the status and the time to first byte then), and the `traceresponse` /
 * Server-Timing `trace` value that carries it, as W3C Trace Context's response format describes.
 */

const RANDOM_TRACE_ID_FLAG = 0x02

/**
 * Whether this request's decision is still open when the response starts and the head matters: outcome
 * rules judge it then, or the response reports the decision (`reportsDecision`). Cheap: one context lookup, and false for
 * every request without a deferred decision here.
 */
export function needsResponseHead(serverRequest: ServerRequest<unknown>, reportsDecision: boolean): boolean {
  const spanContext = serverRequest.span.spanContext()
  return awaitsResponseHead(serverRequest.context, spanContext.traceId, reportsDecision)
}

/**
 * The response head is written with `status`: a deferred request is decided, or its "no" upgraded,
 * with what is known now. Returns the decision the response reports, `undefined` when the request
 * has no deferred decision here (its span's own flag says it then).
 */
export function decideResponse(serverRequest: ServerRequest<unknown>, status: number): boolean | undefined {
  const spanContext = serverRequest.span.spanContext()
  return decideAtResponseHead(serverRequest.context, spanContext.traceId, {
    status,
    error: serverRequest.lastError !== undefined,
  })
}

/**
 * `00-<trace-id>-<server span id>-<flags>`: the sampled flag from the decision as it stands when the
 * head is written (`sampled`, else the span's own flag), and the random-trace-id flag as the caller
 * sent it ("MUST set the random-trace-id flag ... to the same value that was found in the incoming
 * traceparent header"), or set for a trace ID the SDK generated here at random.
 */
export function traceResponseValue(
  serverRequest: ServerRequest<unknown>,
  sampled: boolean | undefined,
): string | undefined {
  const spanContext = serverRequest.span.spanContext()
  if (!isSpanContextValid(spanContext)) return undefined
  const kept = sampled ?? (spanContext.traceFlags & TraceFlags.SAMPLED) !== 0
  const random =
    isTraceIdRandom(serverRequest.context, spanContext.traceId) ??
    callerRandomFlag(serverRequest, spanContext.traceId)
  const flags = (kept ? TraceFlags.SAMPLED : 0) | (random ? RANDOM_TRACE_ID_FLAG : 0)
  return `00-${spanContext.traceId}-${spanContext.spanId}-0${flags}`
}

/**
 * The caller's random-trace-id flag when no propagator of ours recorded it (another propagator
 * extracted the caller): read from the incoming `traceparent` if it names this trace; otherwise the
 * trace ID was generated here by the SDK, at random.
 */
function callerRandomFlag(serverRequest: ServerRequest<unknown>, traceId: string): boolean {
  const incoming = serverRequest.state.headers?.traceparent
  const parent = typeof incoming === 'string' ? parseTraceParent(incoming) : undefined
  if (parent === undefined || parent.traceId !== traceId) return true
  return (parent.traceFlags & RANDOM_TRACE_ID_FLAG) !== 0
}
