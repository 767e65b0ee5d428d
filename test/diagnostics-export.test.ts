/**
 * Export failures against real local servers: a closed port, a collector answering 503, one that never
 * answers, and one that recovers. Each cause is one sentence on stderr (where, why, what to do), once;
 * recovery is one line; `stats()` counts; nothing else is printed (no stacks, no line per batch).
 * Also what Ctrl-C says while spans wait for an endpoint that is down, and the quick start with no
 * collector. Child processes: stderr is what is under test.
 */
import { connect } from 'node:net'
import {
  APP_DIAG_LOGGER,
  cleanUpChildScripts,
  runScript,
  startScript,
  traceweaveLines,
  type ChildResult,
} from './support/child-script'
import { closedPort, listen, type ListeningServer } from './support/servers'

const servers: ListeningServer[] = []
afterAll(async () => {
  cleanUpChildScripts()
  for (const server of servers) await server.close()
})

/** A collector stand-in on 127.0.0.1 that answers each export with `respond(n)` (n counts from 0). */
async function collector(
  respond: (n: number) => number | 'never',
): Promise<{ url: string; requests: () => number }> {
  let count = 0
  const server = await listen((req, res) => {
    const status = respond(count++)
    req.resume()
    if (status === 'never') return
    req.on('end', () => res.writeHead(status, { 'content-type': 'application/x-protobuf' }).end())
  })
  servers.push(server)
  return { url: server.url, requests: () => count }
}

/** An endpoint nothing listens on. */
const closedEndpoint = async () => `http://127.0.0.1:${await closedPort()}`

// Two exports of one span each (so "once" is tested), then the counters, then shutdown.
const TWO_EXPORTS = `
const { setupTracing } = require(M.node)
const tracing = setupTracing({ serviceName: 'exporting', flushOnExit: false, batch: { scheduledDelayMillis: 600000 } })
;(async () => {
  for (let i = 0; i < 2; i++) {
    tracing.tracer.startSpan('span ' + i).end()
    await tracing.forceFlush()
  }
  console.log(JSON.stringify(tracing.stats()))
  await tracing.shutdown()
})()`

const stats = (result: ChildResult) => JSON.parse(result.stdout.split('\n').find((l) => l.startsWith('{'))!)
const env = (endpoint: string, timeout = '500') => ({
  OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
  OTEL_EXPORTER_OTLP_TIMEOUT: timeout,
})
const ADVICE =
  "Start a collector there (or run `npx @traceweave/view` to see traces locally), set OTEL_EXPORTER_OTLP_ENDPOINT to yours, or use setupTracing({ exporter: 'console' }); spans are dropped until it answers"

describe('export failures', () => {
  it('connection refused (a closed port): one sentence naming the URL, the cause and what to do; counted in stats()', async () => {
    const endpoint = await closedEndpoint()
    const result = await runScript(TWO_EXPORTS, env(endpoint))
    expect(result.code).toBe(0)
    expect(result.stderr).toBe(
      `traceweave: cannot export spans to ${endpoint}/v1/traces: connection refused (nothing listens there). ${ADVICE}\n`,
    )
    expect(stats(result)).toEqual({
      droppedSpans: 0,
      exportedSpans: 0,
      failedExports: 2,
      lastExportError: 'connection refused (nothing listens there)',
      unflushedSpans: 0,
    })
  })

  it('HTTP 503: names the status, once, though the exporter retried', async () => {
    const { url, requests } = await collector(() => 503)
    const result = await runScript(TWO_EXPORTS, env(url, '1500'))
    expect(result.code).toBe(0)
    expect(result.stderr).toBe(
      `traceweave: cannot export spans to ${url}/v1/traces: HTTP 503 (the collector is overloaded or failing; ` +
        'see its logs); spans are dropped until it accepts them\n',
    )
    expect(stats(result)).toMatchObject({ exportedSpans: 0, failedExports: 2, lastExportError: 'HTTP 503' })
    expect(requests()).toBeGreaterThanOrEqual(2)
  })

  it('HTTP 401: says to check the URL and the headers', async () => {
    const { url } = await collector(() => 401)
    const result = await runScript(TWO_EXPORTS, env(url))
    expect(traceweaveLines(result.stderr)).toEqual([
      `traceweave: cannot export spans to ${url}/v1/traces: HTTP 401. Check the URL (OTEL_EXPORTER_OTLP_ENDPOINT) and ` +
        'the headers it needs (OTEL_EXPORTER_OTLP_HEADERS, an API key?); spans are dropped until it accepts them',
    ])
    expect(stats(result)).toMatchObject({ failedExports: 2, lastExportError: 'HTTP 401' })
  })

  it('a collector that never answers: a timeout after OTEL_EXPORTER_OTLP_TIMEOUT, told once', async () => {
    const { url } = await collector(() => 'never')
    const result = await runScript(TWO_EXPORTS, env(url, '300'))
    expect(result.code).toBe(0)
    expect(result.stderr).toBe(
      `traceweave: cannot export spans to ${url}/v1/traces: no answer within 300 ms (OTEL_EXPORTER_OTLP_TIMEOUT). ${ADVICE}\n`,
    )
    expect(stats(result)).toMatchObject({ exportedSpans: 0, failedExports: 2 })
  })

  it('recovery: one line when spans get through again, and the counters show both', async () => {
    const { url } = await collector((n) => (n === 0 ? 503 : 200))
    const result = await runScript(TWO_EXPORTS, env(url))
    expect(traceweaveLines(result.stderr)).toEqual([
      `traceweave: cannot export spans to ${url}/v1/traces: HTTP 503 (the collector is overloaded or failing; see its logs); spans are dropped until it accepts them`,
      `traceweave: spans reach ${url}/v1/traces again (1 failed export(s) so far; their spans were lost)`,
    ])
    expect(stats(result)).toEqual({
      droppedSpans: 0,
      exportedSpans: 1,
      failedExports: 1,
      lastExportError: 'HTTP 503',
      unflushedSpans: 0,
    })
  })

  it('prints nothing with OTEL_LOG_LEVEL=none, and still counts', async () => {
    const endpoint = await closedEndpoint()
    const result = await runScript(TWO_EXPORTS, { ...env(endpoint), OTEL_LOG_LEVEL: 'none' })
    expect(result.stderr).toBe('')
    expect(stats(result)).toMatchObject({ failedExports: 2 })
  })

  it("goes to the app's diag logger when it installed one, once, without the SDK's per-batch stack", async () => {
    const endpoint = await closedEndpoint()
    const result = await runScript(`${APP_DIAG_LOGGER}\n${TWO_EXPORTS}`, env(endpoint))
    expect(result.stderr).toBe('')
    const ours = result.stdout.split('\n').filter((line) => line.startsWith('APPLOG warn traceweave '))
    expect(ours).toEqual([
      `APPLOG warn traceweave cannot export spans to ${endpoint}/v1/traces: connection refused (nothing listens there). ${ADVICE}`,
    ])
    // The batch processor is never told of the failure, so the SDK's global error handler logs nothing.
    expect(result.stdout).not.toMatch(/APPLOG error/)
  })
})

