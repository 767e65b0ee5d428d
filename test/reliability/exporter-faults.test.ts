/**
 * A down exporter loses spans, not requests. The service's OTLP endpoint refuses connections, accepts
 * and never answers, or answers 503 or 429: requests keep answering exactly as before, the heap stays
 * bounded, the lost spans and failed exports are counted in `stats()`, and both SIGTERM and
 * `shutdown()` finish within `exitTimeoutMillis`. Each service is its own process (the OTLP exporter
 * exports nothing inside jest's sandbox), started with --expose-gc.
 */
import { closedPort } from '../support/servers'
import { killChildApps, startChildApp, type ChildAppConfig } from '../support/reliability/child-app'
import { drive } from '../support/reliability/load'
import { startOtlpReceiver, type OtlpReceiver, type ReceiverMode } from '../support/otlp-receiver'
import { elapsedSince, recordFigures, scaled } from '../support/reliability/run-config'

const EXIT_TIMEOUT_MILLIS = 1000
/** Time a loaded machine may take beyond exitTimeoutMillis to end a process (documented). */
const EXIT_MARGIN_MILLIS = 2500
const HEAP_BOUND_MB = 64
const REQUESTS = scaled(1000)
const MB = 1024 * 1024

type Fault = 'refuses connections' | 'never answers' | 'answers 503' | 'answers 429'
const FAULTS: Array<[Fault, ChildAppConfig['framework']]> = [
  ['refuses connections', 'express5'],
  ['never answers', 'koa3'],
  ['answers 503', 'koa3'],
  ['answers 429', 'express5'],
]
const MODE: Record<Fault, ReceiverMode | 'refuse'> = {
  'refuses connections': 'refuse',
  'never answers': 'hang',
  'answers 503': 503,
  'answers 429': 429,
}

const receivers: OtlpReceiver[] = []
const figures: Record<string, Record<string, unknown>> = {}
const suiteStart = performance.now()

afterAll(async () => {
  killChildApps()
  await Promise.all(receivers.map((receiver) => receiver.close()))
  recordFigures('exporterFaults', {
    ...figures,
    exitTimeoutMillis: EXIT_TIMEOUT_MILLIS,
    heapBoundMb: HEAP_BOUND_MB,
    elapsedMs: elapsedSince(suiteStart),
  })
})

async function endpointThat(fault: Fault): Promise<string> {
  const mode = MODE[fault]
  if (mode === 'refuse') return `http://127.0.0.1:${await closedPort()}/v1/traces`
  const receiver = await startOtlpReceiver(mode)
  receivers.push(receiver)
  return receiver.url
}

// The exporter's own timeout is 10 s; the traffic test shortens it so exports fail while it watches,
// the shutdown test keeps it, as a service would (issue 10 saw shutdown() wait for it).
function service(
  framework: ChildAppConfig['framework'],
  url: string,
  exportTimeoutMillis?: number,
): Promise<Awaited<ReturnType<typeof startChildApp>>> {
  return startChildApp({
    framework,
    exposeGc: true,
    tracing: {
      serviceName: 'faulty-exporter',
      otlp: exportTimeoutMillis === undefined ? { url } : { url, timeoutMillis: exportTimeoutMillis },
      batch: { scheduledDelayMillis: 100, maxQueueSize: 512 },
      exitTimeoutMillis: EXIT_TIMEOUT_MILLIS,
    },
    watchdogMillis: 60000,
  })
}

const make = (i: number) => ({ path: `/g0/items/${i}`, headers: { 'x-request-id': `fault-${i}` } })
const isExpected = (i: number, status: number, body: string) =>
  status === 200 && body === JSON.stringify({ id: String(i), requestId: `fault-${i}` })

describe.each(FAULTS)('when the OTLP endpoint %s (%s)', (fault, framework) => {
  it('answers every request correctly, counts what it lost, keeps the heap bounded and exits on SIGTERM within exitTimeoutMillis', async () => {
    const app = await service(framework, await endpointThat(fault), 500)
    const traffic = await drive(app.port, REQUESTS, 16, make, isExpected)
    // Let the exporter meet the fault a few times (its timeout is 500 ms).
    await new Promise((resolve) => setTimeout(resolve, 1200))
    const after = await app.stats()
    const signalledAt = performance.now()
    app.kill('SIGTERM')
    const exit = await app.exited
    const exitMs = Math.round(exit.atMs - signalledAt)
    figures[fault] = {
      requests: traffic.sent,
      heapMb: Number((after.heapUsed / MB).toFixed(1)),
      spansFinished: after.finished,
      stats: after.stats,
      sigtermExitMs: exitMs,
    }
    expect({ wrong: traffic.wrong, examples: traffic.examples }).toEqual({ wrong: 0, examples: [] })
    expect(after.heapUsed / MB).toBeLessThanOrEqual(HEAP_BOUND_MB)
    expect(after.stats).toMatchObject({ exportedSpans: 0, lastExportError: expect.any(String) })
    expect(after.stats.failedExports).toBeGreaterThanOrEqual(1)
    expect({ code: exit.code, signal: exit.signal }).toEqual({ code: null, signal: 'SIGTERM' })
    expect(exitMs).toBeLessThanOrEqual(EXIT_TIMEOUT_MILLIS + EXIT_MARGIN_MILLIS)
  }, 60000)

  it('resolves shutdown() within exitTimeoutMillis and counts the spans it could not flush', async () => {
    const app = await service(framework, await endpointThat(fault))
    const traffic = await drive(app.port, Math.min(REQUESTS, 500), 16, make, isExpected)
    app.command('shutdown')
    const shutdown = await app.next<{ ms: number; stats: Record<string, number>; finished: number }>(
      'shutdown',
    )
    figures[fault] = { ...figures[fault], shutdownMs: Math.round(shutdown.ms), shutdownStats: shutdown.stats }
    expect(traffic.wrong).toBe(0)
    expect(shutdown.ms).toBeLessThanOrEqual(EXIT_TIMEOUT_MILLIS + EXIT_MARGIN_MILLIS)
    expect(shutdown.stats.unflushedSpans).toBeGreaterThan(0)
    // Every finished span is accounted for: exported, dropped at the queue, or counted unflushed.
    const { exportedSpans, droppedSpans, unflushedSpans } = shutdown.stats
    expect(exportedSpans! + droppedSpans! + unflushedSpans!).toBe(shutdown.finished)
    app.kill('SIGKILL')
  }, 60000)
})
