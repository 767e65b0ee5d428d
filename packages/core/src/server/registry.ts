import { context, type Context } from '@opentelemetry/api'
import { getRequestState, type RequestState } from '../correlation/request-state'
import { failOpen } from '../internal/guard'
import type { ServerRequest } from './types'

/** Links a request record to the lifecycle handle that owns it (a field of the record: no map entry). */
export function registerServerRequest(serverRequest: ServerRequest<unknown>): void {
  serverRequest.state.serverRequest = serverRequest
}

/** The lifecycle handle owning a request record, if a traceweave middleware started it. */
export function serverRequestOf(state: RequestState): ServerRequest<unknown> | undefined {
  return state.serverRequest as ServerRequest<unknown> | undefined
}

/**
 * The "before an outgoing inject" moment: the propagator calls it right before writing trace headers,
 * so a sampling decision that waits for the route sees it. A no-op outside a traced request.
 */
export function beforeOutgoingInject(ctx: Context = context.active()): void {
  const state = getRequestState(ctx)
  if (state === undefined) return
  const serverRequest = serverRequestOf(state)
  if (serverRequest === undefined) return
  failOpen('server.beforeInject', () => serverRequest.lifecycle.beforeInject(serverRequest), undefined)
}

/**
 * The traced request running in the active context, if it is the one `request` (a framework request
 * object, or Node's `req`) belongs to. Adapters find their per-request data this way, without a map
 * keyed by the request or a property on it: their hooks run inside the request's context.
 */
export function activeServerRequest(request: object): ServerRequest<unknown> | undefined {
  const state = getRequestState(context.active())
  const serverRequest = state?.serverRequest as ServerRequest<unknown> | undefined
  if (serverRequest === undefined) return undefined
  return serverRequest.request === request || serverRequest.req === request ? serverRequest : undefined
}
