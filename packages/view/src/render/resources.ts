import type { ViewAttributes } from './model'

/**
 * What a span's `traceweave.*` resource attributes (docs/resources.md) come to in a waterfall row:
 * CPU, memory and event-loop utilization, as numbers and as the short text the columns show.
 * Only finite numbers count: anything else a sender wrote is ignored, never shown as a figure.
 */
export interface RowResources {
  /** CPU time while the span was open, ms; absent when the span has none. */
  cpuMs?: number
  /**
   * Whose CPU: `request` (`traceweave.request.cpu_us`, the request's own, from the attributed mode)
   * or `process` (user + system of the whole process, every concurrent request included).
   */
  cpuOf?: 'request' | 'process'
  /** Heap plus external (Buffers) memory change while the span was open, bytes; may be negative. */
  memoryDeltaBytes?: number
  /** Event-loop utilization while the span was open, 0..1. */
  eventLoopUtilization?: number
  /** The CPU column: `12.3ms` (process) or `12.3ms own` (the request's own); `''` when absent. */
  cpuText: string
  /** The memory column: `+16.0MB`, `-512KB`; `''` when absent. */
  memoryText: string
  /** Event-loop utilization as a percentage, `97%`; `''` when absent. */
  eventLoopText: string
}

/** Prefix of the process-wide resource attributes: summarised in the columns, not repeated raw. */
export const PROCESS_RESOURCE_PREFIX = 'traceweave.process.'

/** The attributed mode's own CPU time of the request, µs. */
export const REQUEST_CPU_KEY = 'traceweave.request.cpu_us'

const USER_CPU_KEY = 'traceweave.process.cpu.user_us'
const SYSTEM_CPU_KEY = 'traceweave.process.cpu.system_us'
const HEAP_DELTA_KEY = 'traceweave.process.heap.delta'
const EXTERNAL_DELTA_KEY = 'traceweave.process.external.delta'
const EVENT_LOOP_KEY = 'traceweave.process.event_loop.utilization'

/** Whether a `traceweave.*` attribute is shown in the resource columns rather than inline. */
export function isResourceColumnKey(key: string): boolean {
  return key.startsWith(PROCESS_RESOURCE_PREFIX) || key === REQUEST_CPU_KEY
}

/**
 * Summarises a span's resource attributes; `undefined` when it has none of CPU, memory or event-loop
 * utilization. CPU is the request's own (`traceweave.request.cpu_us`) when present, else the
 * process's user + system time; memory is heap delta plus external delta.
 */
export function summarizeResources(attributes: ViewAttributes): RowResources | undefined {
  const requestCpuUs = finite(attributes[REQUEST_CPU_KEY])
  const userUs = finite(attributes[USER_CPU_KEY])
  const systemUs = finite(attributes[SYSTEM_CPU_KEY])
  const heap = finite(attributes[HEAP_DELTA_KEY])
  const external = finite(attributes[EXTERNAL_DELTA_KEY])
  const utilization = finite(attributes[EVENT_LOOP_KEY])

  const out: RowResources = { cpuText: '', memoryText: '', eventLoopText: '' }
  if (requestCpuUs !== undefined) {
    out.cpuMs = requestCpuUs / 1000
    out.cpuOf = 'request'
    out.cpuText = `${formatCpuTime(out.cpuMs)} own`
  } else if (userUs !== undefined || systemUs !== undefined) {
    out.cpuMs = ((userUs ?? 0) + (systemUs ?? 0)) / 1000
    out.cpuOf = 'process'
    out.cpuText = formatCpuTime(out.cpuMs)
  }
  if (heap !== undefined || external !== undefined) {
    out.memoryDeltaBytes = (heap ?? 0) + (external ?? 0)
    out.memoryText = formatByteDelta(out.memoryDeltaBytes)
  }
  if (utilization !== undefined) {
    out.eventLoopUtilization = Math.min(1, Math.max(0, utilization))
    out.eventLoopText = `${Math.round(out.eventLoopUtilization * 100)}%`
  }
  return out.cpuText === '' && out.memoryText === '' && out.eventLoopText === '' ? undefined : out
}

/** CPU time, compact for a column: `840µs`, `12.3ms`, `1.23s`. */
export function formatCpuTime(ms: number): string {
  if (!(ms >= 0)) return '0µs'
  if (ms < 1) return `${Math.round(ms * 1000)}µs`
  if (ms < 1000) return `${ms.toFixed(1)}ms`
  return `${(ms / 1000).toFixed(2)}s`
}

const BYTE_UNITS = ['KB', 'MB', 'GB', 'TB'] as const

/**
 * A signed memory change, compact for a column: `+0B`, `+512B`, `-1.5KB`, `+16.0MB` (units of 1024:
 * a 16 MiB Buffer reads `+16.0MB`).
 */
export function formatByteDelta(bytes: number): string {
  if (!Number.isFinite(bytes)) return '+0B'
  const sign = bytes < 0 ? '-' : '+'
  let size = Math.abs(bytes)
  if (size < 1024) return `${sign}${Math.round(size)}B`
  let unit = 0
  size /= 1024
  while (size >= 1024 && unit < BYTE_UNITS.length - 1) {
    size /= 1024
    unit++
  }
  return `${sign}${size.toFixed(1)}${BYTE_UNITS[unit]}`
}

function finite(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined
}
