import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { SimpleSpanProcessor, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base'
import { logger } from '@traceweave/core/internal'
import type { ExporterConfig, OtlpOptions } from '../options'
import { CountingBatchSpanProcessor, type BatchSettings } from './batch'
import { ConsoleTreeExporter } from './console'
import { MemorySpanExporter, type MemorySpans } from './memory'

/** The processor that hands finished spans to the chosen exporter, and what setup exposes of it. */
export interface ExportPipeline {
  /** `undefined` for `exporter: 'none'`: spans are still created (and sampled) but go nowhere. */
  processor: SpanProcessor | undefined
  /** Present for `exporter: 'memory'`. */
  memory: MemorySpans | undefined
  /** Spans dropped so far because the export queue (or the memory store) was full. */
  droppedSpans(): number
}

/**
 * Builds the exporting span processor: `'memory'` exports each span as it ends (no batching, so a
 * test sees a span as soon as it ends); every other exporter sits behind the bounded batch queue.
 */
export function createExportPipeline(config: ExporterConfig, batch: BatchSettings): ExportPipeline {
  switch (config.kind) {
    case 'none':
      return { processor: undefined, memory: undefined, droppedSpans: () => 0 }
    case 'memory': {
      const exporter = new MemorySpanExporter(config.maxSpans)
      return {
        processor: new SimpleSpanProcessor(exporter),
        memory: exporter,
        droppedSpans: () => exporter.dropped,
      }
    }
    case 'console':
      return batched(new ConsoleTreeExporter(config.write), batch)
    case 'otlp':
      return batched(createOtlpExporter(config.otlp), batch)
    case 'instance':
      return batched(config.exporter, batch)
  }
}

function batched(exporter: SpanExporter, batch: BatchSettings): ExportPipeline {
  const processor = new CountingBatchSpanProcessor(exporter, batch)
  return { processor, memory: undefined, droppedSpans: () => processor.droppedSpans }
}

// The exporter reads OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT / _HEADERS / _TIMEOUT itself and lets
// the values given here win, so only code options are passed (undefined keys would be harmless too,
// but leaving them out keeps the precedence obvious).
function createOtlpExporter(otlp: OtlpOptions): SpanExporter {
  const protocol = (
    process.env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? process.env.OTEL_EXPORTER_OTLP_PROTOCOL
  )?.trim()
  if (protocol && protocol !== 'http/json') {
    logger.warn(
      `OTEL_EXPORTER_OTLP_PROTOCOL=${JSON.stringify(protocol.slice(0, 40))}: traceweave sends OTLP as http/json`,
    )
  }
  const config: OtlpOptions = {}
  if (otlp.url !== undefined) config.url = otlp.url
  if (otlp.headers !== undefined) config.headers = otlp.headers
  if (otlp.timeoutMillis !== undefined) config.timeoutMillis = otlp.timeoutMillis
  return new OTLPTraceExporter(config)
}
