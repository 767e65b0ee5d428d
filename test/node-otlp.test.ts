/**
 * setupTracing() in a real Node process, as a service runs it: the built @traceweave/node exports
 * over OTLP/HTTP to a receiver on 127.0.0.1 that decodes the JSON like a collector, and flushes on
 * SIGTERM. Child processes, not jest's own: the signal tests must let a process die, and the OTLP
 * exporter loads node:http with a dynamic import() that jest's CommonJS sandbox rejects unless jest
 * runs with --experimental-vm-modules (open-telemetry/opentelemetry-js#6035).
 */
import { existsSync } from 'node:fs'
import type { IncomingHttpHeaders } from 'node:http'
import { cleanUpChildScripts, MODULES, startScript, type RunningChild } from './support/child-script'
import { startOtlpReceiver, type OtlpReceiver } from './support/otlp-receiver'

const DIST = MODULES.node

interface OtlpSpan {
  name: string
  kind: number
  traceId: string
  spanId: string
  parentSpanId?: string
}
/** One request the receiver got, decoded the way a collector would. */
interface Received {
  path: string
  headers: IncomingHttpHeaders
  serviceName: string | undefined
  spans: OtlpSpan[]
}
interface OtlpBody {
  resourceSpans: Array<{
    resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> }
    scopeSpans: Array<{ spans: OtlpSpan[] }>
  }>
}

let receiver: OtlpReceiver
let base: string
let received: Received[] = []
let protobufBodies: Buffer[] = []
let onReceive: (() => void) | undefined

beforeAll(async () => {
  if (!existsSync(DIST)) {
    throw new Error(`${DIST} is missing: these tests run the built package; run pnpm build first`)
  }
  receiver = await startOtlpReceiver()
  base = receiver.origin
  // The wire form as sent: the JSON decoded here, the protobuf bodies kept as bytes.
  receiver.onExport = ({ path, headers, body }) => {
    if (headers['content-type'] === 'application/x-protobuf') {
      protobufBodies.push(body)
    } else {
      const json = JSON.parse(body.toString('utf8')) as OtlpBody
      received.push({
        path,
        headers,
        serviceName: json.resourceSpans[0]?.resource.attributes.find((a) => a.key === 'service.name')?.value
          .stringValue,
        spans: json.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans)),
      })
    }
    onReceive?.()
  }
})
afterAll(async () => {
  cleanUpChildScripts()
  await receiver.close()
})
beforeEach(() => {
  received = []
  protobufBodies = []
  receiver.mode = 'ok'
  onReceive = undefined
})

const spanNames = () => received.flatMap((r) => r.spans.map((s) => s.name)).sort()
const receivedSpan = () => new Promise<void>((done) => (onReceive = done))

// Ends a child that hangs far longer than any timeout under test (10 s is the OTLP exporter's own
// default), so a timeout option that is ignored fails the test instead of merely slowing it.
const WATCHDOG_MILLIS = 5000

/**
 * Runs `body` as a CommonJS script in a new Node process with `setupTracing` in scope (from the
 * built package) and `env` added to a clean environment (no OTEL_* from the parent).
 */
function runScript(body: string, env: Record<string, string> = {}): RunningChild {
  // The receiver's JSON is decoded here; the default protocol (http/protobuf) has its own test.
  return startScript(
    `const { setupTracing } = require(M.node)\n${body}`,
    { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', ...env },
    { watchdogMillis: WATCHDOG_MILLIS, stdin: true },
  )
}

/** How the child ended: its exit code or the signal that ended it. */
async function exitOf(child: RunningChild): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const { code, signal } = await child.exited
  return { code, signal }
}

// A traced request in the child: a server span with a client span inside it.
const TRACE_A_REQUEST = `
tracing.tracer.startActiveSpan('GET /orders/:id', { kind: 1 }, (span) => {
  tracing.tracer.startSpan('SELECT orders', { kind: 2 }).end()
  span.end()
})`

