import type { ServerRequest } from '@traceweave/core'
import { activeServerRequest } from '@traceweave/core/internal'
import type { ExpressRequest } from './types'

/**
 * Route templates for Express.
 *
 * Express keeps the matched route's own path (`req.route.path`) but not the patterns its routers were
 * mounted at (`req.baseUrl` is the real path, `/teams/42`). So the first time a request of an app
 * reaches our middleware, we wrap the handle of every layer of its router tree, once per layer:
 * - a layer mounting a router pushes its mount pattern on the request's stack when the request enters
 *   it and pops it when the request leaves through `next`;
 * - a route layer reports `mount patterns + req.route.path` (`/teams/:teamId/users/:id`) as the route.
 * The stack lives in the request's lifecycle handle (found through the active context), never on the
 * request: Express replaces the prototype of every request, so any property added to it is costly.
 * Layers added later are picked up the next time a request passes their router (their stack length
 * changed).
 *
 * Mount patterns: Express 5 (router >= 2.3) keeps them as `layer.rawPath`. Express 4 keeps only the
 * compiled RegExp, so the pattern is rebuilt from the matched path: each parameter's match (located
 * with the RegExp's `d` flag) is replaced by `:name`. When a pattern cannot be known (a RegExp mount,
 * an array of paths), the route stays unknown rather than guessed: the span is named `METHOD`.
 */

/** What the Express adapter keeps per traced request (in the lifecycle handle's `adapterState`). */
export interface ExpressRecord {
  readonly serverRequest: ServerRequest<ExpressRequest>
  /** Mount patterns of the routers the request is in, outermost first; `undefined` when unknowable. */
  readonly mounts: Array<string | undefined>
}

/**
 * The adapter's record of a traced request, found through the active context (router layers run inside
 * the request's context): no map keyed by `req` and no property on it, both costly per request.
 */
export function recordOf(req: ExpressRequest): ExpressRecord | undefined {
  return activeServerRequest(req)?.adapterState as ExpressRecord | undefined
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

type Handle = (this: unknown, req: ExpressRequest, res: unknown, next: (error?: unknown) => void) => unknown

// How many layers of each router were instrumented; a longer stack means layers were added since.
const instrumentedLengths = new WeakMap<object, number>()
const ourWrappers = new WeakSet<object>()

/** Instruments the router tree of `app` (Express 4 or 5) unless already done. Idempotent. */
export function instrumentApp(app: unknown): void {
  const router = appRouter(app)
  if (router !== undefined) instrumentRouter(router)
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
    layer.handle = wrapRoute(handle as Handle)
  } else if (isRouter(handle)) {
    layer.handle = wrapMount(layer, handle)
    instrumentRouter(handle)
  }
}

function wrapRoute(original: Handle): Handle {
  const wrapper = function traceweaveRoute(
    this: unknown,
    req: ExpressRequest,
    res: unknown,
    next: (error?: unknown) => void,
  ) {
    const record = recordOf(req)
    if (record !== undefined) routeEntered(record, req)
    return original.call(this, req, res, next)
  }
  ourWrappers.add(wrapper)
  return wrapper
}

function routeEntered(record: ExpressRecord, req: ExpressRequest): void {
  const routePath = (req.route as { path?: unknown } | undefined)?.path
  if (typeof routePath !== 'string') return
  let prefix = ''
  for (const mount of record.mounts) {
    if (mount === undefined) return
    prefix += mount
  }
  const route = prefix === '' ? routePath : routePath === '/' ? prefix : prefix + routePath
  const { serverRequest } = record
  serverRequest.lifecycle.routeKnown(serverRequest, route)
}

function wrapMount(layer: LayerLike, original: RouterLike): Handle {
  const readPattern = mountPatternReader(layer)
  const wrapper = function traceweaveRouter(
    this: unknown,
    req: ExpressRequest,
    res: unknown,
    next: (error?: unknown) => void,
  ) {
    const record = recordOf(req)
    if (record === undefined) return original.call(this, req, res, next)
    const mounts = record.mounts
    mounts.push(normalizeMount(readPattern(layer)))
    instrumentRouter(original)
    const depth = mounts.length
    // One closure per router entered (not per layer): it pops the mount when the request leaves.
    return original.call(this, req, res, function traceweaveRouterExit(error?: unknown) {
      mounts.length = depth - 1
      next(error)
    })
  }
  // Code that walks the router tree (listRoutes, route listers) still finds stack, params, ...
  Object.setPrototypeOf(wrapper, original)
  ourWrappers.add(wrapper)
  return wrapper
}

function mountPatternReader(layer: LayerLike): (layer: LayerLike) => string | undefined {
  if ('rawPath' in layer) return readRawPath
  if (layer.regexp instanceof RegExp && Array.isArray(layer.keys)) {
    const withIndices = new RegExp(layer.regexp.source, `${layer.regexp.flags.replace(/[gy]/g, '')}d`)
    return (current) => rebuildPattern(current, withIndices)
  }
  return readStaticPath
}

function readRawPath(layer: LayerLike): string | undefined {
  return typeof layer.rawPath === 'string' ? layer.rawPath : undefined
}

function readStaticPath(layer: LayerLike): string | undefined {
  return Array.isArray(layer.keys) && layer.keys.length === 0 && typeof layer.path === 'string'
    ? layer.path
    : undefined
}

/** Express 4: the matched path with each parameter's value replaced by `:name`. */
function rebuildPattern(layer: LayerLike, withIndices: RegExp): string | undefined {
  const matched = layer.path
  const keys = layer.keys
  if (typeof matched !== 'string' || keys === undefined) return undefined
  if (keys.length === 0) return matched
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
  return pattern + matched.slice(last)
}

function normalizeMount(pattern: string | undefined): string | undefined {
  if (pattern === undefined) return undefined
  return pattern.endsWith('/') ? pattern.slice(0, -1) : pattern
}
