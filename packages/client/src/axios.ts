import { sendTraced, type OutgoingCall, type Transport } from './shared/call'
import {
  checkFunction,
  configError,
  describeValue,
  invalidOption,
  reportFailure,
} from '@traceweave/core/internal'
import { findGetAdapter } from './axios-lookup'
import {
  applyHeaders,
  deleteHeaders,
  isHeadersObject,
  readHeader,
  type HeadersClassLike,
  type OutgoingHeaders,
} from './shared/headers'
import { resolveClientOptions, type ClientOptions, type ClientSettings } from './shared/options'
import {
  BODY_HEADERS,
  CROSS_ORIGIN_DROPPED,
  MAX_REDIRECTS,
  redirectHop,
  type RedirectHop,
} from './shared/redirects'
import { sendWithRetry, type RetryTransport } from './shared/retry-policy'

/** The parts of an axios request config the client reads; structural, so axios is not a dependency. */
export interface AxiosConfigLike {
  url?: string
  baseURL?: string
  method?: string
  headers?: unknown
  data?: unknown
  signal?: unknown
  beforeRedirect?: (
    options: { href?: unknown; headers?: Record<string, unknown>; [key: string]: unknown },
    responseDetails: unknown,
    requestDetails?: unknown,
  ) => void
  [key: string]: unknown
}

/** An axios adapter: `(config) => Promise<response>`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- axios's own signatures must be assignable here (a parameter typed `unknown` would reject them)
export type AxiosAdapterLike = (config: any) => Promise<any>

/** The parts of an axios instance (`axios` itself or `axios.create()`) the client uses. */
export interface AxiosInstanceLike {
  defaults: { adapter?: unknown }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- axios's own signatures must be assignable here (a parameter typed `unknown` would reject them)
  getUri?: (config?: any) => string
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- axios's own signatures must be assignable here (a parameter typed `unknown` would reject them)
  getAdapter?: (adapters: any, config?: any) => AxiosAdapterLike
  interceptors?: unknown
}

/** Options of {@link traceAxios}. */
export interface TraceAxiosOptions extends ClientOptions {
  /**
   * axios's `getAdapter`, to resolve an adapter given by name (the default `['xhr', 'http', 'fetch']`).
   * Default: the instance's own (the default `axios` export has one); for an `axios.create()`
   * instance, the `getAdapter` of the axios copy (CommonJS or ESM build) that made it, found among
   * the loaded modules. Pass `{ getAdapter: axios.getAdapter }` where that fails: a bundled app, or an
   * ESM app on Node older than 20.19.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- axios's own signatures must be assignable here (a parameter typed `unknown` would reject them)
  getAdapter?: (adapters: any, config?: any) => AxiosAdapterLike
}

// One instrumentation per instance: the undo function of the live one.
const instrumented = new WeakMap<object, () => void>()

interface AxiosResponseLike {
  status?: number
  headers?: unknown
  data?: unknown
  request?: unknown
}

/**
 * Where node's http adapter finally got the response from: follow-redirects puts `responseUrl` on the
 * last response (`request.res`). `undefined` otherwise (no redirect followed, or another adapter: we
 * follow their redirects hop by hop): the call's own URL.
 */
function finalUrlOf(response: AxiosResponseLike): string | undefined {
  const responseUrl = (response.request as { res?: { responseUrl?: unknown } } | undefined)?.res?.responseUrl
  return typeof responseUrl === 'string' ? responseUrl : undefined
}

function responseOf(error: unknown): AxiosResponseLike | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const response = (error as { response?: unknown }).response
  return typeof response === 'object' && response !== null ? (response as AxiosResponseLike) : undefined
}

function releaseData(data: unknown): void {
  // With `responseType: 'stream'` a failed attempt's body is an unread stream holding a socket
  // (a node stream with the http adapter, a web ReadableStream with the fetch adapter).
  const stream = data as { destroy?: () => void; cancel?: () => Promise<void> } | undefined
  if (typeof stream?.destroy === 'function') stream.destroy()
  else if (typeof stream?.cancel === 'function') stream.cancel().catch(() => {})
}

const axiosTransport: RetryTransport<AxiosResponseLike> = {
  statusOf: (response) => (typeof response?.status === 'number' ? response.status : undefined),
  statusOfError: (error) => {
    const status = responseOf(error)?.status
    return typeof status === 'number' ? status : undefined
  },
  headersOf: (response) => response?.headers,
  headersOfError: (error) => responseOf(error)?.headers,
  // A response axios rejects (its default validateStatus refuses 4xx/5xx) is read too.
  answerOf: ({ result, error }) => {
    const response = result ?? responseOf(error)
    return response === undefined ? undefined : { headers: response.headers, url: finalUrlOf(response) }
  },
  release({ result, error }) {
    releaseData(result?.data ?? responseOf(error)?.data)
  },
}

