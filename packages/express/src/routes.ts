import type { ServerRequest } from '@traceweave/core'
import { activeServerRequest, reportFailure } from '@traceweave/core/internal'
import { nameOfExpressPath, readCompiledMount } from './layer-names'
import type { ExpressRequest } from './types'

/**
 * Route templates for Express.
 *
 * Express keeps the matched route's own path (`req.route.path`) but not the patterns its routers were
 * mounted at (`req.baseUrl` is the real path, `/teams/42`). So the first time a request of an app
 * reaches our middleware, we wrap the handle of the layers of its router tree, once per layer:
 * - a layer mounted at a path (a router, a sub-app, or middleware at `app.use('/x', fn)`) pushes its
 *   name on the request's stack when the request enters it and pops it when the request leaves
 *   through `next`; middleware that answers the request never leaves, so at the end the stack still
 *   names it;
 * - a route layer reports `mount names + route name` (`/teams/:teamId/users/:id`) as the route.
 * The name of a layer is computed once, when it is first instrumented (see layer-names.ts), except for
 * Express 4 patterns it cannot read back from the compiled RegExp.
 * The stack lives in the request's lifecycle handle (found through the active context), never on the
 * request: Express replaces the prototype of every request, so any property added to it is costly.
 * Layers added later are picked up the next time a request passes their router (their stack length
 * changed). Sub-apps: the router `handle` shared by all routers of an Express copy is wrapped once, so
 * a router we could not reach from its mount (a sub-app's, hidden in Express's `mounted_app` closure)
 * is instrumented when it starts handling a request.
 */

/** What the Express adapter keeps per traced request (in the lifecycle handle's `adapterState`). */
export interface ExpressRecord {
  readonly serverRequest: ServerRequest<ExpressRequest>
  /** Names of the path-mounted layers the request is in, outermost first; `undefined` when unknowable. */
  readonly mounts: Array<string | undefined>
  /** Set once a route layer reported the route: the mount stack no longer names the request. */
  routed: boolean
}

/**
 * The adapter's record of a traced request, found through the active context (router layers run inside
 * the request's context): no map keyed by `req` and no property on it, both costly per request.
 */
export function recordOf(req: ExpressRequest): ExpressRecord | undefined {
  return activeServerRequest(req)?.adapterState as ExpressRecord | undefined
}

/**
 * The route of a request answered by middleware mounted at a path (no route layer reached): the names
 * of the mounts it is still in. Only once the response has started, so middleware that is merely
 * passed through (auth at `/api`, then a 404) never names the request.
 */
export function readMountRoute(serverRequest: ServerRequest<ExpressRequest>): string | undefined {
  const record = serverRequest.adapterState as ExpressRecord | undefined
  if (record === undefined || record.routed || record.mounts.length === 0) return undefined
  if (!serverRequest.res.headersSent) return undefined
  const route = joinMounts(record.mounts)
  return route === '' ? undefined : route
}

interface LayerLike {
  handle: unknown
  route?: { path?: unknown }
  rawPath?: unknown
  regexp?: unknown
  keys?: Array<{ name?: unknown }>
  path?: unknown
}

interface RouterLike {
  (req: ExpressRequest, res: unknown, next: (error?: unknown) => void): void
  stack: LayerLike[]
}

type Next = (error?: unknown) => void
type Handle = (this: unknown, req: ExpressRequest, res: unknown, next: Next) => unknown

/** A mount's name: fixed, or (Express 4 patterns that cannot be read back) rebuilt per request. */
type MountName = string | undefined | ((layer: LayerLike) => string | undefined)

// How many layers of each router were instrumented; a longer stack means layers were added since.
const instrumentedLengths = new WeakMap<object, number>()
const ourWrappers = new WeakSet<object>()
// Objects owning the `handle` method of routers (Express 4's router proto, Express 5's Router.prototype).
const wrappedHandleOwners = new WeakSet<object>()

/**
 * Instruments the router tree of `app` (Express 4 or 5) unless already done. Idempotent. Returns `true`
 * once the routers' shared `handle` is wrapped: from then on each router checks its own layers when a
 * request enters it, so the caller need not call again for this app.
 */
export function instrumentApp(app: unknown): boolean {
  const router = appRouter(app)
  if (router === undefined) return false
  const followed = wrapSharedHandle(router)
  instrumentRouter(router)
  return followed
}

function appRouter(app: unknown): RouterLike | undefined {
  if (typeof app !== 'function' && (typeof app !== 'object' || app === null)) return undefined
  const candidate = app as { _router?: unknown; router?: unknown }
  // Express 4 keeps its router in `_router` (its `router` getter throws); Express 5 in `router`.
  if (isRouter(candidate._router)) return candidate._router
  if ('_router' in candidate) return undefined
  const router = candidate.router
  return isRouter(router) ? router : undefined
}

function isRouter(value: unknown): value is RouterLike {
  return typeof value === 'function' && Array.isArray((value as { stack?: unknown }).stack)
}

/** Wraps, once per Express copy, the `handle` every router of that copy inherits (see above). */
function wrapSharedHandle(router: RouterLike): boolean {
  let owner = Object.getPrototypeOf(router) as Record<string, unknown> | null
  while (owner !== null && !Object.prototype.hasOwnProperty.call(owner, 'handle')) {
    owner = Object.getPrototypeOf(owner) as Record<string, unknown> | null
  }
  if (owner === null || (owner as unknown) === Function.prototype) return false
  if (wrappedHandleOwners.has(owner)) return true
  const original = owner.handle
  if (typeof original !== 'function') return false
  wrappedHandleOwners.add(owner)
  owner.handle = function traceweaveRouterHandle(this: unknown, req: unknown, res: unknown, done: unknown) {
    if (isRouter(this)) followRouter(this)
    return (original as (...args: unknown[]) => unknown).call(this, req, res, done)
  }
  return true
}

