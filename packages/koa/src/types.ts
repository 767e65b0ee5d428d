import type { IncomingMessage, ServerResponse } from 'node:http'

// Structural types only: the adapter has no dependency on koa and works with Koa 2 and 3.

/** The Koa application settings the adapter reads (`app.proxy` and its forwarded-header options). */
export interface KoaApplicationLike {
  proxy?: boolean
  proxyIpHeader?: string
  maxIpsCount?: number
  [key: string]: any
}

/** A Koa context: Node's request and response, the app, and whatever routers and middleware add. */
export interface KoaContext {
  req: IncomingMessage
  res: ServerResponse
  app: KoaApplicationLike
  [key: string]: any
}

/** Koa's `next`. */
export type KoaNext = () => Promise<unknown>

/** A Koa middleware, as `app.use()` takes it. */
export type KoaMiddleware = (ctx: KoaContext, next: KoaNext) => Promise<void>
