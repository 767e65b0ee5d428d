/**
 * SIGTERM during traffic loses nothing silently: every span finished before the signal is either
 * received by the collector or counted in `stats().droppedSpans`, and the process exits by itself
 * within `exitTimeoutMillis`. The service is its own process (jest's sandbox cannot export OTLP, and
 * the signal must be allowed to end the process).
 */
import { killChildApps, startChildApp } from '../support/reliability/child-app'
import { drive } from '../support/reliability/load'
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver'
import { elapsedSince, recordFigures, scaled } from '../support/reliability/run-config'

const EXIT_TIMEOUT_MILLIS = 5000
const EXIT_MARGIN_MILLIS = 2500
/** Requests answered before the signal is sent; traffic goes on while the process shuts down. */
const BEFORE_SIGNAL = scaled(1500)

let receiver: OtlpReceiver
const figures: Record<string, unknown> = {}
const suiteStart = performance.now()

beforeAll(async () => {
  receiver = await startOtlpReceiver('ok')
  // A slow collector: exports take a while, so the small queue overflows and some spans are dropped.
  receiver.delayMillis = 100
})
afterAll(async () => {
  killChildApps()
  await receiver.close()
  recordFigures('shutdown', { ...figures, elapsedMs: elapsedSince(suiteStart) })
})

describe.each(['express5', 'koa3'] as const)('SIGTERM during traffic (%s)', (framework) => {
  it('exports or counts as dropped every span finished before the signal, and the process exits by itself', async () => {
    receiver.spans.length = 0
    const app = await startChildApp({
      framework,
      tracing: {
        serviceName: `shutdown-${framework}`,
        otlp: { url: receiver.url },
        // A small queue: some spans are exported, some still queued at the signal, some dropped.
        batch: { scheduledDelayMillis: 50, maxQueueSize: 64, maxExportBatchSize: 32 },
        exitTimeoutMillis: EXIT_TIMEOUT_MILLIS,
      },
      watchdogMillis: 60000,
    })
    let answered = 0
    let signalledAt = 0
    const traffic = drive(
      app.port,
      BEFORE_SIGNAL * 4,
      16,
      (i) => ({ path: `/g0/items/${i}` }),
      (_i, status) => {
        if (status === 200 && ++answered === BEFORE_SIGNAL) {
          signalledAt = performance.now()
          app.kill('SIGTERM')
        }
        return true // after the signal, refused connections are expected
      },
    )
    const flush = await app.next<{ finished: number; dropped: number; atMs: number }>('flush')
    const exit = await app.exited
    await traffic
    const exitMs = Math.round(exit.atMs - signalledAt)
    const exportedBefore = receiver.spans.filter((span) => span.endMs <= flush.atMs).length
    figures[framework] = {
      requestsBeforeSignal: BEFORE_SIGNAL,
      spansFinishedBeforeSignal: flush.finished,
      exported: exportedBefore,
      dropped: flush.dropped,
      exportedAfterSignal: receiver.spans.length - exportedBefore,
      exitMs,
    }
    expect(flush.finished).toBeGreaterThanOrEqual(BEFORE_SIGNAL * 2) // a server span and a child each
    expect(exportedBefore + flush.dropped).toBe(flush.finished)
    expect({ code: exit.code, signal: exit.signal }).toEqual({ code: null, signal: 'SIGTERM' })
    expect(exitMs).toBeLessThanOrEqual(EXIT_TIMEOUT_MILLIS + EXIT_MARGIN_MILLIS)
    // Only traceweave's own line about the flush it waits for (printed when the flush is slow).
    for (const line of app
      .stderr()
      .split('\n')
      .filter((text) => text !== '')) {
      expect(line).toMatch(/^traceweave: waiting up to 5000 ms to export the queued spans to /)
    }
  }, 60000)
})