/** instrumentRouter on a request's way: a failure leaves routes unknown and never fails the request. */
function followRouter(router: RouterLike): void {
  try {
    instrumentRouter(router)
  } catch (error) {
    reportFailure('express.routes', error)
  }
}

function instrumentRouter(router: RouterLike): void {
  const stack = router.stack
  if (instrumentedLengths.get(router) === stack.length) return
  instrumentedLengths.set(router, stack.length)
  for (const layer of stack) instrumentLayer(layer)
}

function instrumentLayer(layer: LayerLike): void {
  const handle = layer.handle
  if (typeof handle !== 'function' || ourWrappers.has(handle)) return
  if (layer.route !== undefined) {
    layer.handle = wrapRoute(handle as Handle, nameOfExpressPath(layer.route.path))
  } else if (isRouter(handle)) {
    layer.handle = wrapMount(mountNameOf(layer), handle, handle, layer)
    instrumentRouter(handle)
  } else if (handle.length <= 3) {
    // Middleware (or a sub-app) at a path; at the root it cannot name anything: left unwrapped, free.
    const name = mountNameOf(layer)
    if (name !== '') layer.handle = wrapMount(name, handle as Handle, undefined, layer)
  }
}

function wrapRoute(original: Handle, name: string | undefined): Handle {
  const wrapper = function traceweaveRoute(this: unknown, req: ExpressRequest, res: unknown, next: Next) {
    if (name !== undefined) {
      const record = recordOf(req)
      if (record !== undefined) routeEntered(record, name)
    }
    return original.call(this, req, res, next)
  }
  ourWrappers.add(wrapper)
  return wrapper
}

function routeEntered(record: ExpressRecord, name: string): void {
  const prefix = joinMounts(record.mounts)
  if (prefix === undefined) return
  const route = prefix === '' ? name : name === '/' ? prefix : joinPath(prefix, name)
  record.routed = true
  const { serverRequest } = record
  serverRequest.lifecycle.routeKnown(serverRequest, route)
}

/** The mount names joined (`undefined` if one is unknowable), one `/` where two would meet. */
function joinMounts(mounts: Array<string | undefined>): string | undefined {
  let prefix = ''
  for (const mount of mounts) {
    if (mount === undefined) return undefined
    prefix = joinPath(prefix, mount)
  }
  return prefix
}

function joinPath(left: string, right: string): string {
  return left.endsWith('/') && right.startsWith('/') ? left + right.slice(1) : left + right
}

function wrapMount(
  name: MountName,
  original: Handle,
  router: RouterLike | undefined,
  layer: LayerLike,
): Handle {
  const wrapper = function traceweaveMount(this: unknown, req: ExpressRequest, res: unknown, next: Next) {
    const record = recordOf(req)
    if (record === undefined) return original.call(this, req, res, next)
    const mounts = record.mounts
    mounts.push(typeof name === 'function' ? name(layer) : name)
    if (router !== undefined) followRouter(router)
    const depth = mounts.length
    // One closure per mount entered (not per layer): it pops the mount when the request leaves.
    return original.call(this, req, res, function traceweaveMountExit(error?: unknown) {
      mounts.length = depth - 1
      next(error)
    })
  }
  // Code that walks the router tree (listRoutes, route listers) still finds stack, params, ...
  Object.setPrototypeOf(wrapper, original)
  ourWrappers.add(wrapper)
  return wrapper
}

/** The name of a layer mounted at a path, computed once; a function when it must be read per request. */
function mountNameOf(layer: LayerLike): MountName {
  // Express 5 (router >= 2.3) keeps the path as given.
  if ('rawPath' in layer) {
    const raw = layer.rawPath
    return typeof raw === 'string' ? trimTrailingSlash(raw) : nameOfExpressPath(raw)
  }
  // Express 4 keeps only the compiled RegExp.
  const regexp = layer.regexp
  if (regexp instanceof RegExp && Array.isArray(layer.keys)) {
    const compiled = readCompiledMount(regexp, layer.keys)
    if (compiled.kind === 'path') return trimTrailingSlash(compiled.name)
    if (compiled.kind === 'name') return compiled.name
    if (compiled.kind === 'unknown') return undefined
    const withIndices = new RegExp(regexp.source, `${regexp.flags.replace(/[gy]/g, '')}d`)
    return (current) => rebuildPattern(current, withIndices)
  }
  return readStaticPath
}

function readStaticPath(layer: LayerLike): string | undefined {
  return Array.isArray(layer.keys) && layer.keys.length === 0 && typeof layer.path === 'string'
    ? trimTrailingSlash(layer.path)
    : undefined
}

/** Express 4: the matched path with each parameter's value replaced by `:name`. */
function rebuildPattern(layer: LayerLike, withIndices: RegExp): string | undefined {
  const matched = layer.path
  const keys = layer.keys
  if (typeof matched !== 'string' || keys === undefined) return undefined
  if (keys.length === 0) return trimTrailingSlash(matched)
  const match = withIndices.exec(matched)
  const indices = match?.indices
  if (indices === undefined || indices.length - 1 !== keys.length) return undefined
  let pattern = ''
  let last = 0
  for (let i = 1; i < indices.length; i++) {
    const span = indices[i]
    if (span === undefined) continue
    pattern += `${matched.slice(last, span[0])}:${String(keys[i - 1].name)}`
    last = span[1]
  }
  return trimTrailingSlash(pattern + matched.slice(last))
}

/** A path mount loses its trailing slash: `/api/` and `/api` are one mount, `/` is none (''). */
function trimTrailingSlash(path: string): string {
  return path.endsWith('/') ? path.slice(0, -1) : path
}
