import type { Context, Next } from 'koa'

// Koa's own types, imported for types only: the adapter has no runtime dependency on koa and works
// with Koa 2 and 3. `@types/koa` 2 and 3 both export these names; it is an optional peer dependency,
// so the app's copy is the one these resolve to.

/** The Koa application settings the adapter reads (`app.proxy` and its forwarded-header options). */
export interface KoaApplicationLike {
  proxy?: boolean
  proxyIpHeader?: string
  maxIpsCount?: number
}

/** A Koa context, as the option callbacks get it: Koa's own `Context`. */
export type KoaContext = Context

/** Koa's `next`. */
export type KoaNext = Next

/** A Koa middleware, as `app.use()` takes it. */
export type KoaMiddleware = (ctx: KoaContext, next: KoaNext) => Promise<void>
