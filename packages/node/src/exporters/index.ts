import { OTLPTraceExporter as OTLPJsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { OTLPTraceExporter as OTLPProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { SimpleSpanProcessor, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base'
import { logger } from '@traceweave/core/internal'
import { isHttpUrl, type ExporterConfig } from '../options/resolve'
import type { OtlpOptions } from '../options/types'
import { CountingBatchSpanProcessor, type BatchSettings } from './batch'
import { ConsoleTreeExporter } from './console'
import { MemorySpanExporter, type MemorySpans } from './memory'
import { WatchedExporter, type ExportStats, type ExportTarget } from './watch'

/** The processor that hands finished spans to the chosen exporter, and what setup exposes of it. */
export interface ExportPipeline {
  /** `undefined` for `exporter: 'none'`: spans are still created (and sampled) but go nowhere. */
  processor: SpanProcessor | undefined
  /** Present for `exporter: 'memory'`. */
  memory: MemorySpans | undefined
  /** Spans dropped so far because the export queue (or the memory store) was full. */
  droppedSpans(): number
  /** The watched exporter behind the queue (console, otlp, instance), for stats and exit messages. */
  watched: WatchedExporter | undefined
}

/**
 * Builds the exporting span processor: `'memory'` exports each span as it ends (no batching, so a
 * test sees a span as soon as it ends); every other exporter sits behind the bounded batch queue.
 */
export function createExportPipeline(config: ExporterConfig, batch: BatchSettings): ExportPipeline {
  switch (config.kind) {
    case 'none':
      return { processor: undefined, memory: undefined, droppedSpans: () => 0, watched: undefined }
    case 'memory': {
      const exporter = new MemorySpanExporter(config.maxSpans)
      return {
        processor: new SimpleSpanProcessor(exporter),
        memory: exporter,
        droppedSpans: () => exporter.dropped,
        watched: undefined,
      }
    }
    case 'console':
      return batched(new ConsoleTreeExporter(config.write), { name: 'the console' }, batch)
    case 'otlp': {
      const target = resolveOtlpTarget(config.otlp)
      return batched(createOtlpExporter(config.otlp, target), target, batch)
    }
    case 'instance':
      return batched(config.exporter, { name: exporterName(config.exporter) }, batch)
  }
}

function batched(exporter: SpanExporter, target: ExportTarget, batch: BatchSettings): ExportPipeline {
  const watched = new WatchedExporter(exporter, target)
  const processor = new CountingBatchSpanProcessor(watched, batch)
  return { processor, memory: undefined, droppedSpans: () => processor.droppedSpans, watched }
}

/** Zeroed export counters, for pipelines without a queue. */
export const NO_EXPORT_STATS: Readonly<ExportStats> = {
  exportedSpans: 0,
  failedExports: 0,
  lastExportError: undefined,
}

/** The OTLP wire formats traceweave can send. */
export type OtlpProtocol = 'http/protobuf' | 'http/json'
const DEFAULT_PROTOCOL: OtlpProtocol = 'http/protobuf'
const DEFAULT_URL = 'http://localhost:4318/v1/traces'
const DEFAULT_TIMEOUT_MILLIS = 10000

/**
 * `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, else `OTEL_EXPORTER_OTLP_PROTOCOL`, else `http/protobuf`
 * (the OTLP spec's default, and what every collector accepts). `grpc` and unknown values are reported
 * and fall back to the default, as the spec asks (warn and ignore).
 */
export function otlpProtocolFromEnv(env: NodeJS.ProcessEnv = process.env): OtlpProtocol {
  for (const name of ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL']) {
    const raw = env[name]?.trim()
    if (!raw) continue
    const value = raw.toLowerCase()
    if (value === 'http/protobuf' || value === 'http/json') return value
    const shown = JSON.stringify(raw.slice(0, 40))
    logger.warn(
      value === 'grpc'
        ? `${name}=${shown}: traceweave has no gRPC exporter; using ${DEFAULT_PROTOCOL} (point the endpoint at the collector's HTTP port, usually 4318)`
        : `${name}=${shown}: expected 'http/protobuf' or 'http/json'; using ${DEFAULT_PROTOCOL}`,
    )
    return DEFAULT_PROTOCOL
  }
  return DEFAULT_PROTOCOL
}

/**
 * The traces URL and timeout, with the precedence the OTLP exporter applies: the option, then
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (as is), then `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`, then
 * `http://localhost:4318/v1/traces`. Resolved here so the messages name the URL the exporter uses.
 */
export function resolveOtlpTarget(otlp: OtlpOptions, env: NodeJS.ProcessEnv = process.env): ExportTarget {
  let url = otlp.url
  if (url === undefined) {
    const signal = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim()
    const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim()
    const candidate = signal || (base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined)
    if (candidate !== undefined && !isHttpUrl(candidate)) {
      logger.warn(
        `${signal ? 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' : 'OTEL_EXPORTER_OTLP_ENDPOINT'}=${JSON.stringify(candidate.slice(0, 80))} ` +
          `is not an http:// or https:// URL; using ${DEFAULT_URL}`,
      )
    }
    url = candidate !== undefined && isHttpUrl(candidate) ? candidate : DEFAULT_URL
  }
  const timeoutMillis =
    otlp.timeoutMillis ??
    positiveNumber(env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT) ??
    positiveNumber(env.OTEL_EXPORTER_OTLP_TIMEOUT) ??
    DEFAULT_TIMEOUT_MILLIS
  return { url, timeoutMillis }
}

// The exporter reads OTEL_EXPORTER_OTLP_(TRACES_)HEADERS / _TIMEOUT itself and lets the values given
// here win; the URL is passed resolved, so the exporter and our messages agree on it.
function createOtlpExporter(otlp: OtlpOptions, target: ExportTarget): SpanExporter {
  const config: OtlpOptions = { url: target.url }
  if (otlp.headers !== undefined) config.headers = otlp.headers
  if (otlp.timeoutMillis !== undefined) config.timeoutMillis = otlp.timeoutMillis
  return otlpProtocolFromEnv() === 'http/json'
    ? new OTLPJsonTraceExporter(config)
    : new OTLPProtoTraceExporter(config)
}

function exporterName(exporter: SpanExporter): string {
  const name = (exporter as { constructor?: { name?: unknown } }).constructor?.name
  return typeof name === 'string' && name !== '' && name !== 'Object' ? name : 'your exporter'
}

function positiveNumber(raw: string | undefined): number | undefined {
  const value = Number(raw?.trim() || NaN)
  return Number.isFinite(value) && value > 0 ? value : undefined
}
