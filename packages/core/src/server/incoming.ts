import { ROOT_CONTEXT, type Context, type SpanContext } from '@opentelemetry/api'
import type { IncomingHttpHeaders } from 'node:http'
import { extractContext } from '../propagation/carrier'
import { getUntrustedParent } from '../propagation/trust'

/** Where a server span starts: its parent context, and the caller to link to when not trusted. */
export interface IncomingParent {
  readonly context: Context
  readonly link: SpanContext | undefined
}

/**
 * Applies the request-level trust policy to the incoming headers. Trusted: continue the caller's trace
 * (with its tracestate and baggage, as the registered propagator reads them). Not trusted: start a new
 * root, linked to the caller, so no tracestate, baggage or sampling decision of the caller gets in.
 */
export function extractIncoming(headers: IncomingHttpHeaders, trusted: boolean): IncomingParent {
  const extracted = extractContext(headers, { trustIncoming: trusted, context: ROOT_CONTEXT })
  // Trusted by the middleware, but the registered propagator may still have refused the caller
  // (setupTracing({ propagation: { trustIncoming } })): then it kept the caller only for a link.
  if (trusted) return { context: extracted, link: getUntrustedParent(extracted) }
  return { context: ROOT_CONTEXT, link: getUntrustedParent(extracted) }
}
