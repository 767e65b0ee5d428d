import {
  createServerLifecycle,
  type ProxyTrust,
  type ServerAdapter,
  type ServerRequest,
  type TraceweaveOptions,
} from '@traceweave/core'
import { activeServerRequest, tagMiddleware } from '@traceweave/core/internal'
import type { KoaApplicationLike, KoaContext, KoaMiddleware, KoaNext } from './types'

const TRUST_NONE: ProxyTrust = { trust: false }
const KOA_ADAPTER: ServerAdapter<KoaContext> = {
  framework: 'koa',
  readRoute: readKoaRoute,
  onStart: observeRoute,
}

// The route the router matched for a context traceweave does not trace (an ignored request); a traced
// request keeps it in its lifecycle handle's `adapterState`, with no map entry. Kept as the router
// wrote it (a string, or the RegExp of a RegExp route): code reading `ctx._matchedRoute` sees no change.
const untracedRoutes = new WeakMap<KoaContext, unknown>()
// The name of each RegExp route (`/\/test\/regex/`, as OpenTelemetry names it), computed once
// per route (keys are the app's route RegExps: bounded by its code, never by requests).
const regExpRouteNames = new WeakMap<RegExp, string>()
// App context prototypes that carry our `_matchedRoute` accessor.
const observedPrototypes = new WeakSet<object>()

/**
 * @koa/router writes the matched route (prefixes included) to `ctx._matchedRoute` just before the
 * route's handlers run. Observing that write makes it the "route known" moment, so spans the handlers
 * start already see the final span name and a deferred sampling decision sees the route. The accessor
 * is defined once on the app's context prototype (every `ctx` of the app inherits it), not per request.
 * Runs in the lifecycle's fail-open guard.
 */
function observeRoute(serverRequest: ServerRequest<KoaContext>): void {
  const ctx = serverRequest.request
  const prototype = Object.getPrototypeOf(ctx) as object | null
  if (prototype === null || observedPrototypes.has(prototype)) return
  observedPrototypes.add(prototype)
  Object.defineProperty(prototype, '_matchedRoute', {
    configurable: true,
    enumerable: false,
    get: getMatchedRoute,
    set: setMatchedRoute,
  })
}

// Shared accessors (no per-request closures): `this` is the context.
function getMatchedRoute(this: KoaContext): unknown {
  const serverRequest = activeServerRequest(this)
  if (serverRequest === undefined) return untracedRoutes.get(this)
  return serverRequest.adapterState
}

function setMatchedRoute(this: KoaContext, route: unknown): void {
  const serverRequest = activeServerRequest(this)
  if (serverRequest === undefined) {
    if (route === undefined) untracedRoutes.delete(this)
    else untracedRoutes.set(this, route)
    return
  }
  serverRequest.adapterState = route
  const name = routeName(route)
  if (name !== undefined) serverRequest.lifecycle.routeKnown(serverRequest, name)
}

/** A route path as @koa/router keeps it: a string template, or a RegExp named by its `toString()`. */
function routeName(route: unknown): string | undefined {
  if (typeof route === 'string') return route.length > 0 ? route : undefined
  if (!(route instanceof RegExp)) return undefined
  let name = regExpRouteNames.get(route)
  if (name === undefined) {
    name = route.toString()
    regExpRouteNames.set(route, name)
  }
  return name
}

/**
 * Traces every request of a Koa 2 or 3 app: a SERVER span named `METHOD /route/:template` (from
 * `@koa/router`, prefixes and nested routers included), request and session IDs, the user, and the
 * `http.server.request.duration` metric. Mount it first: errors are recorded as they unwind through
 * it and rethrown untouched to Koa's error handling. Options are checked here: an invalid one throws.
 *
 * @example app.use(traceweave({ user: (ctx) => ctx.get('x-user-id') }))
 */
export function traceweave(options: TraceweaveOptions<KoaContext> = {}): KoaMiddleware {
  const lifecycle = createServerLifecycle(options, KOA_ADAPTER)
  // `...rest` keeps the declared arity at 2: mounted in Express by mistake, we are called (req, res, next).
  return tagMiddleware(async function traceweaveMiddleware(
    ctx: KoaContext,
    next: KoaNext,
    ...rest: unknown[]
  ): Promise<void> {
    if (typeof next !== 'function') {
      // Express's next is the third argument: say so once, then let the request go on untraced.
      lifecycle.calledByWrongFramework()
      if (typeof rest[0] === 'function') (rest[0] as () => void)()
      return
    }
    const serverRequest = lifecycle.start(ctx.req, ctx.res, ctx, proxyTrustOf(ctx.app))
    if (serverRequest === undefined) {
      await next()
      return
    }
    try {
      await lifecycle.run(serverRequest, next)
    } catch (error) {
      lifecycle.recordError(serverRequest, error)
      throw error
    }
  }, lifecycle)
}

// @koa/router leaves the matched layer's full path (prefixes included) on the context.
function readKoaRoute(ctx: KoaContext): string | undefined {
  return routeName(ctx._matchedRoute)
}

function proxyTrustOf(app: KoaApplicationLike): ProxyTrust {
  // The same rule as ctx.ip: with app.proxy, the left-most address of the proxy header (bounded by maxIpsCount).
  if (app.proxy !== true) return TRUST_NONE
  const header = typeof app.proxyIpHeader === 'string' ? app.proxyIpHeader.toLowerCase() : 'x-forwarded-for'
  return { trust: true, forwardedForHeader: header, maxHops: app.maxIpsCount ?? 0 }
}
