import { diag } from '@opentelemetry/api'

/** The diag logger every traceweave module reports through, tagged with our name. */
export const logger = diag.createComponentLogger({ namespace: 'traceweave' })

const reported = new Set<string>()

/**
 * Reports a message once per `key` for the life of the process, so a fault that repeats on every
 * request does not flood the logs. The key set is bounded by the number of call sites, not by input.
 */
export function warnOnce(key: string, message: string, ...args: unknown[]): void {
  if (reported.has(key)) return
  reported.add(key)
  logger.warn(message, ...args)
}