async function runRequest(options: object, env: Record<string, string> = {}, stderr = '') {
  const child = runScript(
    `const tracing = setupTracing(${JSON.stringify({ flushOnExit: false, ...options })})
${TRACE_A_REQUEST}
tracing.shutdown().then(() => console.log('done'))`,
    env,
  )
  expect({ ...(await exitOf(child)), stderr: child.stderr() }).toEqual({ code: 0, signal: null, stderr })
  expect(child.stdout()).toBe('done\n')
}

describe('the OTLP exporter, against a receiver on 127.0.0.1', () => {
  it('posts OTLP JSON with the spans, the service name and the headers option', async () => {
    await runRequest({
      serviceName: 'checkout',
      exporter: 'otlp',
      otlp: { url: `${base}/v1/traces`, headers: { 'x-api-key': 'secret-1' } },
    })
    expect(received).toHaveLength(1)
    const [request] = received
    expect(request!.path).toBe('/v1/traces')
    expect(request!.headers['content-type']).toBe('application/json')
    expect(request!.headers['x-api-key']).toBe('secret-1')
    expect(request!.serviceName).toBe('checkout')
    expect(spanNames()).toEqual(['GET /orders/:id', 'SELECT orders'])
    const server = request!.spans.find((s) => s.name === 'GET /orders/:id')!
    const client = request!.spans.find((s) => s.name === 'SELECT orders')!
    expect(client.traceId).toBe(server.traceId)
    expect(client.parentSpanId).toBe(server.spanId)
  })

  it('is the default, following OTEL_EXPORTER_OTLP_ENDPOINT (+ /v1/traces) and OTEL_EXPORTER_OTLP_HEADERS', async () => {
    await runRequest(
      {},
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: base,
        OTEL_EXPORTER_OTLP_HEADERS: 'x-team=payments,x-api-key=from-env',
        OTEL_SERVICE_NAME: 'env-service',
      },
    )
    expect(received.map((r) => r.path)).toEqual(['/v1/traces'])
    expect(received[0]!.headers).toMatchObject({ 'x-team': 'payments', 'x-api-key': 'from-env' })
    expect(received[0]!.serviceName).toBe('env-service')
  })

  it('prefers the _TRACES_ variables over the generic ones', async () => {
    await runRequest(
      {},
      {
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9/unused',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${base}/custom/traces`,
        OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=generic,x-team=payments',
        OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-api-key=traces',
      },
    )
    expect(received.map((r) => r.path)).toEqual(['/custom/traces'])
    expect(received[0]!.headers).toMatchObject({ 'x-api-key': 'traces', 'x-team': 'payments' })
  })

  it('lets otlp.url and otlp.headers in code beat the environment', async () => {
    await runRequest(
      { exporter: 'otlp', otlp: { url: `${base}/from-code`, headers: { 'x-api-key': 'from-code' } } },
      {
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:9/v1/traces',
        OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=env,x-team=payments',
      },
    )
    expect(received.map((r) => r.path)).toEqual(['/from-code'])
    expect(received[0]!.headers).toMatchObject({ 'x-api-key': 'from-code', 'x-team': 'payments' })
  })

  it('abandons a request after otlp.timeoutMillis, so shutdown() still completes', async () => {
    receiver.mode = 'hang'
    // Without the option the exporter would wait 10 s and the child would not print 'done' in time.
    await runRequest(
      { exporter: 'otlp', otlp: { url: `${base}/v1/traces`, timeoutMillis: 200 } },
      {},
      `traceweave: cannot export spans to ${base}/v1/traces: no answer within 200 ms (OTEL_EXPORTER_OTLP_TIMEOUT). ` +
        "Start a collector there (or run `npx @traceweave/view` to see traces locally), set OTEL_EXPORTER_OTLP_ENDPOINT to yours, or use setupTracing({ exporter: 'console' }); spans are dropped until it answers\n",
    )
    expect(spanNames()).toEqual(['GET /orders/:id', 'SELECT orders'])
  })

  it('sends http/protobuf by default (the OTLP default protocol), http/json when OTEL_EXPORTER_OTLP_PROTOCOL says so', async () => {
    await runRequest(
      { serviceName: 'proto-service' },
      { OTEL_EXPORTER_OTLP_ENDPOINT: base, OTEL_EXPORTER_OTLP_PROTOCOL: '' },
    )
    expect(received).toEqual([])
    expect(protobufBodies).toHaveLength(1)
    // Protobuf strings are their UTF-8 bytes: the names are in the body as sent.
    const body = protobufBodies[0]!.toString('latin1')
    for (const text of ['proto-service', 'GET /orders/:id', 'SELECT orders']) expect(body).toContain(text)

    await runRequest({}, { OTEL_EXPORTER_OTLP_ENDPOINT: base, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' })
    expect(spanNames()).toEqual(['GET /orders/:id', 'SELECT orders'])
    expect(protobufBodies).toHaveLength(1)
  })
})

describe('flush on SIGTERM in a child process', () => {
  // A service: tracing set up, one span finished and waiting in the batch queue (the scheduled export
  // is far away), then it idles like a server until a signal arrives.
  const service = (extra = '') => `
const tracing = setupTracing({
  serviceName: 'signal-test',
  otlp: { url: process.env.RECEIVER + '/v1/traces' },
  batch: { scheduledDelayMillis: 600000 },
  exitTimeoutMillis: Number(process.env.EXIT_TIMEOUT || 5000),
})
tracing.tracer.startSpan('before SIGTERM').end()
${extra}
setInterval(() => {}, 1000)
console.log('ready')`

  it('flushes, then exits by the signal when ours is the only listener', async () => {
    const child = runScript(service(), { RECEIVER: base })
    await child.printed('ready')
    expect(received).toEqual([]) // still queued: only the signal can have sent it
    child.kill('SIGTERM')
    expect(await exitOf(child)).toEqual({ code: null, signal: 'SIGTERM' })
    expect(spanNames()).toEqual(['before SIGTERM'])
    expect(received[0]!.serviceName).toBe('signal-test')
    expect(child.stderr()).toBe('')
  })

  it('does the same for SIGINT', async () => {
    const child = runScript(service(), { RECEIVER: base })
    await child.printed('ready')
    child.kill('SIGINT')
    expect(await exitOf(child)).toEqual({ code: null, signal: 'SIGINT' })
    expect(spanNames()).toEqual(['before SIGTERM'])
  })

  it('still exits by the signal after exitTimeoutMillis when the collector does not answer', async () => {
    receiver.mode = 'hang'
    const child = runScript(service(), { RECEIVER: base, EXIT_TIMEOUT: '300' })
    await child.printed('ready')
    child.kill('SIGTERM')
    expect(await exitOf(child)).toEqual({ code: null, signal: 'SIGTERM' })
    expect(spanNames()).toEqual(['before SIGTERM']) // the request was sent, just never answered
  })

  it("leaves the exit to the app's own SIGTERM handler, flushing alongside it", async () => {
    // The app's graceful shutdown: it exits with its own code when told the drain is done.
    const appHandler = `
process.on('SIGTERM', () => {
  console.log('app handler ran')
  process.stdin.on('data', () => process.exit(3))
})`
    const child = runScript(service(appHandler), { RECEIVER: base })
    await child.printed('ready')
    const flushed = receivedSpan()
    child.kill('SIGTERM')
    await flushed
    await child.printed('app handler ran')
    // Our flush is done; had we raised the signal again, the child would already be dying by SIGTERM.
    child.send('drained\n')
    expect(await exitOf(child)).toEqual({ code: 3, signal: null })
    expect(spanNames()).toEqual(['before SIGTERM'])
  })

  it('does nothing on SIGTERM with flushOnExit: false (Node exits at once, the span is lost)', async () => {
    const child = runScript(
      service().replace("serviceName: 'signal-test',", "serviceName: 'signal-test', flushOnExit: false,"),
      {
        RECEIVER: base,
      },
    )
    await child.printed('ready')
    child.kill('SIGTERM')
    expect(await exitOf(child)).toEqual({ code: null, signal: 'SIGTERM' })
    expect(received).toEqual([])
  })
})
