import { SamplingDecision as OtelDecision, type Attributes, type SamplingResult } from '@opentelemetry/api'
import type { RequestState } from '../correlation/request-state'
import type { SamplingDecision } from './engine'
import { withThreshold } from './ot-tracestate'
import type { SamplingInput } from './rules'

/** Span attribute carrying 1/probability of a kept trace whose probability is known. */
export const ATTR_ADJUSTED_COUNT = 'sampling.adjusted_count'

/** The result for spans that are neither recorded nor sampled. */
export const NOT_RECORD: SamplingResult = { decision: OtelDecision.NOT_RECORD }

/** The OTel sampling result of a decision made at a trace's entry into this service. */
export function toResult(
  decision: SamplingDecision,
  parentTraceState: SamplingResult['traceState'],
): SamplingResult {
  if (!decision.sampled) return NOT_RECORD
  const traceState = withThreshold(parentTraceState, decision.threshold)
  if (decision.threshold === undefined) return { decision: OtelDecision.RECORD_AND_SAMPLED, traceState }
  return {
    decision: OtelDecision.RECORD_AND_SAMPLED,
    traceState,
    attributes: { [ATTR_ADJUSTED_COUNT]: decision.threshold.adjustedCount },
  }
}

/** What the rules see: the request record when our middleware started the span, else its attributes. */
export function samplingInput(
  state: RequestState | undefined,
  attributes: Attributes | undefined,
): SamplingInput {
  if (state !== undefined) {
    return {
      method: state.method,
      path: state.path,
      route: state.route,
      headers: state.headers,
      userId: state.userId,
    }
  }
  return {
    method: stringAttribute(attributes, 'http.request.method'),
    path: stringAttribute(attributes, 'url.path'),
    route: stringAttribute(attributes, 'http.route'),
  }
}

function stringAttribute(attributes: Attributes | undefined, name: string): string | undefined {
  const value = attributes?.[name]
  return typeof value === 'string' ? value : undefined
}
