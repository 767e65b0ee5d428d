import { context } from '@opentelemetry/api'
import { getRequestState, type RequestState, type ServerHooks } from '../correlation/request-state'
import { failOpen } from '../internal/guard'
import type { ServerRequest } from './types'

/**
 * The server lifecycle's side of the record's hooks (one object for all requests: no per-request
 * closures); propagation and correlation call these through the record.
 */
const SERVER_HOOKS: ServerHooks = {
  beforeInject(state) {
    const serverRequest = serverRequestOf(state)
    if (serverRequest === undefined) return
    failOpen('server.beforeInject', () => serverRequest.lifecycle.beforeInject(serverRequest), undefined)
  },
  userKnown(state, userId) {
    const serverRequest = serverRequestOf(state)
    if (serverRequest !== undefined) serverRequest.lifecycle.userKnown(serverRequest, userId)
  },
}

/** Links a request record to the lifecycle handle that owns it (a field of the record: no map entry). */
export function registerServerRequest(serverRequest: ServerRequest<unknown>): void {
  serverRequest.state.serverRequest = serverRequest
  serverRequest.state.serverHooks = SERVER_HOOKS
}

/** The lifecycle handle owning a request record, if a traceweave middleware started it. */
export function serverRequestOf(state: RequestState): ServerRequest<unknown> | undefined {
  return state.serverRequest as ServerRequest<unknown> | undefined
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
