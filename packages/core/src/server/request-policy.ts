import { failOpen } from '../internal/guard'
import type { ResolvedServerOptions } from './options'

/**
 * What the app's options decide about a request before it is traced: whether it is traced at all, and
 * whether its caller's trace context is believed. The app's own functions run fail-open here.
 */

/**
 * Whether the `ignore` options (paths, patterns, a function) leave `path` / `request` untraced. The
 * lifecycle calls it only when one of them is set.
 */
export function isIgnored<Request>(
  options: ResolvedServerOptions<Request>,
  path: string,
  request: Request,
): boolean {
  const { ignorePaths, ignorePatterns, ignoreRequest } = options
  if (ignorePaths.has(path)) return true
  for (const pattern of ignorePatterns) if (pattern.test(path)) return true
  return (
    ignoreRequest !== undefined && failOpen('options.ignore', () => ignoreRequest(request) === true, false)
  )
}

/** Whether the `trustIncoming` option believes this request's caller (its traceparent, its baggage). */
export function isTrusted<Request>(options: ResolvedServerOptions<Request>, request: Request): boolean {
  const trust = options.trustIncoming
  if (typeof trust === 'boolean') return trust
  // A policy that throws must not let a forged traceparent in: treat the caller as untrusted.
  return failOpen('options.trustIncoming', () => trust(request) === true, false)
}
