import { context, type Context } from '@opentelemetry/api'
import { getRequestState, type RequestState } from '../correlation/request-state'
import { failOpen } from '../internal/guard'
import type { ServerRequest } from './types'

// Keyed by the record, so it goes when the request does.
const serverRequests = new WeakMap<RequestState, ServerRequest<any>>()

/** Links a request record to the lifecycle handle that owns it. */
export function registerServerRequest(serverRequest: ServerRequest<any>): void {
  serverRequests.set(serverRequest.state, serverRequest)
}

/** The lifecycle handle owning a request record, if a traceweave middleware started it. */
export function serverRequestOf(state: RequestState): ServerRequest<any> | undefined {
  return serverRequests.get(state)
}

/**
 * The "before an outgoing inject" moment: the propagator calls it right before writing trace headers,
 * so a sampling decision that waits for the route sees it. A no-op outside a traced request.
 */
export function beforeOutgoingInject(ctx: Context = context.active()): void {
  const state = getRequestState(ctx)
  if (state === undefined) return
  const serverRequest = serverRequests.get(state)
  if (serverRequest === undefined) return
  failOpen('server.beforeInject', () => serverRequest.lifecycle.beforeInject(serverRequest), undefined)
}
