/**
 * @traceweave/node: `setupTracing()`, the OpenTelemetry JS SDK wired for a Node service. The only
 * traceweave package that depends on the SDK. Every public name is listed here explicitly.
 *
 * @packageDocumentation
 */

export { setupTracing } from './setup'
/** Re-exported from @traceweave/core: `true` when tracing is off (`disabled: true` or `OTEL_SDK_DISABLED`). */
export { isTracingDisabled } from '@traceweave/core'
export type { TracingHandle, MemoryTracingHandle, TracingProvider, TracingStats } from './setup'
export type {
  SetupTracingOptions,
  ExporterName,
  OtlpOptions,
  BatchOptions,
  ConsoleOptions,
  MemoryOptions,
} from './options/types'
export type { PropagatorName } from './propagators'
export type { ResourceSamplingOptions } from './resources/options'
export type { MemorySpans } from './exporters/memory'

/** SDK types that appear in our options and results, re-exported so users need not depend on the SDK. */
export type { ReadableSpan, Sampler, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base'
