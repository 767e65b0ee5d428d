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
export { enrichSpan } from './helpers/enrich'
export { getActiveTraceIds } from './helpers/trace-ids'
export type { ActiveTraceIds } from './helpers/trace-ids'
