/**
 * The one module that reads OpenTelemetry's API internals: the API's global registry
 * (`Symbol.for('opentelemetry.js.api.1')`), where `diag.setLogger()` stores the app's logger and
 * `context.setGlobalContextManager()` its context manager. The API has no getter for "is one installed",
 * which is all we ask. A registry of another major lives under another key and reads as "none".
 */
const API_GLOBAL_KEY = Symbol.for('opentelemetry.js.api.1')

function registry(): { diag?: unknown; context?: unknown } | undefined {
  return (globalThis as Record<symbol, { diag?: unknown; context?: unknown } | undefined>)[API_GLOBAL_KEY]
}

/** Whether the app installed an OpenTelemetry diag logger (`diag.setLogger(...)`). */
export function appHasDiagLogger(): boolean {
  return registry()?.diag !== undefined
}

/** Whether a context manager is registered (`setupTracing()` registers one; so does the NodeSDK). */
export function hasContextManager(): boolean {
  return registry()?.context !== undefined
}
