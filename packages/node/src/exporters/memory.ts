import { ExportResultCode, type ExportResult } from '@opentelemetry/core'
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base'

/**
 * The finished spans of `setupTracing({ exporter: 'memory' })`, for tests: read them after a
 * request, or start over with `reset()`.
 *
 * @example
 * ```ts
 * const { memory } = setupTracing({ exporter: 'memory' })
 * await request(app).get('/users/7')
 * expect(memory.getFinishedSpans().map((s) => s.name)).toEqual(['GET /users/:id'])
 * ```
 */
export interface MemorySpans {
  /** The spans ended so far, oldest first (a copy: later spans do not appear in it). */
  getFinishedSpans(): ReadableSpan[]
  /** Forgets every stored span. */
  reset(): void
}

/**
 * Keeps finished spans in memory, bounded: past `maxSpans` the oldest span is discarded and counted,
 * so a long test run or a misconfigured service never grows without limit.
 */
export class MemorySpanExporter implements SpanExporter, MemorySpans {
  private spans: ReadableSpan[] = []
  private stopped = false
  /** Spans discarded because `maxSpans` were already held. */
  dropped = 0

  constructor(private readonly maxSpans: number) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    if (this.stopped) {
      resultCallback({ code: ExportResultCode.FAILED, error: new Error('memory exporter is shut down') })
      return
    }
    this.spans.push(...spans)
    const excess = this.spans.length - this.maxSpans
    if (excess > 0) {
      this.spans.splice(0, excess)
      this.dropped += excess
    }
    resultCallback({ code: ExportResultCode.SUCCESS })
  }

  getFinishedSpans(): ReadableSpan[] {
    return [...this.spans]
  }

  reset(): void {
    this.spans = []
  }

  // Spans stay readable after shutdown, so a test can shut down (flushing everything) and then look.
  async shutdown(): Promise<void> {
    this.stopped = true
  }

  async forceFlush(): Promise<void> {}
}
