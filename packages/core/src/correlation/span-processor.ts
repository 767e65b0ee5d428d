import type { Context, Span } from '@opentelemetry/api'
import type { SpanProcessorLike } from '../internal/sdk-types'
import { getRequestState, type RequestState } from './request-state'

export type { SpanProcessorLike } from '../internal/sdk-types'

/**
 * Spans tracked per request so a late `identifyUser()` reaches the ones still open. Past this bound a
 * request's further spans are not tracked (they still got the attributes known when they started).
 */
export const MAX_TRACKED_SPANS_PER_REQUEST = 1000

/**
 * Remembers `span` as a span of the request `state` (bounded per request). Ended spans are not
 * removed: they go with the record, and {@link forEachOpenSpan} skips them.
 */
export function trackOpenSpan(state: RequestState, span: Span): void {
  // An array, not a Set: most requests track one or a few spans, and a Set's hash table is the
  // larger allocation. A span is tracked once (the lifecycle checks with isTrackedSpan first).
  const spans = state.openSpans
  if (spans === undefined) state.openSpans = [span]
  else if (spans.length < MAX_TRACKED_SPANS_PER_REQUEST) spans.push(span)
}

/** Whether `span` is tracked for the request already (the CorrelationSpanProcessor did it at start). */
export function isTrackedSpan(state: RequestState, span: Span): boolean {
  // The server span, when tracked by the processor, is the request's first span.
  return state.openSpans !== undefined && state.openSpans.includes(span)
}

/** Calls `fn` for every span of the request that is still open. */
export function forEachOpenSpan(state: RequestState, fn: (span: Span) => void): void {
  const spans = state.openSpans
  if (spans !== undefined) for (const span of spans) if (span.isRecording()) fn(span)
}

/**
 * Copies the request's correlation attributes (`request.id`, `session.id`, `session.operation`,
 * `session.operation_number`, `user.id`) onto every span started while a traced request is active,
 * including spans of other libraries (database clients, OpenTelemetry instrumentations). It also tracks
 * open spans so that `identifyUser()` can reach them. Register it before your exporting processor.
 *
 * @example new NodeTracerProvider({ spanProcessors: [new CorrelationSpanProcessor(), new BatchSpanProcessor(exporter)] })
 */
export class CorrelationSpanProcessor implements SpanProcessorLike {
  onStart(span: Span, parentContext: Context): void {
    const state = getRequestState(parentContext)
    if (state === undefined) return
    // The record keeps these ready-made, so a span costs one setAttributes call and no allocation.
    span.setAttributes(state.correlationAttributes)
    trackOpenSpan(state, span)
  }

  onEnd(): void {}

  forceFlush(): Promise<void> {
    return Promise.resolve()
  }

  shutdown(): Promise<void> {
    return Promise.resolve()
  }
}