/** The header record axios's adapter reads, copied: an `AxiosHeaders` clone or a plain object. */
function copyAxiosHeaders(original: unknown, add: OutgoingHeaders): { headers: unknown; written: string[] } {
  if (isHeadersObject(original)) {
    // AxiosHeaders: `new AxiosHeaders(headers)` copies; its set/has ignore case.
    const HeadersClass = original.constructor as new (init: unknown) => HeadersClassLike
    const copy = new HeadersClass(original)
    return { headers: copy, written: applyHeaders(copy, add) }
  }
  const written: string[] = []
  const copy: Record<string, unknown> = {}
  const present = new Set<string>()
  for (const [name, value] of Object.entries((original as Record<string, unknown> | undefined) ?? {})) {
    present.add(name.toLowerCase())
    if (!Object.hasOwn(add.replace, name.toLowerCase())) copy[name] = value
  }
  for (const [name, value] of Object.entries(add.replace)) {
    copy[name] = value
    written.push(name)
  }
  for (const [name, value] of Object.entries(add.ifAbsent)) {
    if (present.has(name)) continue
    copy[name] = value
    written.push(name)
  }
  return { headers: copy, written }
}

function requestUrl(instance: AxiosInstanceLike, config: AxiosConfigLike): URL {
  // getUri applies baseURL and params exactly as the request will; relative URLs resolve the way
  // axios's node adapter resolves them.
  const uri =
    typeof instance.getUri === 'function'
      ? instance.getUri(config)
      : `${config.baseURL ?? ''}${config.url ?? ''}`
  return new URL(uri, 'http://localhost')
}

/**
 * Instruments an axios instance (the default `axios` or one from `axios.create()`): every request is
 * a CLIENT span with the trace headers `propagateTo` allows, like {@link traceFetch}. It wraps the
 * instance's adapter, so the span starts after all request interceptors and ends when the adapter
 * settles, whatever interceptors do; per-request state never lives on axios's config. With node's
 * http adapter, a redirect to a destination outside `propagateTo` has our headers removed
 * (`beforeRedirect`); with any other adapter (axios's fetch adapter follows redirects itself and has
 * no such hook) we follow redirects ourselves, hop by hop, each hop its own CLIENT span with trace
 * headers only if `propagateTo` allows it. A request that sets its own `adapter` bypasses the
 * instrumentation. Returns a function that restores the original adapter; instrumenting an instance
 * twice returns the first undo function and does not wrap twice.
 *
 * @example const undo = traceAxios(axios.create({ baseURL }), { retry: true })
 */
export function traceAxios(instance: AxiosInstanceLike, options: TraceAxiosOptions = {}): () => void {
  if (
    (typeof instance !== 'function' && typeof instance !== 'object') ||
    instance === null ||
    typeof instance.defaults !== 'object'
  ) {
    invalidOption('traceAxios(instance)', 'an axios instance (axios or axios.create())', instance)
  }
  const existing = instrumented.get(instance)
  if (existing !== undefined) return existing
  const settings = resolveClientOptions('traceAxios', options)
  if (options.getAdapter !== undefined) {
    checkFunction('traceAxios.getAdapter', options.getAdapter, "(axios's getAdapter)")
  }
  const original = instance.defaults.adapter
  const getAdapter =
    options.getAdapter ??
    instance.getAdapter ??
    (typeof original === 'function' ? undefined : findGetAdapter(instance))
  if (typeof original !== 'function' && typeof getAdapter !== 'function') {
    configError(
      'traceAxios.getAdapter',
      'be given as { getAdapter: axios.getAdapter }: this instance names its adapter and the axios module ' +
        'that made it was not found among the loaded modules (a bundled app, or an ESM app on Node older than 20.19)',
      `none, with the adapter ${describeValue(original)}`,
    )
  }
  const resolveAdapter = (config: AxiosConfigLike): AxiosAdapterLike =>
    typeof original === 'function' ? (original as AxiosAdapterLike) : getAdapter!(original, config)

  const tracedAxiosAdapter = function tracedAxiosAdapter(config: AxiosConfigLike): Promise<unknown> {
    const adapter = resolveAdapter(config) // axios's own error if no adapter fits: let it through
    let method: string
    let url: URL
    try {
      method = String(config.method ?? 'get').toUpperCase()
      url = requestUrl(instance, config)
    } catch (error) {
      reportFailure('traceAxios: reading the request', error)
      return adapter(config)
    }
    const request = {
      method,
      replayable: isReplayableData(config.data),
      signal: abortSignalOf(config.signal),
    }
    // Node's http adapter lets us strip our headers on a redirect; any other adapter (fetch's
    // follows redirects itself, with no hook) gets `maxRedirects: 0` and we follow them ourselves.
    const stripsOnRedirect = isNodeHttpAdapter(adapter)
    return sendWithRetry(settings, request, axiosTransport, (resendCount, signal) => {
      const attempt = signal === undefined ? config : { ...config, signal }
      return stripsOnRedirect
        ? sendTraced(
            settings,
            axiosCall(settings, adapter, attempt, method, url),
            axiosTransport,
            resendCount,
          )
        : followRedirectsTraced(settings, adapter, attempt, method, url, resendCount)
    })
  }

  instance.defaults.adapter = tracedAxiosAdapter
  const undo = () => {
    if (instance.defaults.adapter === tracedAxiosAdapter) instance.defaults.adapter = original
    if (instrumented.get(instance) === undo) instrumented.delete(instance)
  }
  instrumented.set(instance, undo)
  return undo
}

