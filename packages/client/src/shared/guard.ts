import { diag } from '@opentelemetry/api'

/** The diag logger of the client, tagged like core's so users filter one namespace. */
export const logger = diag.createComponentLogger({ namespace: 'traceweave' })

// Bounded by the number of call sites passing a `where`, not by input.
const reportedFailures = new Set<string>()

/**
 * Reports an internal failure of the client once per `where`; the caller's request goes on. Mirrors
 * core's internal guard, which is not part of core's public API.
 */
export function reportFailure(where: string, error: unknown): void {
  if (reportedFailures.has(where)) return
  reportedFailures.add(where)
  logger.error(`internal error in ${where}; the call went on without this tracing step`, error)
}

/** Runs `fn`; on a throw, reports it and returns `fallback`. */
export function failOpen<T>(where: string, fn: () => T, fallback: T): T {
  try {
    return fn()
  } catch (error) {
    reportFailure(where, error)
    return fallback
  }
}
