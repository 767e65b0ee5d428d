import { sendTraced, type OutgoingCall } from './shared/call'
import { checkOneOf, invalidOption, reportFailure } from '@traceweave/core/internal'
import { copyFetchHeaders, type HeadersInitLike, type OutgoingHeaders } from './shared/headers'
import { resolveClientOptions, type ClientOptions, type ClientSettings } from './shared/options'
import { BODY_HEADERS, CROSS_ORIGIN_DROPPED, MAX_REDIRECTS, redirectHop } from './shared/redirects'
import { sendWithRetry, type RetryTransport } from './shared/retry-policy'

/** Any function with fetch's shape: the global one, undici's, node-fetch's. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each fetch declares its own input, init and response types: all must be assignable
export type FetchFunction = (input: any, init?: any) => Promise<any>

/** Options of {@link traceFetch} and {@link instrumentGlobalFetch}. */
export interface TraceFetchOptions extends ClientOptions {
  /**
   * Redirects. `'native'` (default): fetch follows them itself and, as the Fetch spec says, re-sends
   * our headers to the new location with no hook to stop it, even outside `propagateTo`. `'traced'`:
   * follow them ourselves when the body can be sent again (none, string, ArrayBuffer, typed array,
   * URLSearchParams, Blob, FormData): each hop is its own CLIENT span and gets trace headers only if
   * `propagateTo` allows its destination. Other requests, and `redirect: 'manual' | 'error'`, stay
   * native. With `'traced'`, `response.redirected` is false and `response.url` is the last hop's URL.
   */
  followRedirects?: 'native' | 'traced'
}

// Marks our wrappers so wrapping twice, or instrumenting the global fetch twice, is a no-op.
const tracedFetches = new WeakSet<FetchFunction>()

/** What the engine needs to know about one fetch call, read once from the caller's arguments. */
interface FetchRequest {
  readonly input: unknown
  readonly init: Record<string, unknown> | undefined
  readonly isRequest: boolean
  readonly method: string
  readonly url: URL
  readonly headers: HeadersInitLike | undefined
  readonly body: unknown
  readonly replayable: boolean
  readonly signal: AbortSignal | null | undefined
  readonly redirect: string
}

interface RequestLike {
  url: string
  method: string
  headers: HeadersInitLike
  body: unknown
  signal?: AbortSignal
  redirect?: string
}

function isRequestLike(input: unknown): input is RequestLike {
  return (
    typeof input === 'object' &&
    input !== null &&
    !(input instanceof URL) &&
    typeof (input as RequestLike).url === 'string' &&
    typeof (input as RequestLike).method === 'string'
  )
}

function isReplayableBody(body: unknown): boolean {
  return (
    body === undefined ||
    body === null ||
    typeof body === 'string' ||
    body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body) ||
    body instanceof URLSearchParams ||
    (typeof Blob === 'function' && body instanceof Blob) ||
    (typeof FormData === 'function' && body instanceof FormData)
  )
}

/** Reads the caller's arguments without changing them; `undefined` when fetch itself should complain. */
function describeFetch(input: unknown, init: unknown): FetchRequest | undefined {
  const options = typeof init === 'object' && init !== null ? (init as Record<string, unknown>) : undefined
  const request = isRequestLike(input) ? input : undefined
  let url: URL
  try {
    url = new URL(request?.url ?? String(input))
  } catch {
    return undefined // a relative or invalid URL: fetch's own TypeError is the right answer
  }
  const method = String(options?.method ?? request?.method ?? 'GET').toUpperCase()
  const body = options !== undefined && 'body' in options ? options.body : (request?.body ?? undefined)
  return {
    input,
    init: options,
    isRequest: request !== undefined,
    method,
    url,
    headers: (options?.headers as HeadersInitLike | undefined) ?? request?.headers,
    body,
    // A Request's body is a stream that can be read once; init bodies of these kinds can be re-sent.
    replayable:
      options !== undefined && 'body' in options ? isReplayableBody(body) : (request?.body ?? null) === null,
    signal: (options?.signal as AbortSignal | null | undefined) ?? request?.signal,
    redirect: String(options?.redirect ?? request?.redirect ?? 'follow'),
  }
}

