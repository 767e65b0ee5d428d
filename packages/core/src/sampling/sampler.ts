import {
  SamplingDecision as OtelDecision,
  SpanKind,
  TraceFlags,
  isSpanContextValid,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Sampler,
  type SamplingResult,
  type TraceState,
} from '@opentelemetry/api'
import { getRequestState } from '../correlation/request-state'
import { warnOnce } from '../internal/diag'
import { DeferredSampling } from './deferred'
import { SamplingEngine, type SamplingDecision } from './engine'
import { resolveSamplingOptions, type ResolvedSamplingOptions, type SamplingOptions } from './options'
import { getOtSubKey, setOtSubKey } from '../propagation/tracestate'
import { NOT_RECORD, samplingInput, toResult } from './result'
import type { SamplingInput } from './rules'
import { recordDecision } from './stats'
import { isRandomnessValue, thresholdFromTh, traceRandomness } from './threshold'
import type { SpanProcessorLike } from '../internal/sdk-types'

const RECORD_ONLY: SamplingResult = { decision: OtelDecision.RECORD }
const RECORD_AND_SAMPLED: SamplingResult = { decision: OtelDecision.RECORD_AND_SAMPLED }

/** `traceState` without OpenTelemetry's `rv` sub-key (and without `ot`, if that was all it held). */
function withoutRv(traceState: TraceState | undefined): TraceState | undefined {
  return setOtSubKey(traceState, 'rv', undefined) ?? traceState
}

/**
 * traceweave's sampler, an OpenTelemetry `Sampler` (works with the 2.x and 3.x SDKs). It decides once
 * per request, where a trace enters this service (a root span, or a span whose parent is remote), in
 * the order parent, users, rules, default (ratio or adaptive), rate limit; spans inside the request
 * follow that decision. Kept traces carry `ot=th` in `tracestate` and `sampling.adjusted_count` when
 * their probability is known. `setupTracing({ sampling })` installs it; users with their own provider
 * pass it as the provider's `sampler` and wrap their exporting processor with
 * {@link TraceweaveSampler.wrapSpanProcessor} (needed for `decide: 'deferred'`).
 *
 * @example
 * const sampler = new TraceweaveSampler({ ratio: 0.1, users: ['alice@example.com'] })
 * new NodeTracerProvider({ sampler, spanProcessors: [sampler.wrapSpanProcessor(new BatchSpanProcessor(exporter))] })
 */
export class TraceweaveSampler implements Sampler {
  /** The options in force, defaults filled in. */
  readonly options: ResolvedSamplingOptions
  private readonly engine: SamplingEngine
  private readonly deferred: DeferredSampling | undefined

  constructor(options: SamplingOptions = {}) {
    this.options = resolveSamplingOptions(options)
    this.engine = new SamplingEngine(this.options)
    this.deferred =
      this.options.decide === 'deferred'
        ? new DeferredSampling(this.options, this.engine, (input, randomness) =>
            this.decideHere(input, randomness),
          )
        : undefined
  }

  shouldSample(
    context: Context,
    traceId: string,
    _spanName: string,
    spanKind: SpanKind,
    attributes: Attributes,
    _links: Link[],
  ): SamplingResult {
    const parent = trace.getSpanContext(context)
    const hasParent = parent !== undefined && isSpanContextValid(parent)
    const state = getRequestState(context)

    if (hasParent && !parent.isRemote) {
      // Inside a request or operation: follow the decision already made for this trace.
      if ((parent.traceFlags & TraceFlags.SAMPLED) !== 0) return RECORD_AND_SAMPLED
      return this.deferred?.followPending(state, traceId) ?? NOT_RECORD
    }

    if (state === undefined && spanKind === SpanKind.SERVER && this.deferred !== undefined) {
      warnOnce(
        'sampling.deferred-foreign-server-span',
        "sampling.decide: 'deferred': a SERVER span started outside traceweave's middleware (OpenTelemetry's http instrumentation for incoming requests?) is decided at its start, not deferred: route and outcome rules (status, minDurationMs) do not apply to it, and it cannot be upgraded. Let traceweave open server spans (http instrumentation with ignoreIncomingRequestHook: () => true); outgoing instrumentation keeps working.",
      )
    }
    const explicitRv = getOtSubKey(parent?.traceState, 'rv')
    const randomness = traceRandomness(traceId, explicitRv)
    // An `rv` that is not 14 lowercase hex digits is no randomness value: like an invalid `th`, it is
    // erased (whatever the decision), so no later hop reads it; the trace ID's randomness is used.
    const rvInvalid = explicitRv !== undefined && !isRandomnessValue(explicitRv)
    const parentTraceState = rvInvalid ? withoutRv(parent?.traceState) : parent?.traceState
    if (hasParent && this.options.respectParent) {
      const parentTh = getOtSubKey(parentTraceState, 'th')
      const decision = this.engine.decideByParent(
        (parent.traceFlags & TraceFlags.SAMPLED) !== 0,
        parentTh === undefined ? undefined : thresholdFromTh(parentTh),
        randomness,
      )
      recordDecision(decision.reason, decision.sampled)
      if (!decision.sampled && state !== undefined && this.deferred?.judgesOutcome === true) {
        // With outcome rules a parent's "no" sets only the outgoing flag: the request is recorded, and
        // an error or a slow answer can still keep it (an upgrade the response reports to the parent).
        this.deferred.begin(state, traceId, randomness, decision)
        return rvInvalid ? { decision: OtelDecision.RECORD, traceState: parentTraceState } : RECORD_ONLY
      }
      return toResult(decision, parentTraceState, rvInvalid)
    }

    if (this.deferred !== undefined && state !== undefined) {
      // The route and a late user are not known yet: record the request undecided.
      this.deferred.begin(state, traceId, randomness)
      return rvInvalid ? { decision: OtelDecision.RECORD, traceState: parentTraceState } : RECORD_ONLY
    }
    const decision = this.decideHere(samplingInput(state, attributes), randomness)
    return toResult(decision, parentTraceState, rvInvalid)
  }

  /**
   * Wraps the processor that exports spans. In deferred mode the wrapper holds an undecided request's
   * finished spans (bounded) and hands the kept ones on, marked sampled; in the default mode it is a
   * pass-through.
   */
  wrapSpanProcessor<P extends SpanProcessorLike>(exporting: P): SpanProcessorLike {
    return this.deferred === undefined ? exporting : this.deferred.wrap(exporting)
  }

  toString(): string {
    const { decide, ratio, targetPerSecond, maxPerSecond } = this.options
    return `TraceweaveSampler{decide=${decide}, ratio=${ratio}, targetPerSecond=${targetPerSecond}, maxPerSecond=${maxPerSecond}}`
  }

  private decideHere(input: SamplingInput, randomness: string): SamplingDecision {
    const decision = this.engine.decideHere(input, randomness)
    recordDecision(decision.reason, decision.sampled)
    return decision
  }
}
