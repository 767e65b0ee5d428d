import { logger } from './diag'

const reportedFailures = new Set<string>()

/**
 * Fail open: runs `fn` and returns its result, or `fallback` if it throws. The first failure of each
 * `where` is reported through `diag`; the user's request never sees our error.
 */
export function failOpen<T>(where: string, fn: () => T, fallback: T): T {
  try {
    return fn()
  } catch (error) {
    reportFailure(where, error)
    return fallback
  }
}

/** Reports an internal failure once per `where` through `diag`. */
export function reportFailure(where: string, error: unknown): void {
  if (reportedFailures.has(where)) return
  reportedFailures.add(where)
  logger.error(`internal error in ${where}; tracing skipped this step, the request goes on`, error)
}
