import {
  SamplingDecision as OtelDecision,
  SpanStatusCode,
  TraceFlags,
  type Context,
  type SamplingResult,
  type Span,
  type SpanContext,
} from '@opentelemetry/api'
import { getRequestState, type RequestState, type SamplingHooks } from '../correlation/request-state'
import { reportFailure } from '../internal/guard'
import type { FinishedSpan, SpanProcessorLike } from '../internal/sdk-types'
import type { SamplingDecision, SamplingEngine } from './engine'
import type { ResolvedSamplingOptions } from './options'
import type { SamplingInput } from './rules'
import {
  recordDecidedEarly,
  recordEvicted,
  recordUpgrade,
  recordUpgradeMissed,
  recordUpgradeRefused,
  type UpgradeReason,
} from './stats'
import { ATTR_ADJUSTED_COUNT, ATTR_UPGRADED, samplingInput, toResult, withThreshold } from './result'

/**
 * A request recorded but not yet final, with the finished spans held until it is. Every span of the
 * trace reaches this object (see `traceOfSpan`), and a span waiting in an export queue may outlive its
 * request by far: so the request record, which leads to `req`, `res` and the parsed body, is held only
 * until the decision is final, and dropped then.
 */
interface PendingTrace {
  readonly owner: DeferredSampling
  /** The request record, until the decision is final: the rules read it. `undefined` once final. */
  state: RequestState | undefined
  readonly traceId: string
  readonly randomness: string
  /** `clock()` at the request's start: `minDurationMs` compares the time since. */
  readonly startedAt: number
  /** The span that opened the trace here (the server span): its end is the last moment to decide. */
  rootSpanId: string | undefined
  /**
   * The decision as far as it is made: what outgoing calls carry. Without outcome rules it is final
   * when made; with them a "no" is not, until the server span ends (an outcome can still upgrade it).
   */
  decision: SamplingDecision | undefined
  /** Final: the held spans went on (kept) or were dropped, and later spans follow the decision. */
  final: boolean
  /** An upgrade was refused by its bound (counted once per request, however often it is tried). */
  refused: boolean
  buffer: FinishedSpan[]
}

/** What is known of a request's outcome at a moment: the status (from the head on) and an error. */
export interface RequestOutcome {
  status?: number
  error?: boolean
}

// A request's pending decision lives on its record (`state.sampling`), so the propagator finds it from
// the context alone. Finished spans carry no context, so the processor maps them to their trace here:
// one WeakMap entry per span, in deferred mode only.
const traceOfSpan = new WeakMap<object, PendingTrace>()

function pendingOf(ctx: Context, traceId: string): PendingTrace | undefined {
  const pending = getRequestState(ctx)?.sampling as PendingTrace | undefined
  return pending !== undefined && pending.traceId === traceId ? pending : undefined
}

/**
 * The span context an outgoing call should carry for the active request in deferred mode: the active
 * span's own context with the decided sampled flag and `ot` threshold. `undefined` when not deferred.
 */
export function decidedSpanContext(ctx: Context, spanContext: SpanContext): SpanContext | undefined {
  const state = getRequestState(ctx)
  return state?.samplingHooks?.outgoingSpanContext(state, spanContext)
}

/** Deferred sampling's side of the record's hooks: the propagator calls it through the record. */
const DEFERRED_HOOKS: SamplingHooks = {
  outgoingSpanContext(state, spanContext) {
    const pending = state.sampling as PendingTrace | undefined
    if (pending === undefined || pending.traceId !== spanContext.traceId) return undefined
    pending.owner.decide(pending)
    return markDecided(spanContext, pending.decision!)
  },
}

/**
 * The response head of the request in `ctx` is being written: outcome rules judge it now (`status`,
 * time to first byte), and the decision the response reports is returned (`true` kept, `false` not).
 * `undefined` when the request has no deferred decision here.
 */
export function decideAtResponseHead(
  ctx: Context,
  traceId: string,
  outcome: RequestOutcome,
): boolean | undefined {
  const pending = pendingOf(ctx, traceId)
  if (pending === undefined) return undefined
  pending.owner.respond(pending, outcome)
  return pending.decision?.sampled
}

/**
 * Whether the request in `ctx` has a decision still open that its response head matters to: outcome
 * rules judge the head, or the response reports the decision (`reportsDecision`).
 */
