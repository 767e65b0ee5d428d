/**
 * Background process sampling of `setupTracing()`: CPU percent and RSS read with pidusage.
 *
 * @example `setupTracing({ resources: { sampleEveryMs: 10_000 } })`
 */
export interface ResourceSamplingOptions {
  /**
   * Milliseconds between two samples, 100 to 2,147,483,647. Default 5,000. The timer is `unref`ed
   * (it never keeps the process alive) and stops on `shutdown()`.
   */
  sampleEveryMs?: number
}

/** The option after validation; `undefined` when sampling is off (the default). */
export interface ResolvedResourceSampling {
  readonly sampleEveryMs: number
}

export const DEFAULT_SAMPLE_EVERY_MS = 5000
const MIN_SAMPLE_EVERY_MS = 100
// setInterval's limit: a longer delay is silently set to 1 ms by Node.
const MAX_SAMPLE_EVERY_MS = 2 ** 31 - 1

/**
 * Checks `setupTracing({ resources })`: `true` (sample every 5 s), `false`/absent (off), or
 * `{ sampleEveryMs }`. Throws naming the option and its valid values.
 */
export function resolveResourceSampling(value: unknown): ResolvedResourceSampling | undefined {
  if (value === undefined || value === false) return undefined
  if (value === true) return { sampleEveryMs: DEFAULT_SAMPLE_EVERY_MS }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(
      `setupTracing: option "resources" must be true, false or an object { sampleEveryMs }; got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`,
    )
  }
  for (const key of Object.keys(value)) {
    if (key !== 'sampleEveryMs') {
      throw new TypeError(`setupTracing: unknown key in option "resources" "${key}"; valid: sampleEveryMs`)
    }
  }
  const every = (value as ResourceSamplingOptions).sampleEveryMs
  if (every === undefined) return { sampleEveryMs: DEFAULT_SAMPLE_EVERY_MS }
  if (
    typeof every !== 'number' ||
    !Number.isInteger(every) ||
    every < MIN_SAMPLE_EVERY_MS ||
    every > MAX_SAMPLE_EVERY_MS
  ) {
    throw new RangeError(
      `setupTracing: option "resources.sampleEveryMs" must be an integer from ${MIN_SAMPLE_EVERY_MS} to ${MAX_SAMPLE_EVERY_MS}; got ${typeof every === 'number' ? every : typeof every}`,
    )
  }
  return { sampleEveryMs: every }
}
