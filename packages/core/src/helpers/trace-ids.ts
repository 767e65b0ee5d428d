import { trace, isSpanContextValid, type Context } from '@opentelemetry/api'

/** IDs of the active span, for log correlation. */
export interface ActiveTraceIds {
  /** 32 lowercase hex characters. */
  traceId: string
  /** 16 lowercase hex characters. */
  spanId: string
  /** W3C trace flags as two hex characters (`01` when sampled). */
  traceFlags: string
}

/**
 * The trace and span IDs of the active span, or `undefined` outside a span. Put them on log lines
 * to jump from a log to its trace.
 *
 * @example
 * logger.info({ ...getActiveTraceIds(), msg: 'order placed' })
 */
export function getActiveTraceIds(ctx?: Context): ActiveTraceIds | undefined {
  const span = ctx === undefined ? trace.getActiveSpan() : trace.getSpan(ctx)
  if (span === undefined) return undefined
  const spanContext = span.spanContext()
  if (!isSpanContextValid(spanContext)) return undefined
  return {
    traceId: spanContext.traceId,
    spanId: spanContext.spanId,
    traceFlags: (spanContext.traceFlags & 0xff).toString(16).padStart(2, '0'),
  }
}
