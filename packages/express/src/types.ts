import type { NextFunction, Request, Response } from 'express'

// Express's own types, imported for types only: the adapter has no runtime dependency on express and
// works with whichever version the app uses. `@types/express` 4 and 5 both export these names; it is
// an optional peer dependency, so the app's copy is the one these resolve to.

/** An Express request, as the option callbacks get it: Express's own `Request`. */
export type ExpressRequest = Request

/** An Express response: Express's own `Response`. */
export type ExpressResponse = Response

/** Express's `next`. */
export type ExpressNext = NextFunction

/** A request middleware, as `app.use()` takes it. */
export type ExpressMiddleware = (req: ExpressRequest, res: ExpressResponse, next: ExpressNext) => void

/** An error middleware (four parameters), as `app.use()` takes it after the routes. */
export type ExpressErrorMiddleware = (
  error: unknown,
  req: ExpressRequest,
  res: ExpressResponse,
  next: ExpressNext,
) => void
