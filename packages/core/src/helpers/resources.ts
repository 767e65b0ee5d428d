import { trace as traceApi, type Attributes, type Span } from '@opentelemetry/api'
import { performance, type EventLoopUtilization } from 'node:perf_hooks'
import { getHeapStatistics } from 'node:v8'
import { reportFailure } from '../internal/guard'

// Attribute names. Stable: the viewer and the console exporter show them. Every `traceweave.process.*`
// figure is the PROCESS's while the span was open (every request and timer running meanwhile counts),
// not the operation's own; `traceweave.request.*` is the request's own (attributed mode).

/** CPU time the process spent in user mode while the span was open, in microseconds (all threads). */
export const ATTR_PROCESS_CPU_USER = 'traceweave.process.cpu.user_us'
/** CPU time the process spent in the kernel while the span was open, in microseconds (all threads). */
export const ATTR_PROCESS_CPU_SYSTEM = 'traceweave.process.cpu.system_us'
/** V8 heap in use (bytes) when the span started. */
export const ATTR_PROCESS_HEAP_BEFORE = 'traceweave.process.heap.before'
/** V8 heap in use (bytes) when the span ended. */
export const ATTR_PROCESS_HEAP_AFTER = 'traceweave.process.heap.after'
/** Change of the V8 heap in use (bytes, negative after a garbage collection). */
export const ATTR_PROCESS_HEAP_DELTA = 'traceweave.process.heap.delta'
/** Memory outside the V8 heap held by JS objects (Buffers, ArrayBuffers), bytes, at span start. */
export const ATTR_PROCESS_EXTERNAL_BEFORE = 'traceweave.process.external.before'
/** External memory (bytes) at span end. */
export const ATTR_PROCESS_EXTERNAL_AFTER = 'traceweave.process.external.after'
/** Change of external memory (bytes). A `Buffer` lands here, not in the heap. */
export const ATTR_PROCESS_EXTERNAL_DELTA = 'traceweave.process.external.delta'
/** Event-loop utilization while the span was open: 0 (idle) to 1 (the loop never waited). */
export const ATTR_PROCESS_ELU = 'traceweave.process.event_loop.utilization'
/** Requests (traced by a traceweave middleware in this process) in flight when the span started. */
export const ATTR_PROCESS_IN_FLIGHT_START = 'traceweave.process.requests_in_flight.start'
/** Requests in flight when the span ended, this one included for a server span. */
export const ATTR_PROCESS_IN_FLIGHT_END = 'traceweave.process.requests_in_flight.end'
/** Latest background sample (`@traceweave/node`, pidusage): process CPU percent (100 = one core). */
export const ATTR_PROCESS_SAMPLE_CPU = 'traceweave.process.sample.cpu_percent'
/** Latest background sample: resident set size of the process, bytes. */
export const ATTR_PROCESS_SAMPLE_RSS = 'traceweave.process.sample.rss'
/** Age of that sample when recorded, milliseconds. */
export const ATTR_PROCESS_SAMPLE_AGE = 'traceweave.process.sample.age_ms'

/** The resource figures at one moment; the span's attributes are the differences to its end. */
export interface ResourceSnapshot {
  readonly cpu: NodeJS.CpuUsage
  readonly heapUsed: number
  readonly external: number
  readonly elu: EventLoopUtilization
  readonly inFlight: number
}

/** A background sample of the whole process, as `@traceweave/node` takes it with pidusage. */
export interface ProcessSample {
  /** CPU percent since the previous sample (100 = one core busy). */
  readonly cpuPercent: number
  /** Resident set size, bytes. */
  readonly rss: number
  /** `Date.now()` when taken. */
  readonly at: number
}

let inFlight = 0
let sampleSource: (() => ProcessSample | undefined) | undefined

/** A traced request started (called by the server lifecycle for every request it traces). */
export function requestStarted(): void {
  inFlight++
}

/** A traced request ended (once per started request). */
export function requestEnded(): void {
  if (inFlight > 0) inFlight--
}

/** Requests traced by a traceweave middleware in this process and not yet ended. */
export function requestsInFlight(): number {
  return inFlight
}

/**
 * Where server spans asking for resources read the latest process sample; `@traceweave/node` sets it
 * while its sampler runs and clears it (`undefined`) when it stops.
 */
export function setProcessSampleSource(source: (() => ProcessSample | undefined) | undefined): void {
  sampleSource = source
}

