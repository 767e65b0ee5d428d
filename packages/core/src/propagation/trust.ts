import { createContextKey, type Context, type SpanContext, type TextMapGetter } from '@opentelemetry/api'
import { reportFailure } from '../internal/guard'
import { invalidOption } from '../internal/validate'
import { KNOWN_TRACE_FLAGS } from './trace-flags'

/**
 * Whether to continue the caller's trace. `true` (the default) continues it; `false` always starts a
 * new trace, ignores the caller's `tracestate` and baggage, and keeps the caller's span context only
 * for a span link (see {@link getUntrustedParent}); a function decides per carrier. A propagator sees
 * only the headers, so this function form gets the carrier and getter; request-level policies (by
 * client address, route, ...) belong in the middleware, which calls `extractContext`.
 */
export type TrustIncoming = boolean | ((carrier: unknown, getter: TextMapGetter) => boolean)

const UNTRUSTED_PARENT_KEY = createContextKey('traceweave.untrusted-parent')

/**
 * The span context an untrusted caller sent, kept apart from the trace so the server span can link to
 * it instead of continuing it. `undefined` when the caller was trusted or sent nothing valid.
 *
 * @example const caller = getUntrustedParent(ctx); tracer.startSpan(name, { links: caller ? [{ context: caller }] : [] }, ctx)
 */
export function getUntrustedParent(ctx: Context): SpanContext | undefined {
  return ctx.getValue(UNTRUSTED_PARENT_KEY) as SpanContext | undefined
}

/**
 * A context that carries `parent` as an untrusted caller's span context: remote, with only the known
 * flag bits and without its `tracestate`, since nothing from an untrusted caller is propagated.
 */
export function setUntrustedParent(ctx: Context, parent: SpanContext): Context {
  const link: SpanContext = {
    traceId: parent.traceId,
    spanId: parent.spanId,
    traceFlags: parent.traceFlags & KNOWN_TRACE_FLAGS,
    isRemote: true,
  }
  return ctx.setValue(UNTRUSTED_PARENT_KEY, link)
}

/**
 * Applies a trust policy to a carrier. A policy function that throws is reported once and the caller
 * is treated as untrusted: a broken policy must not let a forged `traceparent` in.
 */
export function isIncomingTrusted<Carrier>(
  policy: TrustIncoming,
  carrier: Carrier,
  getter: TextMapGetter<Carrier>,
): boolean {
  if (typeof policy === 'boolean') return policy
  try {
    return policy(carrier, getter as TextMapGetter) === true
  } catch (error) {
    reportFailure('propagation.trustIncoming', error)
    return false
  }
}

/** Checks a `trustIncoming` option at setup; throws a `ConfigError` naming the option otherwise. */
export function checkTrustIncoming(value: unknown, optionName: string): TrustIncoming {
  if (value === undefined) return true
  if (typeof value === 'boolean' || typeof value === 'function') return value as TrustIncoming
  return invalidOption(optionName, 'true, false or a function (carrier, getter) => boolean', value)
}
