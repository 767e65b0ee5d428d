import { createContextKey, type Context } from '@opentelemetry/api'

/**
 * The key of `@opentelemetry/core`'s `suppressTracing()`. The API's `createContextKey` is
 * `Symbol.for(description)`, so the same description yields the very same key without a dependency
 * on `@opentelemetry/core` (core stays API-only). Under it the SDK's tracer returns non-recording
 * spans and every OpenTelemetry propagator injects nothing: an exporter's own requests, or the inner
 * http/undici call below a traced fetch, carry no trace headers and start no second CLIENT span.
 */
export const SUPPRESS_TRACING_KEY = createContextKey('OpenTelemetry SDK Context Key SUPPRESS_TRACING')

/** True when tracing is suppressed in `ctx` (`suppressTracing()` from `@opentelemetry/core`). */
export function isTracingSuppressed(ctx: Context): boolean {
  return ctx.getValue(SUPPRESS_TRACING_KEY) === true
}

/** `ctx` with tracing suppressed, as `@opentelemetry/core`'s `suppressTracing()` does. */
export function suppressTracing(ctx: Context): Context {
  return ctx.setValue(SUPPRESS_TRACING_KEY, true)
}
