import {
  ROOT_CONTEXT,
  context as contextApi,
  isSpanContextValid,
  propagation,
  trace,
  type Context,
  type TextMapGetter,
  type TextMapSetter,
} from '@opentelemetry/api'
import { failOpen } from '../internal/guard'
import { isPropagationAllowedTo, type PropagateTo } from './propagate-to'
import { getUntrustedParent, setUntrustedParent } from './trust'

/** Anything with the `get` of the Fetch API's `Headers` (also undici's). */
export interface HeadersLike {
  get(name: string): string | null
  forEach?(callback: (value: string, name: string) => void): void
}

/** Headers as Node gives them (`IncomingHttpHeaders`) or as a message queue carries them. */
export type HeaderRecord = Record<string, string | string[] | undefined>

/** A carrier {@link extractContext} reads from. */
export type HeaderCarrier = HeaderRecord | HeadersLike

function isHeadersLike(carrier: unknown): carrier is HeadersLike {
  return typeof carrier === 'object' && carrier !== null && typeof (carrier as HeadersLike).get === 'function'
}

/**
 * A `TextMapGetter` for Node header records and Fetch `Headers`. Header names are case-insensitive, so
 * a record is searched without regard to case; when a name appears in several casings, all the values
 * are returned (a repeated `traceparent` is then rightly invalid).
 *
 * @example propagation.extract(ROOT_CONTEXT, req.headers, headersGetter)
 */
export const headersGetter: TextMapGetter<HeaderCarrier> = {
  keys(carrier) {
    if (carrier === null || typeof carrier !== 'object') return []
    if (isHeadersLike(carrier)) {
      const names: string[] = []
      carrier.forEach?.((_value, name) => names.push(name))
      return names
    }
    return Object.keys(carrier)
  },
  get(carrier, key) {
    if (carrier === null || typeof carrier !== 'object') return undefined
    if (isHeadersLike(carrier)) return carrier.get(key) ?? undefined
    const lower = key.toLowerCase()
    let found: string | string[] | undefined
    for (const name of Object.keys(carrier)) {
      if (name.length !== lower.length || name.toLowerCase() !== lower) continue
      const value = carrier[name]
      if (value === undefined) continue
      if (found === undefined) found = value
      else found = [...(Array.isArray(found) ? found : [found]), ...(Array.isArray(value) ? value : [value])]
    }
    return found
  },
}

/** A carrier {@link injectContext} writes to: a plain record or Fetch `Headers`. */
export type InjectCarrier = Record<string, string> | { set(name: string, value: string): void }

/**
 * A `TextMapSetter` for plain records and Fetch `Headers`; names are written lowercase.
 *
 * @example propagation.inject(context.active(), headers, headersSetter)
 */
export const headersSetter: TextMapSetter<InjectCarrier> = {
  set(carrier, key, value) {
    if (carrier === null || typeof carrier !== 'object') return
    const name = key.toLowerCase()
    if (typeof (carrier as { set?: unknown }).set === 'function') {
      ;(carrier as { set(name: string, value: string): void }).set(name, value)
    } else {
      ;(carrier as Record<string, string>)[name] = value
    }
  },
}

/** Options of {@link extractContext}. */
export interface ExtractContextOptions {
  /**
   * Whether to continue the caller's trace. `false` starts a new trace: the returned context has no
   * remote parent, `tracestate` or baggage, and {@link getUntrustedParent} returns the caller's span
   * context for a link. `true` (default) leaves the decision to the registered propagator (whose own
   * `trustIncoming` still applies).
   */
  trustIncoming?: boolean
  /** The context to extract into. Default: the active context. */
  context?: Context
}

/**
 * Reads trace context, baggage and whatever else the globally registered propagator handles from
 * incoming headers (a Node header record or Fetch `Headers`), for transports traceweave does not wrap
 * and for the server middleware. Never throws: on an internal error the context comes back unchanged.
 *
 * @example const ctx = extractContext(message.headers, { trustIncoming: isInternal(message) })
 */
export function extractContext(carrier: HeaderCarrier, options: ExtractContextOptions = {}): Context {
  const base = options.context ?? contextApi.active()
  return failOpen(
    'extractContext',
    () => {
      if (options.trustIncoming !== false) return propagation.extract(base, carrier, headersGetter)
      const scratch = propagation.extract(ROOT_CONTEXT, carrier, headersGetter)
      const caller = trace.getSpanContext(scratch) ?? getUntrustedParent(scratch)
      return caller !== undefined && isSpanContextValid(caller) ? setUntrustedParent(base, caller) : base
    },
    base,
  )
}

/** Options of {@link injectContext}. */
export interface InjectContextOptions {
  /** The context whose span is the parent of the outgoing call. Default: the active context. */
  context?: Context
  /** Where the call goes; with `propagateTo`, decides whether headers are written at all. */
  url?: string | URL
  /**
   * Destinations that may receive trace headers, checked against `url` (see the client's
   * `propagateTo` option). Default: private destinations only.
   */
  propagateTo?: PropagateTo
}

/**
 * Writes `traceparent`, `tracestate`, baggage and whatever else the globally registered propagator
 * handles into outgoing headers, for transports traceweave does not wrap (got, `undici.request`,
 * message queues). Never throws.
 *
 * @example const headers: Record<string, string> = {}; injectContext(headers, { url }); await request(url, { headers })
 */
export function injectContext(carrier: InjectCarrier, options: InjectContextOptions = {}): void {
  failOpen(
    'injectContext',
    () => {
      // The same allowlist as the client: without `propagateTo`, private destinations only.
      if (options.url !== undefined && !isPropagationAllowedTo(options.url, options.propagateTo)) return
      propagation.inject(options.context ?? contextApi.active(), carrier, headersSetter)
    },
    undefined,
  )
}
