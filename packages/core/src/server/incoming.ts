import {
  propagation,
  ROOT_CONTEXT,
  type Context,
  type SpanContext,
  type TextMapGetter,
} from '@opentelemetry/api'
import type { IncomingHttpHeaders } from 'node:http'
import { withoutCorrelationBaggage } from '../correlation/propagated'
import { chainOver } from '../internal/chain-context'
import { extractContext } from '../propagation/carrier'
import { getUntrustedParent } from '../propagation/trust'

/** Where a server span starts: its parent context, and the caller to link to when not trusted. */
export interface IncomingParent {
  readonly context: Context
  readonly link: SpanContext | undefined
}

/**
 * Node's parsed request headers: names are lowercase, and repeated lines of an unknown header are
 * joined with ", " (so a repeated `traceparent` stays invalid, a repeated `tracestate` stays ordered).
 * A direct lookup is exact here; the general getter's case-insensitive scan is not needed.
 */
const NODE_HEADERS_GETTER: TextMapGetter<IncomingHttpHeaders> = {
  keys: (headers) => Object.keys(headers),
  get: (headers, name) => headers[name],
}

// What a propagator extracts into: the root, as a chain, so the span context and the random flag it
// sets on a traced request link rather than copy a Map each (two copies per request with a parent).
const EXTRACT_ROOT = chainOver(ROOT_CONTEXT)

/**
 * Applies the request-level trust policy to the incoming headers. Trusted: continue the caller's trace
 * (with its tracestate and baggage, as the registered propagator reads them). Not trusted: start a new
 * root, linked to the caller, so no tracestate, baggage or sampling decision of the caller gets in.
 */
export function extractIncoming(headers: IncomingHttpHeaders, trusted: boolean): IncomingParent {
  if (trusted) {
    // Our correlation members reach the spans through the request record (when accepted), never the
    // context's baggage, from where any propagator would forward them to any destination.
    const extracted = withoutCorrelationBaggage(
      propagation.extract(EXTRACT_ROOT, headers, NODE_HEADERS_GETTER),
      headers,
    )
    // Trusted by the middleware, but the registered propagator may still have refused the caller
    // (setupTracing({ propagation: { trustIncoming } })): then it kept the caller only for a link.
    return { context: extracted, link: getUntrustedParent(extracted) }
  }
  const refused = extractContext(headers, { trustIncoming: false, context: ROOT_CONTEXT })
  return { context: ROOT_CONTEXT, link: getUntrustedParent(refused) }
}
