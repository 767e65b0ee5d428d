import { createContextKey, type Span, type Tracer, type TracerProvider } from '@opentelemetry/api'

/**
 * The one module of @traceweave/core that reads OpenTelemetry internals: what the public API offers no
 * way to ask. Each entry names the versions it was checked against and the test that guards it
 * (test/otel-internals.test.ts checks every one against the installed packages, so a change upstream
 * fails there instead of misbehaving silently). Nothing else in core may reach past the API.
 */

/**
 * The API's global registry (`Symbol.for('opentelemetry.js.api.1')`), where `diag.setLogger()` stores
 * the app's logger and `context.setGlobalContextManager()` its context manager; the API has no getter
 * for "is one installed". A registry of another major lives under another key and reads as "none".
 * Checked against @opentelemetry/api 1.9.0.
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

/**
 * The key of `@opentelemetry/core`'s `suppressTracing()`. `createContextKey` is `Symbol.for(description)`,
 * so the same description is the very same key, without depending on `@opentelemetry/core`.
 * Checked against @opentelemetry/core 2.12.0.
 */
export const SUPPRESS_TRACING_KEY = createContextKey('OpenTelemetry SDK Context Key SUPPRESS_TRACING')

/**
 * The own symbol property under which the AsyncLocalStorage context manager keeps the listener map of
 * an emitter it bound (`context.bind(ctx, emitter)`), found by its description.
 * Checked against @opentelemetry/context-async-hooks 2.12.0.
 */
export function boundEmitterMark(emitter: object): symbol | undefined {
  return Object.getOwnPropertySymbols(emitter).find((symbol) => symbol.description === 'OtListeners')
}

/**
 * The kind of a span: the API's Span hides it, the SDK's span exposes it as the `kind` property.
 * Checked against @opentelemetry/sdk-trace-base 2.12.0.
 */
export function spanKindOf(span: Span): unknown {
  return (span as { kind?: unknown }).kind
}

type ProxyLike = TracerProvider & {
  getDelegate?(): TracerProvider
  getDelegateTracer?(name: string, version?: string): Tracer | undefined
}

/**
 * The provider behind the API's global ProxyTracerProvider (`getDelegate()`), to notice a newly
 * registered one. Checked against @opentelemetry/api 1.9.0.
 */
export function tracerProviderDelegate(provider: TracerProvider): TracerProvider {
  const proxy = provider as ProxyLike
  return typeof proxy.getDelegate === 'function' ? proxy.getDelegate() : provider
}

/**
 * A tracer of the provider registered now, or `undefined` while none is (the proxy's
 * `getDelegateTracer`; `getTracer` would hand out a proxy tracer that costs a hop on every span).
 * Checked against @opentelemetry/api 1.9.0.
 */
export function delegateTracer(provider: TracerProvider, name: string, version: string): Tracer | undefined {
  const proxy = provider as ProxyLike
  return typeof proxy.getDelegateTracer === 'function'
    ? proxy.getDelegateTracer(name, version)
    : provider.getTracer(name, version)
}
