import { TraceweaveSampler, type SamplingOptions } from '@traceweave/core'
import { logger } from '@traceweave/core/internal'

/**
 * The sampler `setupTracing()` installs: traceweave's, configured by the `sampling` option, else by
 * `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG` mapped onto it (so `traceidratio` uses our
 * consistent ratio rule on the trace ID's rightmost 56 bits), else parent-based, keep all.
 */
export function createSampler(sampling: SamplingOptions | undefined): TraceweaveSampler {
  return new TraceweaveSampler(sampling ?? samplingFromEnv())
}

/** The standard `OTEL_TRACES_SAMPLER` values as traceweave sampling options. */
export function samplingFromEnv(env: NodeJS.ProcessEnv = process.env): SamplingOptions {
  const name = env.OTEL_TRACES_SAMPLER?.trim().toLowerCase()
  if (!name) return {}
  const ratio = () => ratioFromEnv(env.OTEL_TRACES_SAMPLER_ARG)
  switch (name) {
    case 'always_on':
      return { respectParent: false, ratio: 1 }
    case 'always_off':
      return { respectParent: false, ratio: 0 }
    case 'traceidratio':
      return { respectParent: false, ratio: ratio() }
    case 'parentbased_always_on':
      return { respectParent: true, ratio: 1 }
    case 'parentbased_always_off':
      return { respectParent: true, ratio: 0 }
    case 'parentbased_traceidratio':
      return { respectParent: true, ratio: ratio() }
    default:
      logger.warn(
        `OTEL_TRACES_SAMPLER: unknown sampler ${JSON.stringify(name.slice(0, 40))}; using parentbased_always_on. ` +
          'Known: always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio',
      )
      return {}
  }
}

function ratioFromEnv(raw: string | undefined): number {
  const value = raw === undefined || raw.trim() === '' ? 1 : Number(raw)
  if (Number.isFinite(value) && value >= 0 && value <= 1) return value
  logger.warn(
    `OTEL_TRACES_SAMPLER_ARG must be a ratio within 0..1; got ${JSON.stringify(String(raw).slice(0, 40))}, using 1`,
  )
  return 1
}
