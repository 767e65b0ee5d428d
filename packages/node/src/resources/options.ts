import { checkKeys, checkNumber, checkObject } from '@traceweave/core/internal'

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
  const options = checkObject('resources', value, 'true, false or an object { sampleEveryMs }')
  checkKeys('resources', options, ['sampleEveryMs'])
  const every = (options as ResourceSamplingOptions).sampleEveryMs
  if (every === undefined) return { sampleEveryMs: DEFAULT_SAMPLE_EVERY_MS }
  return {
    sampleEveryMs: checkNumber('resources.sampleEveryMs', every, {
      min: MIN_SAMPLE_EVERY_MS,
      max: MAX_SAMPLE_EVERY_MS,
      integer: true,
    }),
  }
}