/** The latest process sample as span attributes, or nothing when no sampler runs. */
export function addProcessSample(attributes: Attributes): void {
  if (sampleSource === undefined) return
  const sample = sampleSource()
  if (sample === undefined) return
  attributes[ATTR_PROCESS_SAMPLE_CPU] = sample.cpuPercent
  attributes[ATTR_PROCESS_SAMPLE_RSS] = sample.rss
  attributes[ATTR_PROCESS_SAMPLE_AGE] = Math.max(0, Date.now() - sample.at)
}

/**
 * Reads the figures now: `process.cpuUsage()` (~2 µs), `v8.getHeapStatistics()` (~1.5 µs) and the
 * event-loop utilization. Never `process.memoryUsage()` (~20 µs, it reads RSS): RSS comes from the
 * background sampler.
 */
export function takeSnapshot(): ResourceSnapshot {
  const heap = getHeapStatistics()
  return {
    cpu: process.cpuUsage(),
    heapUsed: heap.used_heap_size,
    external: heap.external_memory,
    elu: performance.eventLoopUtilization(),
    inFlight,
  }
}

/** The `traceweave.process.*` attributes for the interval from `start` to now. */
export function resourceAttributes(start: ResourceSnapshot): Attributes {
  const cpu = process.cpuUsage(start.cpu)
  const elu = performance.eventLoopUtilization(start.elu)
  const heap = getHeapStatistics()
  return {
    [ATTR_PROCESS_CPU_USER]: cpu.user,
    [ATTR_PROCESS_CPU_SYSTEM]: cpu.system,
    [ATTR_PROCESS_HEAP_BEFORE]: start.heapUsed,
    [ATTR_PROCESS_HEAP_AFTER]: heap.used_heap_size,
    [ATTR_PROCESS_HEAP_DELTA]: heap.used_heap_size - start.heapUsed,
    [ATTR_PROCESS_EXTERNAL_BEFORE]: start.external,
    [ATTR_PROCESS_EXTERNAL_AFTER]: heap.external_memory,
    [ATTR_PROCESS_EXTERNAL_DELTA]: heap.external_memory - start.external,
    // 0 when the loop has not run at all (e.g. during the main module's first run).
    [ATTR_PROCESS_ELU]: Number.isFinite(elu.utilization) ? round(elu.utilization) : 0,
    [ATTR_PROCESS_IN_FLIGHT_START]: start.inFlight,
    [ATTR_PROCESS_IN_FLIGHT_END]: inFlight,
  }
}

/** A snapshot for `span`, or `undefined` when the span is not recorded (then nothing is measured). */
export function startMeasuring(span: Span): ResourceSnapshot | undefined {
  if (!span.isRecording()) return undefined
  try {
    return takeSnapshot()
  } catch (error) {
    reportFailure('resources.start', error)
    return undefined
  }
}

/** Records the figures since `start` on `span` (fail-open). */
export function finishMeasuring(span: Span, start: ResourceSnapshot | undefined): void {
  if (start === undefined) return
  try {
    span.setAttributes(resourceAttributes(start))
  } catch (error) {
    reportFailure('resources.end', error)
  }
}

/**
 * Runs `fn` and records on the active span the CPU, memory and event-loop figures of the PROCESS
 * while `fn` ran (until its promise settled, for an async `fn`), under `traceweave.process.*`. Returns
 * `fn`'s result unchanged: a value as is, a promise as one that settles exactly like it. Without a
 * recording active span, `fn` just runs.
 *
 * These are the process's figures, not `fn`'s alone: other requests running at the same time count
 * too. `traceweave.process.requests_in_flight.start`/`.end` tell how many there were.
 *
 * @example
 * const report = await withResources(() => buildReport(rows))
 */
export function withResources<T>(fn: () => T): T {
  const span = traceApi.getActiveSpan()
  const start = span === undefined ? undefined : startMeasuring(span)
  if (start === undefined) return fn()
  const measured = span as Span
  let result: T
  try {
    result = fn()
  } catch (error) {
    finishMeasuring(measured, start)
    throw error
  }
  if (isPromiseLike(result)) {
    return Promise.resolve(result).then(
      (value) => {
        finishMeasuring(measured, start)
        return value
      },
      (error: unknown) => {
        finishMeasuring(measured, start)
        throw error
      },
    ) as T
  }
  finishMeasuring(measured, start)
  return result
}

function round(value: number): number {
  return Math.round(value * 10000) / 10000
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  )
}
