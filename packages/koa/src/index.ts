/**
 * @traceweave/koa: traceweave middleware for Koa 2 and 3, a thin adapter over the server lifecycle of
 * `@traceweave/core`.
 *
 * @packageDocumentation
 */

export { traceweave } from './middleware'
export type { KoaContext, KoaNext, KoaMiddleware, KoaApplicationLike } from './types'
export { identifyUser, getRequestId, CorrelationSpanProcessor } from '@traceweave/core'
export type { TraceweaveOptions } from '@traceweave/core'
