import type { IncomingMessage, ServerResponse } from 'node:http'

// Structural types only: the adapter has no dependency on express and works with whichever
// version the app uses (4 or 5).

/** An Express request: Node's request plus whatever Express adds (`app`, `route`, `baseUrl`, ...). */
export type ExpressRequest = IncomingMessage & { [key: string]: any }

/** An Express response: Node's response plus Express's helpers. */
export type ExpressResponse = ServerResponse & { [key: string]: any }

/** Express's `next`. */
export type ExpressNext = (error?: unknown) => void

/** A request middleware, as `app.use()` takes it. */
export type ExpressMiddleware = (req: ExpressRequest, res: ExpressResponse, next: ExpressNext) => void

/** An error middleware (four parameters), as `app.use()` takes it after the routes. */
export type ExpressErrorMiddleware = (
  error: unknown,
  req: ExpressRequest,
  res: ExpressResponse,
  next: ExpressNext,
) => void
