import { createContextKey, type Context } from '@opentelemetry/api'

/**
 * The Level 2 `random-trace-id` flag, carried beside the span context.
 *
 * The OpenTelemetry SDK rebuilds trace flags as 00/01 when it starts a span, so the caller's random
 * bit would be lost at the first local span. The spec says the bit MUST be forwarded unchanged for
 * as long as the trace ID is the same, so extract records it in the context here and inject reads it
 * back. The record names its trace ID: a context that later holds a span of another trace (a new
 * root started under it) does not inherit a stale answer.
 */
interface TraceRandomness {
  readonly traceId: string
  readonly random: boolean
}

const TRACE_RANDOMNESS_KEY = createContextKey('traceweave.trace-randomness')

/**
 * A context recording whether the trace ID `traceId` is random (its `random-trace-id` flag).
 *
 * @example ctx = setTraceRandomness(ctx, parent.traceId, isRandomTraceId(parent.traceFlags))
 */
export function setTraceRandomness(ctx: Context, traceId: string, random: boolean): Context {
  const record: TraceRandomness = { traceId, random }
  return ctx.setValue(TRACE_RANDOMNESS_KEY, record)
}

/**
 * Whether `ctx` records the trace ID `traceId` as random: `true` or `false` if recorded for that
 * trace, `undefined` if the context knows nothing about it (then the trace began in this process).
 *
 * @example isTraceIdRandom(context.active(), span.spanContext().traceId) // true | false | undefined
 */
export function isTraceIdRandom(ctx: Context, traceId: string): boolean | undefined {
  const record = ctx.getValue(TRACE_RANDOMNESS_KEY) as TraceRandomness | undefined
  return record !== undefined && record.traceId === traceId ? record.random : undefined
}
