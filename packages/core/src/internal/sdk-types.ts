import type { Attributes, Context, HrTime, Span, SpanContext } from '@opentelemetry/api'

/**
 * The few SDK shapes core implements or reads, declared structurally: core depends on the OpenTelemetry
 * API only, so it works with a user's 2.x or 3.x SDK without importing either.
 */

/** What core reads of a finished span (a subset of the SDK's `ReadableSpan`). */
export interface FinishedSpan {
  readonly name: string
  readonly attributes: Attributes
  readonly endTime: HrTime
  spanContext(): SpanContext
}

/** The SDK's `SpanProcessor` interface. */
export interface SpanProcessorLike {
  onStart(span: Span, parentContext: Context): void
  onEnd(span: FinishedSpan): void
  forceFlush(): Promise<void>
  shutdown(): Promise<void>
}
