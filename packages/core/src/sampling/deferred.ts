import {
  SamplingDecision as OtelDecision,
  TraceFlags,
  type Context,
  type SamplingResult,
  type Span,
  type SpanContext,
} from '@opentelemetry/api'
import { getRequestState, type RequestState } from '../correlation/request-state'
import { reportFailure } from '../internal/guard'
import type { FinishedSpan, SpanProcessorLike } from '../internal/sdk-types'
import type { SamplingDecision } from './engine'
import type { ResolvedSamplingOptions } from './options'
import type { SamplingInput } from './rules'
import { recordDecidedEarly } from './stats'
import { ATTR_ADJUSTED_COUNT, samplingInput, toResult, withThreshold } from './result'

/** A request recorded but not yet decided, with the finished spans held until the decision. */
interface PendingTrace {
  readonly owner: DeferredSampling
  readonly state: RequestState
  readonly traceId: string
  readonly randomness: string
  /** The span that opened the trace here (the server span): its end is the last moment to decide. */
  rootSpanId: string | undefined
  decision: SamplingDecision | undefined
  buffer: FinishedSpan[]
}

// A request's pending decision lives on its record (`state.sampling`), so the propagator finds it from
// the context alone. Finished spans carry no context, so the processor maps them to their trace here:
// one WeakMap entry per span, in deferred mode only.
const traceOfSpan = new WeakMap<object, PendingTrace>()

/**
 * The span context an outgoing call should carry for the active request in deferred mode: the active
 * span's own context with the decided sampled flag and `ot` threshold. `undefined` when not deferred.
 */
export function decidedSpanContext(ctx: Context, spanContext: SpanContext): SpanContext | undefined {
  const state = getRequestState(ctx)
  const pending = state?.sampling as PendingTrace | undefined
  if (pending === undefined || pending.traceId !== spanContext.traceId) return undefined
  pending.owner.decide(pending)
  return markDecided(spanContext, pending.decision!)
}

/**
 * Deferred decisions: a request's spans are recorded (not sampled) until the decision, held in a
 * bounded buffer, then handed on marked sampled, or dropped. Bounds: at most
 * `maxBufferedSpansPerTrace` finished spans per trace and `maxPendingTraces` undecided traces; past
 * either, the trace (the oldest one, for the second) is decided early with what is known, and counted.
 */
export class DeferredSampling {
  private readonly pending = new Set<PendingTrace>() // insertion order: oldest first
  private readonly exporting: SpanProcessorLike[] = []

  constructor(
    private readonly options: ResolvedSamplingOptions,
    private readonly decideHere: (input: SamplingInput, randomness: string) => SamplingDecision,
  ) {}

  /** Starts an undecided trace for the request `state`. */
  begin(state: RequestState, traceId: string, randomness: string): void {
    if (this.pending.size >= this.options.maxPendingTraces) {
      const oldest = this.pending.values().next().value as PendingTrace
      recordDecidedEarly()
      this.decide(oldest)
    }
    const pending: PendingTrace = {
      owner: this,
      state,
      traceId,
      randomness,
      rootSpanId: undefined,
      decision: undefined,
      buffer: [],
    }
    state.sampling = pending
    this.pending.add(pending)
  }

  /** The sampling result of a span started inside a request whose trace began here deferred. */
  followPending(state: RequestState | undefined, traceId: string): SamplingResult | undefined {
    const pending = state?.sampling as PendingTrace | undefined
    if (pending === undefined || pending.traceId !== traceId) return undefined
    if (pending.decision === undefined) return { decision: OtelDecision.RECORD }
    return toResult(pending.decision, undefined)
  }

  /** Makes the decision of `pending` now, if not made yet, and hands on or drops its held spans. */
  decide(pending: PendingTrace): void {
    if (pending.decision !== undefined) return
    pending.decision = this.decideHere(samplingInput(pending.state, undefined), pending.randomness)
    this.pending.delete(pending)
    const held = pending.buffer
    pending.buffer = []
    if (pending.decision.sampled) for (const span of held) this.export(span, pending.decision)
  }

  /** The processor wrapper that holds undecided spans in front of `exporting`. */
  wrap(exporting: SpanProcessorLike): SpanProcessorLike {
    this.exporting.push(exporting)
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const deferred = this
    return {
      onStart(span: Span, parentContext: Context): void {
        deferred.track(span, parentContext)
        exporting.onStart(span, parentContext)
      },
      onEnd(span: FinishedSpan): void {
        deferred.onEnd(span, exporting)
      },
      forceFlush: () => exporting.forceFlush(),
      shutdown: () => exporting.shutdown(),
    }
  }

  private track(span: Span, parentContext: Context): void {
    const state = getRequestState(parentContext)
    const pending = state?.sampling as PendingTrace | undefined
    if (pending === undefined || pending.traceId !== span.spanContext().traceId) return
    pending.rootSpanId ??= span.spanContext().spanId
    traceOfSpan.set(span, pending)
  }

  private onEnd(span: FinishedSpan, exporting: SpanProcessorLike): void {
    const pending = traceOfSpan.get(span)
    if (pending === undefined) return exporting.onEnd(span)
    try {
      if (pending.decision === undefined) {
        if (span.spanContext().spanId === pending.rootSpanId) {
          this.decide(pending) // the server span ends: the last moment to decide
        } else if (pending.buffer.length < this.options.maxBufferedSpansPerTrace) {
          pending.buffer.push(span)
          return
        } else {
          recordDecidedEarly()
          this.decide(pending)
        }
      }
      if (pending.decision!.sampled) exporting.onEnd(asSampled(span, pending.decision!))
    } catch (error) {
      reportFailure('deferred sampling', error)
    }
  }

  private export(span: FinishedSpan, decision: SamplingDecision): void {
    const view = asSampled(span, decision)
    for (const processor of this.exporting) processor.onEnd(view)
  }
}

/** `spanContext` with the sampled flag and `ot` threshold of `decision`. */
function markDecided(spanContext: SpanContext, decision: SamplingDecision): SpanContext {
  if (!decision.sampled) return { ...spanContext, traceFlags: spanContext.traceFlags & ~TraceFlags.SAMPLED }
  return {
    ...spanContext,
    traceFlags: spanContext.traceFlags | TraceFlags.SAMPLED,
    traceState: withThreshold(spanContext.traceState, decision.threshold),
  }
}

/**
 * A finished span as the exporter should see it once its trace is kept: the SDK fixed its flags at
 * start (unsampled), so the view reports the sampled flag, the threshold and the adjusted count.
 * Everything else reads through to the span itself.
 */
function asSampled(span: FinishedSpan, decision: SamplingDecision): FinishedSpan {
  const own = span.spanContext()
  if ((own.traceFlags & TraceFlags.SAMPLED) !== 0) return span // started after the decision: already right
  const spanContext = markDecided(own, decision)
  const attributes =
    decision.threshold === undefined
      ? span.attributes
      : { ...span.attributes, [ATTR_ADJUSTED_COUNT]: decision.threshold.adjustedCount }
  return Object.create(span, {
    spanContext: { value: () => spanContext },
    attributes: { value: attributes, enumerable: true },
  }) as FinishedSpan
}