export function awaitsResponseHead(ctx: Context, traceId: string, reportsDecision: boolean): boolean {
  const pending = pendingOf(ctx, traceId)
  return pending !== undefined && !pending.final && (reportsDecision || pending.owner.judgesOutcome)
}

/**
 * A downstream service answered the request in `ctx` with a sampled `traceresponse` for this trace:
 * if the request went out unsampled and is still recording, it is upgraded; if it has ended (a late
 * or fire-and-forget response) or nothing is recorded here, the response is counted, not applied.
 */
export function upgradeFromDownstream(ctx: Context, traceId: string): void {
  const pending = pendingOf(ctx, traceId)
  if (pending === undefined) return recordUpgradeMissed()
  pending.owner.upgradeFromDownstream(pending)
}

/**
 * Deferred decisions: a request's spans are recorded (not sampled) until the decision, held in a
 * bounded buffer, then handed on marked sampled, or dropped. Bounds: at most
 * `maxBufferedSpansPerTrace` finished spans per trace and `maxPendingTraces` undecided traces; past
 * either, the trace (the oldest one, for the second) is decided early with what is known, and counted.
 * With outcome rules a "no" made before the outcome is known (an outgoing call needed the flag, or a
 * parent's "no") is not final: the request keeps recording until its server span ends, and an outcome
 * rule or a downstream service's sampled response can upgrade it.
 */
export class DeferredSampling {
  private readonly pending = new Set<PendingTrace>() // insertion order: oldest first
  private readonly exporting: SpanProcessorLike[] = []
  private readonly holdNo: boolean

  constructor(
    private readonly options: ResolvedSamplingOptions,
    private readonly engine: SamplingEngine,
    private readonly decideHere: (input: SamplingInput, randomness: string) => SamplingDecision,
  ) {
    this.holdNo = options.hasOutcomeRules
  }

  /** With outcome rules: a "no" (forced, or a parent's) is held, recorded, until the outcome is known. */
  get judgesOutcome(): boolean {
    return this.holdNo
  }

  /**
   * Starts an undecided trace for the request `state`; `parentNo`: a parent's "no", already counted,
   * held with outcome rules so the request can still be upgraded.
   */
  begin(state: RequestState, traceId: string, randomness: string, parentNo?: SamplingDecision): void {
    if (this.pending.size >= this.options.maxPendingTraces) {
      const oldest = this.pending.values().next().value as PendingTrace
      recordDecidedEarly()
      this.finish(oldest, {}, true)
    }
    const pending: PendingTrace = {
      owner: this,
      state,
      traceId,
      randomness,
      startedAt: this.options.clock(),
      rootSpanId: undefined,
      decision: parentNo,
      final: false,
      refused: false,
      buffer: [],
    }
    state.sampling = pending
    state.samplingHooks = DEFERRED_HOOKS
    this.pending.add(pending)
  }

  /** The sampling result of a span started inside a request whose trace began here deferred. */
  followPending(state: RequestState | undefined, traceId: string): SamplingResult | undefined {
    const pending = state?.sampling as PendingTrace | undefined
    if (pending === undefined || pending.traceId !== traceId) return undefined
    if (!pending.final) return RECORD_ONLY
    const decision = pending.decision!
    return decision.upgraded === true ? UPGRADED_RESULT : toResult(decision, undefined)
  }

  /** Makes the decision of `pending` now (an outgoing call needs it), if not made yet. */
  decide(pending: PendingTrace): void {
    if (pending.decision !== undefined) return
    pending.decision = this.decideHere(this.input(pending, {}), pending.randomness)
    if (pending.decision.sampled || !this.holdNo) this.settle(pending)
  }

  /** The response head is written: decide with the outcome known so far, or upgrade a "no". */
  respond(pending: PendingTrace, outcome: RequestOutcome): void {
    if (pending.final) return
    if (pending.decision === undefined) {
      pending.decision = this.decideHere(this.input(pending, outcome), pending.randomness)
      if (pending.decision.sampled || !this.holdNo) this.settle(pending)
      return
    }
    this.upgradeByOutcome(pending, outcome)
  }

