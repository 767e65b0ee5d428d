import type { TextMapPropagator } from '@opentelemetry/api'
import { createTraceweavePropagator, type TrustIncoming } from '@traceweave/core'
import { B3InjectEncoding, B3Propagator } from '@opentelemetry/propagator-b3'
import { logger } from '@traceweave/core/internal'

/**
 * Header formats `setupTracing({ propagators })` and `OTEL_PROPAGATORS` know.
 *
 * @example `setupTracing({ propagators: ['tracecontext', 'baggage', 'b3multi'] })`
 */
export type PropagatorName = 'tracecontext' | 'baggage' | 'b3' | 'b3multi'

export const PROPAGATOR_NAMES: readonly PropagatorName[] = ['tracecontext', 'baggage', 'b3', 'b3multi']
const DEFAULT_PROPAGATORS: readonly PropagatorName[] = ['tracecontext', 'baggage']

// The one place a name becomes a propagator: W3C Trace Context and Baggage are core's own (strict,
// Level 2 random flag); B3 comes from the official package, for mixed fleets.
const FACTORIES: Record<PropagatorName, () => 'tracecontext' | 'baggage' | TextMapPropagator> = {
  tracecontext: () => 'tracecontext',
  baggage: () => 'baggage',
  b3: () => new B3Propagator({ injectEncoding: B3InjectEncoding.SINGLE_HEADER }),
  b3multi: () => new B3Propagator({ injectEncoding: B3InjectEncoding.MULTI_HEADER }),
}

/**
 * Chooses the propagators: the `propagators` option (already validated) beats `OTEL_PROPAGATORS`
 * (comma list, `none` for no propagation), which beats `tracecontext,baggage`. Unknown names in the
 * environment are skipped with a diag warning (all unknown: the default). Returns `undefined` when nothing should be registered.
 */
export function createPropagator(
  fromOptions: readonly PropagatorName[] | undefined,
  trustIncoming: TrustIncoming | undefined,
): TextMapPropagator | undefined {
  const names = fromOptions ?? propagatorNamesFromEnv()
  if (names.length === 0) return undefined
  // One trust policy for every format: an untrusted caller cannot join a trace through B3 either.
  return createTraceweavePropagator({ propagators: names.map((name) => FACTORIES[name]()), trustIncoming })
}

function propagatorNamesFromEnv(): readonly PropagatorName[] {
  const raw = process.env.OTEL_PROPAGATORS?.trim()
  if (!raw) return DEFAULT_PROPAGATORS
  const names = new Set<PropagatorName>()
  let none = false
  for (const part of raw.toLowerCase().split(',')) {
    const name = part.trim()
    if (name === 'none') none = true
    if (name === '' || name === 'none') continue
    if ((PROPAGATOR_NAMES as readonly string[]).includes(name)) {
      names.add(name as PropagatorName)
    } else {
      logger.warn(
        `OTEL_PROPAGATORS: unknown propagator ${JSON.stringify(name.slice(0, 40))} skipped; ` +
          `known: ${[...PROPAGATOR_NAMES, 'none'].join(', ')}`,
      )
    }
  }
  // A list of nothing but typos keeps the default rather than silently switching propagation off.
  if (names.size === 0 && !none) return DEFAULT_PROPAGATORS
  return [...names]
}
