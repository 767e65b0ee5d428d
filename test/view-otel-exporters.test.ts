/**
 * OpenTelemetry's own OTLP exporters (`@opentelemetry/exporter-trace-otlp-proto` and `-http`, JSON)
 * send the same spans to four viewers: protobuf and JSON, plain and gzip. Each viewer must hold the
 * same model and print the same waterfall, and the model must be what the spans were (the round
 * trip of our protobuf definitions against the bytes the exporter really sends). The exporters run
 * in a child process: they load node:http with a dynamic import() that jest's CommonJS sandbox
 * rejects (open-telemetry/opentelemetry-js#6035).
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { startViewer, type Viewer } from '@traceweave/view'
import { formatWaterfall } from '@traceweave/view/render'

const VIEW_DIR = resolve(__dirname, '..', 'packages', 'view')
const modulePath = (name: string) => require.resolve(name, { paths: [VIEW_DIR] })

const TRACE_ID = '5b8efff798038103d269b633813fc60c'
const T0 = 1_700_000_000_000 // ms

// The child: a real SDK provider with fixed IDs and explicit times, spans of every shape, then each
// exporter's export() of the same finished spans.
const CHILD = `
const api = require(${JSON.stringify(modulePath('@opentelemetry/api'))})
const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = require(${JSON.stringify(modulePath('@opentelemetry/sdk-trace-base'))})
const { resourceFromAttributes } = require(${JSON.stringify(modulePath('@opentelemetry/resources'))})
const { OTLPTraceExporter: ProtoExporter } = require(${JSON.stringify(modulePath('@opentelemetry/exporter-trace-otlp-proto'))})
const { OTLPTraceExporter: JsonExporter } = require(${JSON.stringify(modulePath('@opentelemetry/exporter-trace-otlp-http'))})
let next = 0
const memory = new InMemorySpanExporter()
const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'checkout', 'service.version': '1.4.2', 'host.name': 'box' }),
  idGenerator: { generateTraceId: () => '${TRACE_ID}', generateSpanId: () => (++next).toString(16).padStart(16, 'c') },
  spanProcessors: [new SimpleSpanProcessor(memory)],
})
const tracer = provider.getTracer('view-test', '0.0.1')
const root = tracer.startSpan('POST /checkout', {
  kind: api.SpanKind.SERVER, startTime: ${T0},
  attributes: { 'request.id': 'req-77', 'user.id': 'alice', 'session.operation': 3, 'sampling.adjusted_count': 4, ratio: 0.25, ok: true, tags: ['a', 'b'], big: 2 ** 40 },
})
const ctx = api.trace.setSpan(api.ROOT_CONTEXT, root)
const client = tracer.startSpan('POST /pay', { kind: api.SpanKind.CLIENT, startTime: [${T0 / 1000} + 0, 10_500_000], attributes: { 'http.request.resend_count': 1 } }, ctx)
client.addEvent('retry', { attempt: 2 }, [${T0 / 1000}, 12_000_000])
client.setStatus({ code: api.SpanStatusCode.ERROR, message: 'card declined' })
client.end([${T0 / 1000}, 40_250_000])
const linked = tracer.startSpan('audit', { startTime: ${T0} + 41, links: [{ context: client.spanContext(), attributes: { reason: 'follows' } }] }, ctx)
linked.end(${T0} + 45)
root.setStatus({ code: api.SpanStatusCode.OK })
root.end(${T0} + 50)
const spans = memory.getFinishedSpans()
const targets = JSON.parse(process.env.TARGETS)
;(async () => {
  for (const { url, encoding, compression } of targets) {
    const Exporter = encoding === 'protobuf' ? ProtoExporter : JsonExporter
    const exporter = new Exporter({ url, compression })
    const result = await new Promise((done) => exporter.export(spans, done))
    if (result.code !== 0) throw new Error(encoding + ' ' + compression + ': ' + (result.error && result.error.message))
    await exporter.shutdown()
  }
  console.log('exported ' + spans.length)
})().catch((error) => { console.error(error); process.exit(1) })
`

const VARIANTS = [
  { encoding: 'protobuf', compression: 'none' },
  { encoding: 'json', compression: 'none' },
  { encoding: 'protobuf', compression: 'gzip' },
  { encoding: 'json', compression: 'gzip' },
] as const

let viewers: Viewer[] = []
let workDir: string
let child: { code: number | null; stdout: string; stderr: string }

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'traceweave-view-otel-'))
  viewers = await Promise.all(
    VARIANTS.map(() => startViewer({ port: 0, ui: false, quiet: true, graceMs: 60_000 })),
  )
  const file = join(workDir, 'export.cjs')
  writeFileSync(file, CHILD)
  const targets = VARIANTS.map((variant, i) => ({ ...variant, url: viewers[i]!.tracesUrl }))
  child = await new Promise((done) => {
    const proc = spawn(process.execPath, [file], {
      env: { ...process.env, TARGETS: JSON.stringify(targets) },
    })
    let stdout = ''
    let stderr = ''
    proc.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    proc.on('exit', (code) => done({ code, stdout, stderr }))
  })
}, 30_000)
afterAll(async () => {
  await Promise.all(viewers.map((viewer) => viewer.close()))
  rmSync(workDir, { recursive: true, force: true })
})

const held = (viewer: Viewer) =>
  [...viewer.store.get(TRACE_ID)!.spans].sort((a, b) => a.spanId.localeCompare(b.spanId))

describe("OpenTelemetry's own OTLP exporters into the viewer", () => {
  it('exported to all four viewers without error', () => {
    expect(child).toEqual({ code: 0, stdout: 'exported 3\n', stderr: '' })
    expect(viewers.map((viewer) => viewer.store.stats.requests.traces)).toEqual([1, 1, 1, 1])
    expect(viewers.map((viewer) => viewer.store.stats.rejectedRequests)).toEqual([0, 0, 0, 0])
  })

  it('protobuf and JSON, gzip or not, are held as the same model and shown as the same waterfall', () => {
    const [proto, ...others] = viewers.map(held)
    for (const other of others) expect(other).toEqual(proto)
    const texts = viewers.map((viewer) => formatWaterfall(viewer.store.get(TRACE_ID)!.spans))
    for (const text of texts) expect(text).toBe(texts[0])
    expect(texts[0]).toContain('request.id=req-77')
  })

  it('round-trips what the SDK recorded: IDs, parents, kinds, times to the microsecond, values of every type, events, links, resource', () => {
    const [rootSpan, clientSpan, auditSpan] = held(viewers[0]!)
    const resource = expect.objectContaining({
      'service.name': 'checkout',
      'service.version': '1.4.2',
      'host.name': 'box',
    })
    expect(rootSpan).toEqual({
      traceId: TRACE_ID,
      spanId: 'ccccccccccccccc1',
      name: 'POST /checkout',
      kind: 'server',
      startMs: T0,
      endMs: T0 + 50,
      status: { code: 'ok' },
      attributes: {
        'request.id': 'req-77',
        'user.id': 'alice',
        'session.operation': 3,
        'sampling.adjusted_count': 4,
        ratio: 0.25,
        ok: true,
        tags: ['a', 'b'],
        big: 2 ** 40,
      },
      events: [],
      links: [],
      resource,
      scope: { name: 'view-test', version: '0.0.1' },
    })
    expect(clientSpan).toMatchObject({
      spanId: 'ccccccccccccccc2',
      parentSpanId: 'ccccccccccccccc1',
      kind: 'client',
      startMs: T0 + 10.5,
      endMs: T0 + 40.25,
      status: { code: 'error', message: 'card declined' },
      attributes: { 'http.request.resend_count': 1 },
      events: [{ name: 'retry', timeMs: T0 + 12, attributes: { attempt: 2 } }],
    })
    expect(auditSpan).toMatchObject({
      spanId: 'ccccccccccccccc3',
      parentSpanId: 'ccccccccccccccc1',
      kind: 'internal',
      links: [{ traceId: TRACE_ID, spanId: 'ccccccccccccccc2', attributes: { reason: 'follows' } }],
    })
  })
})
