/**
 * Whether tracing is deliberately off in this process. `setupTracing()` sets it from its `disabled`
 * option (and `OTEL_SDK_DISABLED`); without a setup, `OTEL_SDK_DISABLED=true` decides. Module state of
 * the one CommonJS copy of core, so every adapter sees the same flag.
 */
let disabledFlag: boolean | undefined
// OTEL_SDK_DISABLED is read once: the environment is set before start, and the check runs per request.
let disabledByEnv: boolean | undefined

/**
 * `true` when tracing is off: `setupTracing({ disabled: true })`, `setTracingDisabled(true)`, or no
 * setup and `OTEL_SDK_DISABLED=true`. The middlewares then pass requests through untouched.
 *
 * @example if (isTracingDisabled()) console.log('tracing is off')
 */
export function isTracingDisabled(): boolean {
  return disabledFlag ?? (disabledByEnv ??= isDisabledByEnv())
}

/**
 * Turns the middlewares and client wrappers into pass-throughs (`true`), back on (`false`), or back to
 * following `OTEL_SDK_DISABLED` (`undefined`). `setupTracing()` calls it; call it yourself when you
 * build your own OpenTelemetry provider and want the same switch.
 *
 * @example setTracingDisabled(process.env.TRACING === 'off')
 */
export function setTracingDisabled(disabled: boolean | undefined): void {
  disabledFlag = disabled
}

/** `OTEL_SDK_DISABLED=true` (case-insensitive), as the OpenTelemetry spec defines it. */
export function isDisabledByEnv(): boolean {
  return process.env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true'
}