const fetchTransport: RetryTransport<Response> = {
  statusOf: (response) => response?.status,
  statusOfError: () => undefined,
  headersOf: (response) => response?.headers,
  headersOfError: () => undefined,
  // `response.url` is where native redirects ended ('' for a synthetic Response: the call's URL).
  answerOf: ({ result }) =>
    result === undefined ? undefined : { headers: result.headers, url: String(result.url ?? '') },
  release({ result }) {
    // An unread body holds its connection until collected; cancel it so the socket is reused or freed.
    result?.body?.cancel().catch(() => {})
  },
}

/**
 * Wraps a fetch function so every call is a CLIENT span (`GET`, with `http.request.method`,
 * `url.full` without credentials or query, `server.address`, `server.port`,
 * `http.response.status_code`, `error.type`) that carries `traceparent`, `tracestate`, baggage and the
 * request ID to destinations `propagateTo` allows. The caller's `init`, headers and `Request` are never
 * modified; the span ends when the response headers arrive, or on error or abort. Returns a function
 * with fetch's exact signature; wrapping a traced fetch returns it unchanged.
 *
 * @example const fetch = traceFetch(globalThis.fetch, { propagateTo: ['*.internal.example.com'] })
 */
export function traceFetch<F extends FetchFunction = typeof fetch>(
  fetchImpl: F = globalThis.fetch as unknown as F,
  options: TraceFetchOptions = {},
): F {
  if (typeof fetchImpl !== 'function') invalidOption('traceFetch(fetchImpl)', 'a fetch function', fetchImpl)
  if (tracedFetches.has(fetchImpl)) return fetchImpl
  const settings = resolveClientOptions('traceFetch', options)
  const { followRedirects = 'native' } = options
  checkOneOf('traceFetch.followRedirects', followRedirects, ['native', 'traced'])

  const tracedFetch = function tracedFetch(input: unknown, init?: unknown): Promise<unknown> {
    let request: FetchRequest | undefined
    try {
      request = describeFetch(input, init)
    } catch (error) {
      reportFailure('traceFetch: reading the request', error)
    }
    if (request === undefined) return fetchImpl(input, init)
    const described = request
    const traceRedirects =
      followRedirects === 'traced' && described.redirect === 'follow' && described.replayable
    return sendWithRetry(settings, described, fetchTransport, (resendCount, signal) =>
      traceRedirects
        ? followRedirectsTraced(settings, fetchImpl, described, resendCount, signal)
        : sendTraced(settings, fetchCall(fetchImpl, described, signal), fetchTransport, resendCount),
    )
  }
  tracedFetches.add(tracedFetch)
  return tracedFetch as F
}

/**
 * The caller's call with our headers added to a copy of its headers; `signal` (the caller's linked
 * with `retry.signal`), when given, replaces the caller's own.
 */
function fetchCall(
  fetchImpl: FetchFunction,
  request: FetchRequest,
  signal: AbortSignal | undefined,
): OutgoingCall<Response> {
  const callerInit = signal === undefined ? request.init : { ...request.init, signal }
  return {
    method: request.method,
    url: request.url,
    prepare(headers: OutgoingHeaders) {
      const init = { ...callerInit, headers: copyFetchHeaders(request.headers, headers).headers }
      return () => fetchImpl(request.input, init)
    },
    untouched: () => fetchImpl(request.input, callerInit),
  }
}