  /** A sampled response from downstream for a request that may have gone out unsampled. */
  upgradeFromDownstream(pending: PendingTrace): void {
    if (pending.final) {
      if (pending.decision?.sampled !== true) recordUpgradeMissed()
      return
    }
    if (pending.decision === undefined || pending.decision.sampled) return
    this.upgrade(pending, 'downstream')
  }

  /**
   * The request ends (its server span), or is pushed out by a bound (`early`): the decision is made
   * with everything known and becomes final; a dropped "no" pushed out early is counted with its spans.
   */
  private finish(pending: PendingTrace, outcome: RequestOutcome, early: boolean): void {
    if (pending.final) return
    if (pending.decision === undefined) {
      pending.decision = this.decideHere(this.input(pending, outcome), pending.randomness)
    } else if (!pending.decision.sampled) {
      this.upgradeByOutcome(pending, outcome)
      if (pending.final) return
    }
    if (early && this.holdNo && !pending.decision.sampled) recordEvicted(pending.buffer.length)
    this.settle(pending)
  }

  private upgradeByOutcome(pending: PendingTrace, outcome: RequestOutcome): void {
    if (!this.holdNo) return
    const reason = this.engine.outcomeKeep(this.input(pending, outcome), pending.randomness)
    if (reason !== undefined) this.upgrade(pending, reason)
  }

  private upgrade(pending: PendingTrace, reason: UpgradeReason): void {
    if (!this.engine.tryUpgrade()) {
      if (!pending.refused) recordUpgradeRefused()
      pending.refused = true
      return
    }
    const before = pending.decision!
    pending.decision = { sampled: true, reason: before.reason, threshold: undefined, upgraded: true }
    recordUpgrade(reason)
    this.settle(pending)
  }

  private input(pending: PendingTrace, outcome: RequestOutcome): SamplingInput {
    const input = samplingInput(pending.state, undefined)
    if (!this.holdNo) return input
    input.elapsedMs = this.options.clock() - pending.startedAt
    if (outcome.status !== undefined) input.status = outcome.status
    if (outcome.error === true) input.error = true
    return input
  }

  /** The decision is final: hands on the held spans if kept, drops them if not, lets the record go. */
  private settle(pending: PendingTrace): void {
    pending.final = true
    // Final: nothing reads the record any more, and a finished span must not keep its request alive.
    pending.state = undefined
    this.pending.delete(pending)
    const held = pending.buffer
    pending.buffer = []
    if (pending.decision!.sampled) for (const span of held) this.export(span, pending.decision!)
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
    const pending = pendingOf(parentContext, span.spanContext().traceId)
    if (pending === undefined) return
    pending.rootSpanId ??= span.spanContext().spanId
    traceOfSpan.set(span, pending)
  }

  private onEnd(span: FinishedSpan, exporting: SpanProcessorLike): void {
    const pending = traceOfSpan.get(span)
    if (pending === undefined) return exporting.onEnd(span)
    try {
      if (!pending.final) {
        if (span.spanContext().spanId === pending.rootSpanId) {
          this.finish(pending, outcomeOf(span), false) // the server span ends: the last moment to decide
        } else if (pending.buffer.length < this.options.maxBufferedSpansPerTrace) {
          pending.buffer.push(span)
          return
        } else {
          recordDecidedEarly()
          this.finish(pending, {}, true)
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

const RECORD_ONLY: SamplingResult = { decision: OtelDecision.RECORD }
const UPGRADED_RESULT: SamplingResult = {
  decision: OtelDecision.RECORD_AND_SAMPLED,
  attributes: { [ATTR_UPGRADED]: true },
}

/** The outcome a finished server span shows: its status code attribute and its error status. */
function outcomeOf(span: FinishedSpan): RequestOutcome {
  const status = span.attributes['http.response.status_code']
  const spanStatus = (span as { status?: { code?: number } }).status
  return {
    status: typeof status === 'number' ? status : undefined,
    error: spanStatus?.code === SpanStatusCode.ERROR,
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
    decision.upgraded === true
      ? { ...span.attributes, [ATTR_UPGRADED]: true }
      : decision.threshold === undefined
        ? span.attributes
        : { ...span.attributes, [ATTR_ADJUSTED_COUNT]: decision.threshold.adjustedCount }
  return Object.create(span, {
    spanContext: { value: () => spanContext },
    attributes: { value: attributes, enumerable: true },
  }) as FinishedSpan
}
