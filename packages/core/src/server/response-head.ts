import type { ServerResponse } from 'node:http'
import { failOpen } from '../internal/guard'
import { TRACERESPONSE_HEADER } from './attributes'
import type { ResolvedServerOptions } from './options'
import { traceResponseValue } from './response-decision'
import type { ServerRequest } from './types'

/**
 * What we add to a response's head: the echoed request ID, `traceresponse`, the Server-Timing `trace`
 * metric and the CORS exposure of those headers; and the hook that lets the lifecycle act at the
 * moment the head is written, for responses that need it.
 */

const ACCESS_CONTROL_EXPOSE_HEADERS = 'access-control-expose-headers'
const SERVER_TIMING_HEADER = 'server-timing'

/** The lifecycle's moment the head hook calls (not part of the adapters' `ServerLifecycle`). */
interface ResponseStartingListener {
  responseStarting(serverRequest: ServerRequest<unknown>, status?: number): void
}

/**
 * The response headers one `traceweave()` call sets, worked out once from its options.
 */
export class ResponseHeaders<Request> {
  /** `traceresponse` or the Server-Timing `trace` metric is sent. */
  readonly reportsDecision: boolean
  private readonly exposeNames: readonly string[]

  constructor(private readonly options: ResolvedServerOptions<Request>) {
    const echoed = options.requestId?.echo === true ? [options.requestId.header] : []
    this.exposeNames = options.traceResponse ? [...echoed, TRACERESPONSE_HEADER] : echoed
    this.reportsDecision = options.traceResponse || options.serverTiming
  }

  /**
   * The request ID, `traceresponse` and Server-Timing `trace` headers. The trace value is written when
   * `withTrace`: at start only if the decision is final already, at the head always, with the decision
   * as it stands then (`sampled`, from `decideResponse`).
   */
  set(serverRequest: ServerRequest<Request>, withTrace: boolean, sampled: boolean | undefined): void {
    const { res, state } = serverRequest
    if (res.headersSent) return
    const options = this.options
    const policy = options.requestId
    if (policy?.echo === true && state.requestId !== undefined && !res.hasHeader(policy.header)) {
      res.setHeader(policy.header, state.requestId)
    }
    if (this.reportsDecision && withTrace) {
      const value = traceResponseValue(serverRequest, sampled)
      if (value !== undefined) {
        if (options.traceResponse) res.setHeader(TRACERESPONSE_HEADER, value)
        if (options.serverTiming) setServerTimingTrace(res, value)
      }
    }
    if (options.exposeHeaders && this.exposeNames.length > 0) exposeHeaders(res, this.exposeNames)
  }
}

/**
 * Calls the lifecycle's `responseStarting` when the response head is written, by wrapping this
 * response's `writeHead` (once). Only for the responses that need it (errors, exposeHeaders,
 * serverTiming, a deferred decision judged or reported at the head), so the closure it makes costs
 * nothing on the common path.
 */
export function hookResponseHead(serverRequest: ServerRequest<unknown>): void {
  const res = serverRequest.res
  if (serverRequest.originalWriteHead !== undefined || res.headersSent) return
  const original = res.writeHead
  serverRequest.originalWriteHead = original
  res.writeHead = function traceweaveWriteHead(this: ServerResponse, ...args: unknown[]) {
    // Unwrap first (unless someone wrapped us in turn), so a second call goes straight to Node.
    if (this.writeHead === traceweaveWriteHead) this.writeHead = original
    if (!serverRequest.ended) {
      const lifecycle = serverRequest.lifecycle as unknown as ResponseStartingListener
      const status = typeof args[0] === 'number' ? args[0] : undefined
      failOpen('server.responseStarting', () => lifecycle.responseStarting(serverRequest, status), undefined)
    }
    return (original as (...a: unknown[]) => unknown).apply(this, args)
  } as ServerResponse['writeHead']
}

/** Adds (or replaces) our `trace` metric in the response's `Server-Timing`, keeping the app's metrics. */
export function setServerTimingTrace(res: ServerResponse, value: string): void {
  const current = res.getHeader(SERVER_TIMING_HEADER)
  const metric = `trace;desc=${value}`
  const entries = (current === undefined ? [] : Array.isArray(current) ? current : [String(current)])
    .flatMap((line) => line.split(','))
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '' && !/^trace\s*(;|$)/i.test(entry))
  entries.push(metric)
  res.setHeader(SERVER_TIMING_HEADER, entries.join(', '))
}

/**
 * Adds `names` missing from the response's `Access-Control-Expose-Headers`, so a browser script may
 * read them cross-origin; the app's own list is kept, and `*` (every header exposed) left alone.
 */
export function exposeHeaders(res: ServerResponse, names: readonly string[]): void {
  const current = res.getHeader(ACCESS_CONTROL_EXPOSE_HEADERS)
  const list = current === undefined ? '' : Array.isArray(current) ? current.join(', ') : String(current)
  const present = new Set(list.split(',').map((name) => name.trim().toLowerCase()))
  if (present.has('*')) return
  const missing = names.filter((name) => !present.has(name))
  if (missing.length === 0) return
  res.setHeader(
    ACCESS_CONTROL_EXPOSE_HEADERS,
    list.trim().length === 0 ? missing.join(', ') : `${list}, ${missing.join(', ')}`,
  )
}
