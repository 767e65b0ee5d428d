import {
  ROOT_CONTEXT,
  isSpanContextValid,
  trace,
  type Context,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
} from '@opentelemetry/api'
import { reportFailure } from '../internal/guard'
import { invalidOption } from '../internal/validate'
import { BaggagePropagator } from './baggage'
import { TraceContextPropagator } from './propagator'
import {
  checkTrustIncoming,
  getUntrustedParent,
  isIncomingTrusted,
  setUntrustedParent,
  type TrustIncoming,
} from './trust'

/** Names of the formats traceweave implements itself (the `OTEL_PROPAGATORS` values it knows). */
export type PropagatorName = 'tracecontext' | 'baggage'

/** Options of {@link createTraceweavePropagator}. */
export interface TraceweavePropagatorOptions {
  /**
   * The formats, in order: `'tracecontext'`, `'baggage'`, or any `TextMapPropagator` (e.g. B3 from
   * `@opentelemetry/propagator-b3` for mixed fleets). On extract, later ones win where they overlap, as
   * in OpenTelemetry's `CompositePropagator`. Default `['tracecontext', 'baggage']`.
   */
  propagators?: ReadonlyArray<PropagatorName | TextMapPropagator>
  /**
   * Whether to continue the caller's trace (see {@link TrustIncoming}); applies to all formats, so an
   * untrusted caller's baggage and B3 headers are dropped as well. Default `true`.
   */
  trustIncoming?: TrustIncoming
  /** See {@link TraceContextPropagatorOptions.assumeRandomTraceIds}. Default `true`. */
  assumeRandomTraceIds?: boolean
}

class TraceweavePropagator implements TextMapPropagator {
  constructor(
    private readonly propagators: readonly TextMapPropagator[],
    private readonly trustIncoming: TrustIncoming,
  ) {}

  inject(ctx: Context, carrier: unknown, setter: TextMapSetter): void {
    for (const propagator of this.propagators) {
      try {
        propagator.inject(ctx, carrier, setter)
      } catch (error) {
        reportFailure('propagation.inject', error)
      }
    }
  }

  extract(ctx: Context, carrier: unknown, getter: TextMapGetter): Context {
    try {
      if (isIncomingTrusted(this.trustIncoming, carrier, getter)) return this.extractAll(ctx, carrier, getter)
      // Read everything into a scratch context and keep only the caller's span context, for a link.
      const scratch = this.extractAll(ROOT_CONTEXT, carrier, getter)
      const caller = trace.getSpanContext(scratch) ?? getUntrustedParent(scratch)
      return caller !== undefined && isSpanContextValid(caller) ? setUntrustedParent(ctx, caller) : ctx
    } catch (error) {
      reportFailure('propagation.extract', error)
      return ctx
    }
  }

  fields(): string[] {
    const fields = new Set<string>()
    for (const propagator of this.propagators) for (const field of propagator.fields()) fields.add(field)
    return [...fields]
  }

  private extractAll(ctx: Context, carrier: unknown, getter: TextMapGetter): Context {
    let result = ctx
    for (const propagator of this.propagators) {
      try {
        result = propagator.extract(result, carrier, getter)
      } catch (error) {
        reportFailure('propagation.extract', error)
      }
    }
    return result
  }
}

/**
 * The propagator `setupTracing()` registers: W3C Trace Context and W3C Baggage by default (or the
 * formats named in `propagators`), with one trust policy over all of them. Bad options throw a
 * TypeError naming the option.
 *
 * @example propagation.setGlobalPropagator(createTraceweavePropagator({ trustIncoming: false }))
 */
export function createTraceweavePropagator({
  propagators = ['tracecontext', 'baggage'],
  trustIncoming,
  assumeRandomTraceIds = true,
}: TraceweavePropagatorOptions = {}): TextMapPropagator {
  const policy = checkTrustIncoming(trustIncoming, 'propagation.trustIncoming')
  if (!Array.isArray(propagators)) {
    invalidOption(
      'propagation.propagators',
      "an array of 'tracecontext', 'baggage' or TextMapPropagators",
      propagators,
    )
  }
  const resolved = propagators.map((entry, index): TextMapPropagator => {
    if (entry === 'tracecontext') return new TraceContextPropagator({ assumeRandomTraceIds })
    if (entry === 'baggage') return new BaggagePropagator()
    if (
      entry !== null &&
      typeof entry === 'object' &&
      typeof entry.inject === 'function' &&
      typeof entry.extract === 'function' &&
      typeof entry.fields === 'function'
    ) {
      return entry
    }
    return invalidOption(
      `propagation.propagators[${index}]`,
      "'tracecontext', 'baggage' or a TextMapPropagator (an object with inject(), extract() and fields())",
      entry,
    )
  })
  return new TraceweavePropagator(resolved, policy)
}
