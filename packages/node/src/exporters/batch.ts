import { TraceFlags } from '@opentelemetry/api'
import { BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base'

/** The bounds of the export queue, every field resolved (see `BatchOptions`). */
export interface BatchSettings {
  maxQueueSize: number
  maxExportBatchSize: number
  scheduledDelayMillis: number
  exportTimeoutMillis: number
}

/**
 * OpenTelemetry's BatchSpanProcessor with a drop counter. The SDK already drops spans when its queue
 * is full, but only logs the count and resets it; we refuse the span ourselves when the queue is full,
 * so `droppedSpans` is exact and monotonic and the SDK's queue never exceeds `maxQueueSize`.
 */
export class CountingBatchSpanProcessor extends BatchSpanProcessor {
  /** Spans refused because `maxQueueSize` spans were already waiting for export. */
  droppedSpans = 0
  private readonly maxQueueSize: number
  private stopped = false

  constructor(exporter: SpanExporter, settings: BatchSettings) {
    // Every field is given explicitly, so the SDK's own OTEL_BSP_* fallbacks never apply twice.
    super(exporter, { ...settings })
    this.maxQueueSize = settings.maxQueueSize
  }

  override onEnd(span: ReadableSpan): void {
    if (!this.stopped && (span.spanContext().traceFlags & TraceFlags.SAMPLED) !== 0) {
      if (this.queueLength() >= this.maxQueueSize) {
        this.droppedSpans++
        return
      }
    }
    super.onEnd(span)
  }

  override shutdown(): Promise<void> {
    this.stopped = true
    return super.shutdown()
  }

  // The SDK keeps its queue in a private array; the versions are pinned and a test fills the queue,
  // so a change in the SDK's internals fails that test instead of miscounting silently.
  private queueLength(): number {
    const queue = (this as unknown as { _finishedSpans?: unknown })._finishedSpans
    return Array.isArray(queue) ? queue.length : 0
  }
}
