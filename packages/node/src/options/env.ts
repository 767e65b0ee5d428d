/**
 * The `OTEL_*` environment variables `setupTracing()` reads. The environment is often outside the
 * developer's hands (set by a platform or an operator), so a bad value is reported through `diag` and
 * replaced by the default rather than thrown; options given in code are checked strictly instead.
 */
import { describeNumberRule, logger, quoteList, type NumberRule } from '@traceweave/core/internal'
import type { BatchOptions, ExporterName } from './types'

/** The exporters `OTEL_TRACES_EXPORTER` may name (`memory` is for code only). */
const ENV_EXPORTER_NAMES = ['otlp', 'console', 'none'] as const

/** The variable each batch setting falls back to. */
export const BATCH_ENV: Readonly<Record<keyof BatchOptions, string>> = {
  maxQueueSize: 'OTEL_BSP_MAX_QUEUE_SIZE',
  maxExportBatchSize: 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE',
  scheduledDelayMillis: 'OTEL_BSP_SCHEDULE_DELAY',
  exportTimeoutMillis: 'OTEL_BSP_EXPORT_TIMEOUT',
}

/**
 * The exporter named by `OTEL_TRACES_EXPORTER` (case-insensitive), else `fallback`. Several names or an
 * unknown one are reported, and the first known name (or `fallback`) is used.
 */
export function exporterFromEnv(fallback: ExporterName): ExporterName {
  const raw = process.env.OTEL_TRACES_EXPORTER?.trim().toLowerCase()
  if (!raw) return fallback
  const names = raw
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
  const known = names.filter((part): part is (typeof ENV_EXPORTER_NAMES)[number] =>
    (ENV_EXPORTER_NAMES as readonly string[]).includes(part),
  )
  if (known.length !== names.length || known.length > 1) {
    logger.warn(
      `OTEL_TRACES_EXPORTER=${shown(raw)}: expected one of ${quoteList(ENV_EXPORTER_NAMES)}; ` +
        `using '${known[0] ?? fallback}'`,
    )
  }
  return known[0] ?? fallback
}

/** The number in variable `name` when it fits `rule`; `undefined` (reported) when it does not. */
export function numberFromEnv(name: string, rule: NumberRule): number | undefined {
  const raw = process.env[name]?.trim()
  if (!raw) return undefined
  const value = Number(raw)
  const valid =
    Number.isFinite(value) &&
    (rule.min === undefined || value >= rule.min) &&
    (rule.max === undefined || value <= rule.max) &&
    (!rule.integer || Number.isInteger(value))
  if (!valid) {
    logger.warn(`${name}=${shown(raw)} is not ${describeNumberRule(rule)}; using the default`)
    return undefined
  }
  return value
}

// Like the other OTEL_* reports (propagators, sampler, protocol): JSON-quoted, and cut to 40 characters.
function shown(raw: string): string {
  return JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}...` : raw)
}
