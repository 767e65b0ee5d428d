import type { Context } from '@opentelemetry/api'
import { getRequestState, injectContext } from '@traceweave/core'
import { correlationBaggage } from '@traceweave/core/internal'
import type { ClientSettings } from './options'

/**
 * Headers a call should carry. `replace` (trace context, baggage) wins over a caller's header of the
 * same name, since a `traceparent` that does not name our CLIENT span would break the trace; `ifAbsent`
 * (the request ID) yields to the caller's own value.
 */
export interface OutgoingHeaders {
  readonly replace: Readonly<Record<string, string>>
  readonly ifAbsent: Readonly<Record<string, string>>
}

const DEFAULT_REQUEST_ID_HEADER = 'x-request-id'
const BAGGAGE_HEADER = 'baggage'
const NONE: OutgoingHeaders = Object.freeze({ replace: Object.freeze({}), ifAbsent: Object.freeze({}) })

/**
 * THE place where the client decides what an outgoing call carries: every fetch and axios call, each
 * retry and redirect hop, goes through here. Destinations outside `propagateTo` get nothing.
 * Deferred sampling (issue 7) will call its "before outgoing inject" hook here, before `injectContext`,
 * so the decision is made before a `traceparent` leaves the process.
 */
export function outgoingHeaders(settings: ClientSettings, callContext: Context, url: URL): OutgoingHeaders {
  if (!settings.propagateTo(url)) return NONE
  const replace: Record<string, string> = {}
  injectContext(replace, { context: callContext })
  const ifAbsent: Record<string, string> = {}
  const state = getRequestState(callContext)
  if (state === undefined) return { replace, ifAbsent }
  if (settings.requestIdHeader !== false) {
    // The ID travels under the header the request's middleware uses, unless the client names its own.
    const requestId = state.requestId
    if (requestId !== undefined) {
      ifAbsent[settings.requestIdHeader ?? state.requestIdHeader ?? DEFAULT_REQUEST_ID_HEADER] = requestId
    }
  }
  // The middleware's `correlation.propagate`: session and user join the app's baggage, here only, so
  // they reach `propagateTo` destinations and nothing else.
  if (state.propagateCorrelation !== undefined) {
    const baggage = correlationBaggage(state, replace[BAGGAGE_HEADER])
    if (baggage !== undefined && baggage !== '') replace[BAGGAGE_HEADER] = baggage
  }
  return { replace, ifAbsent }
}

/** Fetch's `HeadersInit`, structurally, so any fetch implementation's headers fit. */
export type HeadersInitLike =
  | { forEach(callback: (value: string, name: string) => void): void }
  | Iterable<readonly [string, string]>
  | readonly (readonly [string, string])[]
  | Record<string, string | readonly string[]>

/** A header class with case-insensitive `has`/`set`: Fetch `Headers`, `AxiosHeaders`. */
export interface HeadersClassLike {
  has(name: string): boolean
  set(name: string, value: string): void
}

/** True for a header class instance (as opposed to a record or an array of pairs). */
export function isHeadersObject(headers: unknown): headers is HeadersClassLike {
  return (
    typeof headers === 'object' &&
    headers !== null &&
    typeof (headers as HeadersClassLike).set === 'function' &&
    typeof (headers as HeadersClassLike).has === 'function'
  )
}

/**
 * A copy of the caller's fetch headers with `add` applied, in the caller's shape (a `Headers`, an
 * array of pairs or a record), so a custom fetch that inspects `init.headers` sees what it expects.
 * The caller's object is never touched. Returns the names we wrote, for stripping on a redirect.
 */
export function copyFetchHeaders(
  original: HeadersInitLike | undefined,
  add: OutgoingHeaders,
): { headers: HeadersInitLike; written: string[] } {
  if (isHeadersObject(original)) {
    const copy = new Headers(original as unknown as Headers)
    return { headers: copy, written: applyHeaders(copy, add) }
  }
  const written: string[] = []
  const isRecord =
    original !== undefined &&
    !Array.isArray(original) &&
    typeof (original as Iterable<unknown>)[Symbol.iterator] !== 'function'
  const pairs: [string, string | readonly string[]][] =
    original === undefined
      ? []
      : isRecord
        ? Object.entries(original as Record<string, string | readonly string[]>)
        : [...(original as Iterable<readonly [string, string]>)].map(([name, value]) => [name, value])
  const present = new Set(pairs.map(([name]) => name.toLowerCase()))
  const kept = pairs.filter(([name]) => !Object.hasOwn(add.replace, name.toLowerCase()))
  for (const [name, value] of Object.entries(add.replace)) {
    kept.push([name, value])
    written.push(name)
  }
  for (const [name, value] of Object.entries(add.ifAbsent)) {
    if (present.has(name)) continue
    kept.push([name, value])
    written.push(name)
  }
  const headers = original === undefined || isRecord ? Object.fromEntries(kept) : (kept as [string, string][])
  return { headers: headers as HeadersInitLike, written }
}

/** Writes `add` into a header class instance (ours replace, the others only where absent); returns the names written. */
export function applyHeaders(headers: HeadersClassLike, add: OutgoingHeaders): string[] {
  const written: string[] = []
  for (const [name, value] of Object.entries(add.replace)) {
    headers.set(name, value)
    written.push(name)
  }
  for (const [name, value] of Object.entries(add.ifAbsent)) {
    if (headers.has(name)) continue
    headers.set(name, value)
    written.push(name)
  }
  return written
}

/** Removes `names` (lowercase) from a Node-style header record, whatever their casing there. */
export function deleteHeaders(headers: Record<string, unknown> | undefined, names: readonly string[]): void {
  if (headers === undefined || headers === null || names.length === 0) return
  for (const key of Object.keys(headers)) if (names.includes(key.toLowerCase())) delete headers[key]
}

/** A header of a response, from Fetch `Headers`, `AxiosHeaders` or a plain record. */
export function readHeader(headers: unknown, name: string): string | undefined {
  if (typeof headers !== 'object' || headers === null) return undefined
  const getter = (headers as { get?: unknown }).get
  if (typeof getter === 'function') {
    const value: unknown = getter.call(headers, name)
    return typeof value === 'string' ? value : undefined
  }
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return typeof value === 'string' ? value : undefined
  }
  return undefined
}
