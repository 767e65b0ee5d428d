import { metrics, type ObservableGauge, type ObservableResult } from '@opentelemetry/api'
import { logger, setProcessSampleSource, type ProcessSample } from '@traceweave/core/internal'
import { availableParallelism } from 'node:os'
import pidusage from 'pidusage'
import type { ResolvedResourceSampling } from './options'

/** OpenTelemetry semantic-convention names of the process gauges (metrics, not span attributes). */
export const METRIC_CPU_UTILIZATION = 'process.cpu.utilization'
export const METRIC_MEMORY_USAGE = 'process.memory.usage'

const METER_NAME = '@traceweave/node'

/** What reads the process figures: pidusage, or a stand-in in tests of its failure. */
export type ProcessReader = (pid: number) => Promise<{ cpu: number; memory: number }>

/** A running background sampler. */
export interface ProcessSampler {
  /** The latest sample, `undefined` before the first one lands or after a failure. */
  latest(): ProcessSample | undefined
  /** Stops the timer, removes the gauges' callbacks and the span source. Idempotent. */
  stop(): void
}

/**
 * Samples the process's CPU percent and RSS every `sampleEveryMs` with pidusage (one now, so a sample
 * is there soon after setup). The timer is `unref`ed: it never keeps the process alive. The samples
 * are exported as the observable gauges `process.cpu.utilization` (0-1, over the cores available)
 * and `process.memory.usage` (RSS, bytes) through the MeterProvider registered when sampling starts
 * (none: the API's no-op meter, nothing exported), and the latest one goes on server spans that ask
 * for resources. A failing read (unsupported platform, permissions) is reported once, and sampling
 * stops; tracing goes on.
 */
export function startProcessSampler(
  config: ResolvedResourceSampling,
  read: ProcessReader = readWithPidusage,
): ProcessSampler {
  const cores = Math.max(1, availableParallelism())
  let latest: ProcessSample | undefined
  let reading = false
  let stopped = false

  const meter = metrics.getMeter(METER_NAME)
  const cpuGauge: ObservableGauge = meter.createObservableGauge(METRIC_CPU_UTILIZATION, {
    description: 'CPU time of the process over the last sample interval, divided by the cores available',
    unit: '1',
  })
  const memoryGauge: ObservableGauge = meter.createObservableGauge(METRIC_MEMORY_USAGE, {
    description: 'Resident set size of the process',
    unit: 'By',
  })
  const observeCpu = (result: ObservableResult) => {
    if (latest !== undefined) result.observe(latest.cpuPercent / 100 / cores)
  }
  const observeMemory = (result: ObservableResult) => {
    if (latest !== undefined) result.observe(latest.rss)
  }
  cpuGauge.addCallback(observeCpu)
  memoryGauge.addCallback(observeMemory)

  const sample = () => {
    if (reading || stopped) return
    reading = true
    let pending: Promise<{ cpu: number; memory: number }>
    try {
      pending = read(process.pid)
    } catch (error) {
      pending = Promise.reject(error)
    }
    pending.then(
      (stats) => {
        reading = false
        if (stopped) return
        latest = { cpuPercent: round(stats.cpu), rss: stats.memory, at: Date.now() }
      },
      (error: unknown) => {
        reading = false
        if (stopped) return
        logger.warn(
          'resources: reading process CPU and memory with pidusage failed; process gauges and the sample on spans are off, tracing goes on',
          error,
        )
        stop()
      },
    )
  }

  const timer = setInterval(sample, config.sampleEveryMs)
  timer.unref()
  setProcessSampleSource(() => latest)
  sample()

  function stop(): void {
    if (stopped) return
    stopped = true
    clearInterval(timer)
    latest = undefined
    cpuGauge.removeCallback(observeCpu)
    memoryGauge.removeCallback(observeMemory)
    setProcessSampleSource(undefined)
    if (read === readWithPidusage) pidusage.clear()
  }

  return { latest: () => latest, stop }
}

function readWithPidusage(pid: number): Promise<{ cpu: number; memory: number }> {
  return pidusage(pid)
}

function round(value: number): number {
  return Math.round(value * 100) / 100
}
