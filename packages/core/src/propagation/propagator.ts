import {
  isSpanContextValid,
  trace,
  type Context,
  type SpanContext,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
} from '@opentelemetry/api'
import { failOpen } from '../internal/guard'
import { checkBoolean } from '../internal/validate'
import { isTracingSuppressed } from '../internal/suppress'
import { getRequestState } from '../correlation/request-state'
import { isTraceIdRandom, setTraceRandomness } from './random-flag'
import { TRACE_FLAG_RANDOM, TRACE_FLAG_SAMPLED, isRandomTraceId } from './trace-flags'
import { formatTraceParent, parseTraceParent } from './traceparent'
import { formatTraceState, parseTraceState, toTraceStateList } from './tracestate'
import { checkTrustIncoming, isIncomingTrusted, setUntrustedParent, type TrustIncoming } from './trust'

/** Header names, lowercase as the spec recommends. */
export const TRACEPARENT_HEADER = 'traceparent'
export const TRACESTATE_HEADER = 'tracestate'

/** Options of {@link TraceContextPropagator}. */
export interface TraceContextPropagatorOptions {
  /**
   * Whether to continue the caller's trace: `true`, `false`, or a function of the carrier (headers).
   * Default `true`. See {@link TrustIncoming}.
   */
  trustIncoming?: TrustIncoming
  /**
   * Whether traces started in this process have random trace IDs, so outgoing headers set the Level 2
   * `random-trace-id` flag. Default `true` (the OpenTelemetry SDK's IDs are random); set `false` with
   * an `IdGenerator` whose IDs are not random in their right-most 7 bytes.
   */
  assumeRandomTraceIds?: boolean
}

/**
 * The value of a header that may appear once: `undefined` when it is missing or repeated. Several
 * `traceparent` lines cannot be told apart, so the spec's answer is to ignore them all.
 */
function singleHeader(value: string | string[] | undefined): string | undefined {
  if (typeof value === 'string') return value
  if (Array.isArray(value) && value.length === 1 && typeof value[0] === 'string') return value[0]
  return undefined
}

/** A header that may be sent as several lines: the lines joined with `,` in order (RFC 9110 5.3). */
function joinedHeader(value: string | string[] | undefined): string | undefined {
  if (typeof value === 'string') return value
  if (Array.isArray(value)) return value.filter((line) => typeof line === 'string').join(',')
  return undefined
}

/**
 * W3C Trace Context (Level 1 and the Level 2 random flag) as an OpenTelemetry `TextMapPropagator`.
 *
 * Extract: a valid `traceparent` becomes the remote parent (`isRemote: true`) with its `tracestate`
 * (discarded whole if invalid); an invalid or repeated `traceparent` leaves the context unchanged, so a
 * new trace starts and `tracestate` is ignored. The caller's `random-trace-id` bit is recorded in the
 * context, because the SDK drops it from spans it starts.
 *
 * Inject: nothing when tracing is suppressed in the context (`suppressTracing()` of
 * `@opentelemetry/core`, as every OpenTelemetry propagator does); otherwise the active span's IDs (sampled or not: an unsampled span still has a fresh span ID,
 * so the next hop continues the trace), its sampled bit, the random bit of the trace (the caller's,
 * or set for a trace this process started), never any reserved bit, and its `tracestate` within the
 * spec's 512-character guidance.
 *
 * @example propagation.setGlobalPropagator(new TraceContextPropagator({ trustIncoming: false }))
 */
export class TraceContextPropagator implements TextMapPropagator {
  private readonly trustIncoming: TrustIncoming
  private readonly assumeRandomTraceIds: boolean

  constructor({ trustIncoming, assumeRandomTraceIds = true }: TraceContextPropagatorOptions = {}) {
    this.trustIncoming = checkTrustIncoming(trustIncoming, 'trustIncoming')
    this.assumeRandomTraceIds = checkBoolean('assumeRandomTraceIds', assumeRandomTraceIds)
  }

  inject(ctx: Context, carrier: unknown, setter: TextMapSetter): void {
    failOpen('propagation.inject(tracecontext)', () => this.injectUnguarded(ctx, carrier, setter), undefined)
  }

  extract(ctx: Context, carrier: unknown, getter: TextMapGetter): Context {
    return failOpen(
      'propagation.extract(tracecontext)',
      () => this.extractUnguarded(ctx, carrier, getter),
      ctx,
    )
  }

  fields(): string[] {
    return [TRACEPARENT_HEADER, TRACESTATE_HEADER]
  }

  private injectUnguarded(ctx: Context, carrier: unknown, setter: TextMapSetter): void {
    // Suppressed tracing (`suppressTracing()`): an exporter's own request, or a call we already traced.
    if (isTracingSuppressed(ctx)) return
    const activeSpanContext = trace.getSpanContext(ctx)
    if (activeSpanContext === undefined || !isSpanContextValid(activeSpanContext)) return
    // A request whose sampling waits for its route or user is decided now: the next hop needs the flag.
    // Through the record's hooks, which the server lifecycle and deferred sampling install.
    const state = getRequestState(ctx)
    state?.serverHooks?.beforeInject(state)
    const spanContext =
      state?.samplingHooks?.outgoingSpanContext(state, activeSpanContext) ?? activeSpanContext
    const random = isTraceIdRandom(ctx, spanContext.traceId) ?? this.randomWithoutRecord(spanContext)
    const traceFlags = (spanContext.traceFlags & TRACE_FLAG_SAMPLED) | (random ? TRACE_FLAG_RANDOM : 0)
    const traceparent = formatTraceParent({
      traceId: spanContext.traceId,
      parentId: spanContext.spanId,
      traceFlags,
    })
    if (traceparent === undefined) return
    setter.set(carrier, TRACEPARENT_HEADER, traceparent)

    const traceState = toTraceStateList(spanContext.traceState)
    const tracestate = traceState === undefined ? '' : formatTraceState(traceState)
    // The spec asks vendors to avoid sending an empty tracestate.
    if (tracestate !== '') setter.set(carrier, TRACESTATE_HEADER, tracestate)
  }

  /**
   * The random bit when the context has no record for the trace: a remote span context extracted by
   * another propagator keeps its own flags; a local span belongs to a trace started here, whose ID the
   * SDK generated at random.
   */
  private randomWithoutRecord(spanContext: SpanContext): boolean {
    if (spanContext.isRemote === true) return isRandomTraceId(spanContext.traceFlags)
    return this.assumeRandomTraceIds || isRandomTraceId(spanContext.traceFlags)
  }

  private extractUnguarded(ctx: Context, carrier: unknown, getter: TextMapGetter): Context {
    const parent = parseTraceParent(singleHeader(getter.get(carrier, TRACEPARENT_HEADER)) ?? '')
    if (parent === undefined) return ctx
    const spanContext: SpanContext = {
      traceId: parent.traceId,
      spanId: parent.parentId,
      traceFlags: parent.traceFlags,
      isRemote: true,
    }
    if (!isIncomingTrusted(this.trustIncoming, carrier, getter)) return setUntrustedParent(ctx, spanContext)

    // Failing to parse tracestate must not affect traceparent: the list is simply dropped.
    const tracestate = joinedHeader(getter.get(carrier, TRACESTATE_HEADER))
    const traceState = tracestate === undefined ? undefined : parseTraceState(tracestate)
    if (traceState !== undefined && traceState.size > 0) spanContext.traceState = traceState
    const withParent = trace.setSpanContext(ctx, spanContext)
    return setTraceRandomness(withParent, parent.traceId, isRandomTraceId(parent.traceFlags))
  }
}