function isReplayableData(data: unknown): boolean {
  // Streams (node or web) are read once; strings, buffers, plain objects (serialized already by now)
  // can be re-sent.
  if (typeof data !== 'object' || data === null) return true
  const stream = data as { pipe?: unknown; getReader?: unknown }
  return typeof stream.pipe !== 'function' && typeof stream.getReader !== 'function'
}

function abortSignalOf(signal: unknown): AbortSignal | undefined {
  // Any EventTarget-style signal can be linked with `retry.signal`, not only this realm's class.
  const candidate = signal as AbortSignal | undefined
  return typeof candidate?.addEventListener === 'function' &&
    typeof candidate.removeEventListener === 'function' &&
    typeof candidate.aborted === 'boolean'
    ? candidate
    : undefined
}

/** axios names its adapters; node's http adapter is the one with a `beforeRedirect` hook. */
function isNodeHttpAdapter(adapter: AxiosAdapterLike): boolean {
  return (adapter as { adapterName?: unknown }).adapterName === 'http'
}

/** The adapter call with our headers on a copy of the config, and a redirect guard. */
function axiosCall(
  settings: ClientSettings,
  adapter: AxiosAdapterLike,
  config: AxiosConfigLike,
  method: string,
  url: URL,
): OutgoingCall<AxiosResponseLike> {
  return {
    method,
    url,
    prepare(headers: OutgoingHeaders) {
      const copy = copyAxiosHeaders(config.headers, headers)
      const userBeforeRedirect = config.beforeRedirect
      const written = copy.written.map((name) => name.toLowerCase())
      const next: AxiosConfigLike = { ...config, headers: copy.headers }
      if (written.length > 0) {
        next.beforeRedirect = function stripTraceHeadersOnRedirect(
          redirectOptions,
          responseDetails,
          requestDetails,
        ) {
          try {
            const target = new URL(String(redirectOptions.href))
            if (!settings.propagateTo(target)) deleteHeaders(redirectOptions.headers, written)
          } catch (error) {
            // Cannot tell where it goes: withhold rather than leak.
            deleteHeaders(redirectOptions.headers, written)
            reportFailure('traceAxios: redirect', error)
          }
          userBeforeRedirect?.(redirectOptions, responseDetails, requestDetails)
        }
      }
      return () => adapter(next)
    },
    untouched: () => adapter(config),
  }
}

/** One hop's outcome: a redirect axios rejected (its `validateStatus` refuses 3xx) is an outcome too. */
type HopOutcome =
  { response: AxiosResponseLike; error?: undefined } | { response?: undefined; error: unknown }

function responseOfOutcome(outcome: HopOutcome): AxiosResponseLike | undefined {
  return outcome.response ?? responseOf(outcome.error)
}

const hopTransport: Transport<HopOutcome> = {
  // A 3xx is no error on the hop's span, even when axios rejects it.
  statusOf: (outcome) => axiosTransport.statusOf(responseOfOutcome(outcome)!),
  statusOfError: axiosTransport.statusOfError,
  // One hop, no redirect followed inside it: the hop's own URL.
  answerOf: ({ result, error }) => {
    const response = result === undefined ? responseOf(error) : responseOfOutcome(result)
    return response === undefined ? undefined : { headers: response.headers, url: undefined }
  },
}

