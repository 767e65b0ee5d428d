import {
  SamplingDecision as OtelDecision,
  type Attributes,
  type SamplingResult,
  type TraceState,
} from '@opentelemetry/api'
import type { RequestState } from '../correlation/request-state'
import type { SamplingDecision } from './engine'
import { getOtSubKey, setOtSubKey } from '../propagation/tracestate'
import type { Threshold } from './threshold'
import type { SamplingInput } from './rules'

/** Span attribute carrying 1/probability of a kept trace whose probability is known. */
export const ATTR_ADJUSTED_COUNT = 'sampling.adjusted_count'
/** Span attribute marking a trace kept after an earlier "no" (its probability is unknown). */
export const ATTR_UPGRADED = 'sampling.upgraded'

/** Span attribute naming why the trace was kept where it entered this service (`ratio`, `user`, `rule`, ...). */
export const ATTR_SAMPLING_REASON = 'sampling.reason'

/** The result for spans that are neither recorded nor sampled. */
export const NOT_RECORD: SamplingResult = { decision: OtelDecision.NOT_RECORD }

/**
 * The OTel sampling result of a decision made at a trace's entry into this service. `rewritten`: the
 * parent's `tracestate` was cleaned (an invalid `rv` erased), so even a dropped trace must carry it.
 */
export function toResult(
  decision: SamplingDecision,
  parentTraceState: SamplingResult['traceState'],
  rewritten = false,
): SamplingResult {
  if (!decision.sampled) {
    return rewritten ? { decision: OtelDecision.NOT_RECORD, traceState: parentTraceState } : NOT_RECORD
  }
  const traceState = withThreshold(parentTraceState, decision.threshold)
  if (decision.threshold === undefined)
    return { decision: OtelDecision.RECORD_AND_SAMPLED, traceState, attributes: reasonOnly(decision.reason) }
  return {
    decision: OtelDecision.RECORD_AND_SAMPLED,
    traceState,
    attributes: {
      [ATTR_SAMPLING_REASON]: decision.reason,
      [ATTR_ADJUSTED_COUNT]: decision.threshold.adjustedCount,
    },
  }
}

// One frozen attributes object per reason (a handful), built once: the SDK copies attributes in.
const REASON_ATTRIBUTES = new Map<string, Attributes>()
function reasonOnly(reason: string): Attributes {
  let attributes = REASON_ATTRIBUTES.get(reason)
  if (attributes === undefined) {
    attributes = Object.freeze({ [ATTR_SAMPLING_REASON]: reason })
    REASON_ATTRIBUTES.set(reason, attributes)
  }
  return attributes
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
      // A hashed user that this service cannot hash itself (no hashIds) matches no list: null.
      userIdHashedWith:
        state.userIdHashed === true ? (state.propagateCorrelation?.hasher ?? null) : undefined,
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

/**
 * `traceState` with OpenTelemetry's threshold (`ot=th`) set to `threshold`, or erased when the
 * probability is unknown (`undefined`), as the probability-sampling spec asks rather than guessing.
 * The same object when nothing changes; `ot` moves to the front when it does.
 */
export function withThreshold(
  traceState: TraceState | undefined,
  threshold: Threshold | undefined,
): TraceState | undefined {
  const wanted = threshold?.th
  if (traceState === undefined && wanted !== undefined) return rootTraceState(wanted)
  if (getOtSubKey(traceState, 'th') === wanted) return traceState
  return setOtSubKey(traceState, 'th', wanted) ?? traceState
}

// A trace started here has no other members: its tracestate is `ot=th:<th>`, the same immutable
// object for every trace kept at that threshold. Bounded: past MAX_CACHED_ROOT_STATES distinct
// thresholds (adaptive sampling rounds them to 4 significant hex digits), new ones are not cached.
const MAX_CACHED_ROOT_STATES = 4096
const rootTraceStates = new Map<string, TraceState | undefined>()

function rootTraceState(th: string): TraceState | undefined {
  let state = rootTraceStates.get(th)
  if (state === undefined) {
    state = setOtSubKey(undefined, 'th', th)
    if (rootTraceStates.size < MAX_CACHED_ROOT_STATES) rootTraceStates.set(th, state)
  }
  return state
}