describe('Ctrl-C with spans queued and nowhere to send them', () => {
  it('says what it waits for, then exits by the signal', async () => {
    const endpoint = await closedEndpoint()
    const child = startScript(
      `
const { setupTracing } = require(M.node)
const tracing = setupTracing({ serviceName: 'ctrl-c', exitTimeoutMillis: 1500, batch: { scheduledDelayMillis: 600000 } })
tracing.tracer.startSpan('queued').end()
setInterval(() => {}, 1000)
console.log('ready')`,
      { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint },
    )
    await child.printed('ready')
    child.kill('SIGINT')
    const result = await child.exited
    expect(result.signal).toBe('SIGINT')
    const waiting = traceweaveLines(result.stderr).filter((line) => line.includes('waiting'))
    expect(waiting).toEqual([
      `traceweave: waiting up to 1500 ms to export the queued spans to ${endpoint}/v1/traces ` +
        '(failing: connection refused (nothing listens there)); press Ctrl-C again to exit now',
    ])
  })

  it('on SIGTERM (a supervisor, not a person) it names the signal instead of Ctrl-C', async () => {
    const endpoint = await closedEndpoint()
    const child = startScript(
      `
const { setupTracing } = require(M.node)
const tracing = setupTracing({ serviceName: 'sigterm', exitTimeoutMillis: 1500, batch: { scheduledDelayMillis: 600000 } })
tracing.tracer.startSpan('queued').end()
setInterval(() => {}, 1000)
console.log('ready')`,
      { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint },
    )
    await child.printed('ready')
    child.kill('SIGTERM')
    const result = await child.exited
    expect(result.signal).toBe('SIGTERM')
    const waiting = traceweaveLines(result.stderr).filter((line) => line.includes('waiting'))
    expect(waiting).toEqual([expect.stringMatching(/; a second SIGTERM exits now$/)])
  })
})

/** Whether something answers on localhost:4318 (another engineer's collector or viewer, say). */
function defaultEndpointTaken(): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(4318, 'localhost')
    socket.once('connect', () => {
      socket.destroy()
      done(true)
    })
    socket.once('error', () => done(false))
  })
}

test('the quick start app with no collector prints one line saying where the spans went and how to see them', async () => {
  // The README's smallest Express app, unchanged; the default endpoint unless something listens there.
  const endpoint = (await defaultEndpointTaken()) ? await closedEndpoint() : undefined
  const child = startScript(
    `
const { setupTracing } = require(M.node)
const express = require(M.express5)
const { traceweave } = require(M.express)

setupTracing({ serviceName: 'checkout' })

const app = express()
app.use(traceweave())
app.get('/users/:id', (req, res) => res.json({ id: req.params.id }))
const server = app.listen(0, async () => {
  await fetch('http://127.0.0.1:' + server.address().port + '/users/7').then((res) => res.text())
  console.log('served')
})`,
    endpoint === undefined ? {} : { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint },
  )
  await child.printed('served')
  const url = `${endpoint ?? 'http://localhost:4318'}/v1/traces`
  // The first scheduled export runs 5 s after the span ends; then the line is there, alone.
  const lines = await child.stderrLines(1)
  // A moment for a second line, had there been one to print.
  await new Promise((done) => setTimeout(done, 500))
  child.kill('SIGKILL')
  const result = await child.exited
  expect(lines).toEqual([
    `traceweave: cannot export spans to ${url}: connection refused (nothing listens there). ${ADVICE}`,
  ])
  expect(result.stderr).toBe(`${lines[0]}\n`)
}, 30000)
