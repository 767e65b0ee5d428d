import { TraceFlags } from '@opentelemetry/api'
import { ExportResultCode, type ExportResult } from '@opentelemetry/core'
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
 * It also counts the spans waiting for export (see {@link waitingSpans}), so a `shutdown()` that stops
 * waiting for a collector that does not answer can say how many it gave up. The queue is counted here,
 * not read from the SDK's private array: a span accepted joins it, and leaves it when the SDK hands its
 * batch to the exporter.
 */
export class CountingBatchSpanProcessor extends BatchSpanProcessor {
  /** Spans refused because `maxQueueSize` spans were already waiting for export. */
  droppedSpans = 0
  private readonly maxQueueSize: number
  private stopped = false
  private readonly exports: ExportTally

  constructor(exporter: SpanExporter, settings: BatchSettings) {
    const exports = new ExportTally()
    // Every field is given explicitly, so the SDK's own OTEL_BSP_* fallbacks never apply twice.
    super(exports.wrap(exporter), { ...settings })
    this.maxQueueSize = settings.maxQueueSize
    this.exports = exports
  }

  /** Spans waiting for export: queued, or handed to the exporter and not answered for yet. */
  waitingSpans(): number {
    return this.exports.inFlight + this.queueLength()
  }

  override onEnd(span: ReadableSpan): void {
    if (!this.stopped && (span.spanContext().traceFlags & TraceFlags.SAMPLED) !== 0) {
      if (this.queueLength() >= this.maxQueueSize) {
        this.droppedSpans++
        return
      }
      this.exports.queued++
    }
    super.onEnd(span)
  }

  override shutdown(): Promise<void> {
    this.stopped = true
    return super.shutdown()
  }

  private queueLength(): number {
    return this.exports.queued
  }
}

/**
 * Counts the spans queued for an exporter, and those handed to it and not yet answered for. A counter only: an exporter that
 * never calls back keeps no spans here.
 */
class ExportTally {
  /** Spans accepted by the processor and not yet handed to the exporter. */
  queued = 0
  inFlight = 0

  wrap(exporter: SpanExporter): SpanExporter {
    return {
      export: (spans, resultCallback) => this.export(exporter, spans, resultCallback),
      shutdown: () => exporter.shutdown(),
      forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
    }
  }

  private export(
    exporter: SpanExporter,
    spans: ReadableSpan[],
    resultCallback: (result: ExportResult) => void,
  ): void {
    const count = spans.length
    let answered = false
    this.queued = Math.max(0, this.queued - count)
    this.inFlight += count
    const settle = (result: ExportResult): void => {
      if (answered) return
      answered = true
      this.inFlight -= count
      resultCallback(result)
    }
    try {
      exporter.export(spans, settle)
    } catch (error) {
      settle({
        code: ExportResultCode.FAILED,
        error: error instanceof Error ? error : new Error(String(error)),
      })
    }
  }
}