function locationOf(response: AxiosResponseLike | undefined): string | undefined {
  return readHeader(response?.headers, 'location')
}

/** One hop with `maxRedirects: 0`: its 3xx comes back as an outcome instead of being followed. */
function hopCall(
  adapter: AxiosAdapterLike,
  hop: AxiosConfigLike,
  method: string,
  url: URL,
): OutgoingCall<HopOutcome> {
  const send = (config: AxiosConfigLike): Promise<HopOutcome> =>
    adapter(config).then(
      (response: AxiosResponseLike) => ({ response }),
      (error: unknown) => {
        const response = responseOf(error)
        if (redirectHop(response?.status, locationOf(response), url, method) !== undefined) return { error }
        throw error
      },
    )
  return {
    method,
    url,
    prepare(headers: OutgoingHeaders) {
      const next = { ...hop, headers: copyAxiosHeaders(hop.headers, headers).headers }
      return () => send(next)
    },
    untouched: () => send(hop),
  }
}

/** A copy of axios request headers (an `AxiosHeaders` or a record) without `drop` (lowercase). */
function withoutAxiosHeaders(headers: unknown, drop: ReadonlySet<string>): unknown {
  if (isHeadersObject(headers)) {
    const HeadersClass = headers.constructor as new (init: unknown) => HeadersClassLike & {
      delete(name: string): unknown
    }
    const copy = new HeadersClass(headers)
    for (const name of drop) copy.delete(name)
    return copy
  }
  const copy: Record<string, unknown> = {}
  for (const [name, value] of Object.entries((headers as Record<string, unknown> | undefined) ?? {})) {
    if (!drop.has(name.toLowerCase())) copy[name] = value
  }
  return copy
}

/** The next hop's config: the Fetch spec's method, body and header rules, the new absolute URL. */
function nextHopConfig(hop: AxiosConfigLike, next: RedirectHop): AxiosConfigLike {
  let headers = hop.headers
  if (next.toGet) headers = withoutAxiosHeaders(headers, BODY_HEADERS)
  if (next.crossOrigin) headers = withoutAxiosHeaders(headers, CROSS_ORIGIN_DROPPED)
  return {
    ...hop,
    url: next.url.href,
    baseURL: undefined,
    params: undefined,
    method: next.toGet ? 'get' : hop.method,
    data: next.toGet ? undefined : hop.data,
    headers,
    // axios turns `auth` into an Authorization header: a credential, so it stays with its origin.
    auth: next.crossOrigin ? undefined : hop.auth,
  }
}

/**
 * Follows redirects hop by hop for adapters without a redirect hook (axios's fetch adapter), as
 * `traceFetch`'s `followRedirects: 'traced'` does: each hop a CLIENT span with trace headers only if
 * `propagateTo` allows its destination. The caller's `maxRedirects` (default 20, the Fetch spec's
 * limit) is kept: past it, or for a redirect that would re-send a stream body, the 3xx is the answer
 * (axios's error for it, unless `validateStatus` accepts it).
 */
async function followRedirectsTraced(
  settings: ClientSettings,
  adapter: AxiosAdapterLike,
  config: AxiosConfigLike,
  method: string,
  url: URL,
  resendCount: number,
): Promise<AxiosResponseLike> {
  const limit =
    typeof config.maxRedirects === 'number' && config.maxRedirects >= 0 ? config.maxRedirects : MAX_REDIRECTS
  let hop: AxiosConfigLike = { ...config, maxRedirects: 0 }
  let hopMethod = method
  let hopUrl = url
  for (let redirects = 0; ; redirects++) {
    const outcome = await sendTraced(
      settings,
      hopCall(adapter, hop, hopMethod, hopUrl),
      hopTransport,
      resendCount,
    )
    const response = responseOfOutcome(outcome)
    const next =
      redirects < limit ? redirectHop(response?.status, locationOf(response), hopUrl, hopMethod) : undefined
    if (next === undefined || (!next.toGet && !isReplayableData(hop.data))) {
      if (outcome.response === undefined) throw outcome.error
      return outcome.response
    }
    releaseData(response?.data)
    hop = nextHopConfig(hop, next)
    hopMethod = next.toGet ? 'GET' : hopMethod
    hopUrl = next.url
    resendCount++
  }
}