/** One hop of a redirect chain we follow ourselves: always `redirect: 'manual'`. */
function hopCall(
  fetchImpl: FetchFunction,
  request: FetchRequest,
  hop: { url: URL; method: string; body: unknown; headers: HeadersInitLike | undefined; first: boolean },
  signal: AbortSignal | undefined,
): OutgoingCall<Response> {
  const base = {
    ...request.init,
    method: hop.method,
    redirect: 'manual',
    signal: signal ?? request.signal ?? undefined,
  }
  const input = hop.first ? request.input : hop.url.href
  const bodyInit = hop.body === undefined || hop.body === null ? {} : { body: hop.body }
  return {
    method: hop.method,
    url: hop.url,
    prepare(headers: OutgoingHeaders) {
      const init = { ...base, ...bodyInit, headers: copyFetchHeaders(hop.headers, headers).headers }
      if (!('body' in bodyInit)) delete (init as { body?: unknown }).body
      return () => fetchImpl(input, init)
    },
    untouched: () => {
      const init: Record<string, unknown> = { ...base, ...bodyInit, headers: hop.headers }
      if (!('body' in bodyInit)) delete init.body
      return fetchImpl(input, init)
    },
  }
}

function withoutHeaders(
  headers: HeadersInitLike | undefined,
  drop: ReadonlySet<string>,
): HeadersInitLike | undefined {
  if (headers === undefined) return undefined
  const copy = new Headers(headers as unknown as Headers)
  for (const name of drop) copy.delete(name)
  return copy
}

/**
 * Follows redirects hop by hop, so trace headers go only to hops `propagateTo` allows. Mirrors the
 * Fetch spec: 303 (and 301/302 after POST) become a bodiless GET, credentials headers are dropped on a
 * change of origin, at most 20 redirects.
 */
async function followRedirectsTraced(
  settings: ClientSettings,
  fetchImpl: FetchFunction,
  request: FetchRequest,
  resendCount: number,
  signal: AbortSignal | undefined,
): Promise<Response> {
  let hop = {
    url: request.url,
    method: request.method,
    body: request.body,
    headers: request.headers,
    first: true,
  }
  for (let redirects = 0; ; redirects++) {
    const response: Response = await sendTraced(
      settings,
      hopCall(fetchImpl, request, hop, signal),
      fetchTransport,
      resendCount,
    )
    const next = redirectHop(response.status, response.headers.get('location'), hop.url, hop.method)
    if (next === undefined) return response
    fetchTransport.release({ result: response })
    if (redirects + 1 > MAX_REDIRECTS) throw new TypeError('fetch failed: redirect count exceeded')
    const toGet = next.toGet
    let headers = hop.headers
    if (toGet) headers = withoutHeaders(headers, BODY_HEADERS)
    if (next.crossOrigin) headers = withoutHeaders(headers, CROSS_ORIGIN_DROPPED)
    hop = {
      url: next.url,
      method: toGet ? 'GET' : hop.method,
      body: toGet ? undefined : hop.body,
      headers,
      first: false,
    }
    resendCount++
  }
}

let globalUndo: (() => void) | undefined

/**
 * Replaces `globalThis.fetch` with a traced one (see {@link traceFetch}) and returns a function that
 * puts the original back (only if nobody replaced it since). Calling it again while instrumented does
 * not wrap twice: it returns the same undo function.
 *
 * @example const undo = instrumentGlobalFetch({ retry: { retries: 2 } })
 */
export function instrumentGlobalFetch(options: TraceFetchOptions = {}): () => void {
  if (globalUndo !== undefined && tracedFetches.has(globalThis.fetch)) return globalUndo
  const original = globalThis.fetch
  if (typeof original !== 'function')
    throw new TypeError('instrumentGlobalFetch: globalThis.fetch is not a function')
  if (tracedFetches.has(original)) return () => {} // someone installed a traced fetch by hand: leave it
  const traced = traceFetch(original, options)
  globalThis.fetch = traced
  const undo = () => {
    if (globalThis.fetch === traced) globalThis.fetch = original
    if (globalUndo === undo) globalUndo = undefined
  }
  globalUndo = undo
  return undo
}
