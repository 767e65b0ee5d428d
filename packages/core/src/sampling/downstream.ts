import { TraceFlags, trace, type Context } from '@opentelemetry/api'
import { parseTraceResponse, traceFromServerTiming } from '../propagation/traceresponse'
import { upgradeFromDownstream } from './deferred'

/** What a traced client read of a response: its `traceresponse` and `Server-Timing` header values. */
export interface DownstreamAnswer {
  readonly traceresponse?: unknown
  readonly serverTiming?: unknown
}

/**
 * The "Load Balancer Deferred Sampling" step of Trace Context, on the caller's side: a callee inside
 * `propagateTo` answered a call made from `callContext` (the client span's context). If the answer
 * names this trace and is sampled while the call went out unsampled, the caller's request is upgraded
 * (when it is still recording: outcome rules, `decide: 'deferred'`), else counted as missed. An
 * answer for another trace ID (a restarted trace, an untrusted hop) is ignored. Never throws.
 */
export function applyDownstreamAnswer(callContext: Context, answer: DownstreamAnswer): void {
  const spanContext = trace.getSpanContext(callContext)
  if (spanContext === undefined || (spanContext.traceFlags & TraceFlags.SAMPLED) !== 0) return
  const parsed = parseTraceResponse(answer.traceresponse) ?? traceFromServerTiming(answer.serverTiming)
  if (parsed === undefined || parsed.traceId !== spanContext.traceId) return
  if ((parsed.traceFlags & TraceFlags.SAMPLED) === 0) return
  upgradeFromDownstream(callContext, spanContext.traceId)
}
