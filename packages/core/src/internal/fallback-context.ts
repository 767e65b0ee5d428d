import { AsyncLocalStorage } from 'node:async_hooks'
import type { Context } from '@opentelemetry/api'
import { hasContextManager } from './otel-globals'

/**
 * Where a request's context lives when no OpenTelemetry context manager is registered (the app did not
 * call `setupTracing()`): without one, `context.with()` runs the handler in the root context and
 * `getRequestId()` would find nothing. Private to traceweave, so it never competes with a context
 * manager the app registers later; once one is registered, it is used instead.
 */
const store = new AsyncLocalStorage<Context>()

/** Runs `fn` with `ctx` as the request's context: through OpenTelemetry when it can, else our store. */
export function runInRequestContext<T>(
  ctx: Context,
  fn: () => T,
  withContext: (ctx: Context, fn: () => T) => T,
): T {
  return hasContextManager() ? withContext(ctx, fn) : store.run(ctx, fn)
}

/** The request context our store holds for the running code, when no context manager is registered. */
export function fallbackContext(): Context | undefined {
  return store.getStore()
}
