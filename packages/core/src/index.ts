/**
 * @traceweave/core: W3C Trace Context propagation, sampling, correlation and helpers, written
 * against the OpenTelemetry API only. Every public name is listed here explicitly.
 *
 * @packageDocumentation
 */

// correlation
export { getRequestState, setRequestState } from './correlation/request-state'
export type { RequestState } from './correlation/request-state'

// helpers
export { trace } from './helpers/trace'
export type { TraceOptions } from './helpers/trace'
export { withResources } from './helpers/resources'
export { enrichSpan } from './helpers/enrich'
export { getActiveTraceIds } from './helpers/trace-ids'
export type { ActiveTraceIds } from './helpers/trace-ids'

// propagation (W3C Trace Context Level 1 + 2, W3C Baggage, trust policy)
export { parseTraceParent, formatTraceParent } from './propagation/traceparent'
export type { TraceParent, TraceParentFields } from './propagation/traceparent'
export { parseTraceState, formatTraceState, getOtSubKey, setOtSubKey } from './propagation/tracestate'
export type { TraceStateList, TraceStateMember } from './propagation/tracestate'
export { parseBaggage, formatBaggage, BaggagePropagator } from './propagation/baggage'
export type { BaggageMember } from './propagation/baggage'
export { TraceContextPropagator } from './propagation/propagator'
export type { TraceContextPropagatorOptions } from './propagation/propagator'
export { createTraceweavePropagator } from './propagation/composite'
export type { TraceweavePropagatorOptions, PropagatorName } from './propagation/composite'
export { getUntrustedParent } from './propagation/trust'
export type { TrustIncoming } from './propagation/trust'
export { extractContext, injectContext } from './propagation/carrier'
export type {
  ExtractContextOptions,
  InjectContextOptions,
  HeaderCarrier,
  HeaderRecord,
  HeadersLike,
  InjectCarrier,
} from './propagation/carrier'
export { isPropagationAllowedTo } from './propagation/propagate-to'
export type { PropagateTo, PropagateToEntry, PropagateToMatcher } from './propagation/propagate-to'

// helpers: retries
export { tracedRetry } from './helpers/retry'
export type { RetryOptions, RetryContext } from './helpers/retry'

// sampling
export { TraceweaveSampler } from './sampling/sampler'
export { getSamplingStats, resetSamplingStats } from './sampling/stats'
export type { SamplingStats, SamplingReason, UpgradeReason } from './sampling/stats'
export type { SamplingOptions, SamplingRule, SampleSpec, SamplingStep } from './sampling/options'

// correlation: request and session IDs, users, span processor
export { getRequestId } from './correlation/request-id'
export { identifyUser } from './correlation/user'
export { CorrelationSpanProcessor } from './correlation/span-processor'
export type { SpanProcessorLike } from './correlation/span-processor'

// server: the framework-neutral lifecycle the Express and Koa adapters share
export { createServerLifecycle } from './server/lifecycle'
export type { ServerAdapter, ServerLifecycle, ServerRequest } from './server/types'
export type { ProxyTrust } from './server/client-address'
export type { ResourcesOption } from './server/resources'
export type {
  TraceweaveOptions,
  RequestIdOptions,
  SessionOptions,
  CaptureHeadersOptions,
  HashIdsOptions,
  CorrelationOptions,
  PropagatedCorrelationKind,
} from './server/options'
export {
  BAGGAGE_SESSION_ID,
  BAGGAGE_SESSION_OPERATION,
  BAGGAGE_SESSION_OPERATION_NUMBER,
  BAGGAGE_USER_ID,
  BAGGAGE_HASHED_PROPERTY,
} from './correlation/propagated'

// on/off switch shared by setupTracing() and the middlewares
export { isTracingDisabled, setTracingDisabled } from './internal/disabled'
