/**
 * @traceweave/express: traceweave middleware for Express 4 and 5, a thin adapter over the server
 * lifecycle of `@traceweave/core`.
 *
 * @packageDocumentation
 */

export { traceweave, traceweaveErrors } from './middleware'
export type {
  ExpressRequest,
  ExpressResponse,
  ExpressNext,
  ExpressMiddleware,
  ExpressErrorMiddleware,
} from './types'
export { identifyUser, getRequestId, CorrelationSpanProcessor } from '@traceweave/core'
export type { TraceweaveOptions } from '@traceweave/core'
