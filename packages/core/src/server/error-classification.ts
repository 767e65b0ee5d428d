import type { Exception } from '@opentelemetry/api'

/**
 * How an app error passing through the middleware is judged: whether it is the client's (a 4xx status
 * on the error), what the span records of it, and the `error.type` a 5xx response reports.
 */

/**
 * The HTTP status an error carries (`status`, else `statusCode`, as http-errors and Koa's `ctx.throw`
 * set them), when it is one from 400 to 599; `undefined` otherwise.
 */
export function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const { status, statusCode } = error as { status?: unknown; statusCode?: unknown }
  const value = typeof status === 'number' ? status : statusCode
  return typeof value === 'number' && value >= 400 && value <= 599 ? value : undefined
}

/** What `span.recordException` gets for anything thrown: errors and strings as they are, else its string. */
export function toException(error: unknown): Exception {
  if (error instanceof Error || typeof error === 'string') return error
  return String(error)
}

/**
 * The `error.type` of a 5xx response: the class of the error the app threw (`TypeError`, a custom
 * class; its `name` if the class has none), or the status code as a string when no Error was seen.
 */
export function errorTypeOf(error: unknown, status: number): string {
  if (error instanceof Error) {
    const constructorName = error.constructor?.name
    return typeof constructorName === 'string' && constructorName.length > 0 ? constructorName : error.name
  }
  return String(status)
}
