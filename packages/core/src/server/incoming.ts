import {
  defaultTextMapGetter,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  trace,
  TraceFlags,
  type Context,
  type SpanContext,
} from '@opentelemetry/api'
import type { IncomingHttpHeaders } from 'node:http'

/** Where a server span starts: its parent context, and the caller to link to when not trusted. */
export interface IncomingParent {
  readonly context: Context
  readonly link: SpanContext | undefined
}

/**
 * Applies the trust policy to the incoming headers. Trusted: continue the caller's trace (with its
 * tracestate and baggage). Not trusted: read the caller's span context only to link to it, and start a
 * new root from ROOT_CONTEXT, so no tracestate, baggage or sampling decision of the caller gets in.
 *
 * The one place that extracts; it uses the globally registered propagator until core's
 * `extractContext(carrier, { trustIncoming })` lands, which will replace this body.
 */
export function extractIncoming(headers: IncomingHttpHeaders, trusted: boolean): IncomingParent {
  const extracted = propagation.extract(ROOT_CONTEXT, headers, defaultTextMapGetter)
  if (trusted) return { context: extracted, link: undefined }
  const caller = trace.getSpanContext(extracted)
  if (caller === undefined || !isSpanContextValid(caller)) return { context: ROOT_CONTEXT, link: undefined }
  // The link keeps the IDs and the sampled bit only: the caller's tracestate is not ours to record.
  const link: SpanContext = {
    traceId: caller.traceId,
    spanId: caller.spanId,
    traceFlags: caller.traceFlags & TraceFlags.SAMPLED,
    isRemote: true,
  }
  return { context: ROOT_CONTEXT, link }
}
