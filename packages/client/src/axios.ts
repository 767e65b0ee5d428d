import { sendTraced, type OutgoingCall } from './shared/call'
import { reportFailure } from '@traceweave/core/internal'
import {
  applyHeaders,
  deleteHeaders,
  isHeadersObject,
  type HeadersClassLike,
  type OutgoingHeaders,
} from './shared/headers'
import { resolveClientOptions, type ClientOptions, type ClientSettings } from './shared/options'
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
}

/** Options of {@link traceAxios}. */
export interface TraceAxiosOptions extends ClientOptions {
  /**
   * axios's `getAdapter`, to resolve an adapter given by name (the default `['xhr', 'http', 'fetch']`).
   * Needed for `axios.create()` instances, which do not carry it: `{ getAdapter: axios.getAdapter }`.
   * Default: the instance's own `getAdapter` (the default `axios` export has one).
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
}

function responseOf(error: unknown): AxiosResponseLike | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const response = (error as { response?: unknown }).response
  return typeof response === 'object' && response !== null ? (response as AxiosResponseLike) : undefined
}

function releaseData(data: unknown): void {
  // With `responseType: 'stream'` a failed attempt's body is an unread stream holding a socket.
  const stream = data as { destroy?: () => void } | undefined
  if (typeof stream?.destroy === 'function') stream.destroy()
}

const axiosTransport: RetryTransport<AxiosResponseLike> = {
  statusOf: (response) => (typeof response?.status === 'number' ? response.status : undefined),
  statusOfError: (error) => {
    const status = responseOf(error)?.status
    return typeof status === 'number' ? status : undefined
  },
  headersOf: (response) => response?.headers,
  headersOfError: (error) => responseOf(error)?.headers,
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
 * settles, whatever interceptors do; per-request state never lives on axios's config. With the node
 * adapter, a redirect to a destination outside `propagateTo` has our headers removed
 * (`beforeRedirect`); axios's fetch adapter follows redirects natively and cannot. A request that sets
 * its own `adapter` bypasses the instrumentation. Returns a function that restores the original
 * adapter; instrumenting an instance twice returns the first undo function and does not wrap twice.
 *
 * @example const undo = traceAxios(axios.create({ baseURL }), { getAdapter: axios.getAdapter })
 */
export function traceAxios(instance: AxiosInstanceLike, options: TraceAxiosOptions = {}): () => void {
  if (
    (typeof instance !== 'function' && typeof instance !== 'object') ||
    instance === null ||
    typeof instance.defaults !== 'object'
  ) {
    throw new TypeError('traceAxios: instance must be an axios instance (axios or axios.create())')
  }
  const existing = instrumented.get(instance)
  if (existing !== undefined) return existing
  const settings = resolveClientOptions('traceAxios', options)
  const original = instance.defaults.adapter
  const getAdapter = options.getAdapter ?? instance.getAdapter
  if (typeof original !== 'function' && typeof getAdapter !== 'function') {
    throw new TypeError(
      'traceAxios.getAdapter is required: this instance names its adapter (' +
        `${JSON.stringify(original)}) and has no getAdapter; pass { getAdapter: axios.getAdapter }`,
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
    return sendWithRetry(settings, request, axiosTransport, (resendCount) =>
      sendTraced(settings, axiosCall(settings, adapter, config, method, url), axiosTransport, resendCount),
    )
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
  // Streams are read once; strings, buffers, plain objects (serialized already by now) can be re-sent.
  return !(
    typeof data === 'object' &&
    data !== null &&
    typeof (data as { pipe?: unknown }).pipe === 'function'
  )
}

function abortSignalOf(signal: unknown): AbortSignal | undefined {
  return signal instanceof AbortSignal ? signal : undefined
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
