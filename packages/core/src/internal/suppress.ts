import type { Context } from '@opentelemetry/api'
import { SUPPRESS_TRACING_KEY } from './otel-globals'

// The key is an OpenTelemetry internal: see otel-globals.ts.
export { SUPPRESS_TRACING_KEY }

/** True when tracing is suppressed in `ctx` (`suppressTracing()` from `@opentelemetry/core`). */
export function isTracingSuppressed(ctx: Context): boolean {
  return ctx.getValue(SUPPRESS_TRACING_KEY) === true
}

/** `ctx` with tracing suppressed, as `@opentelemetry/core`'s `suppressTracing()` does. */
export function suppressTracing(ctx: Context): Context {
  return ctx.setValue(SUPPRESS_TRACING_KEY, true)
}
