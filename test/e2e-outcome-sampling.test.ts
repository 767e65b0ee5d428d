/**
 * Issue 16, end to end: three real services in separate processes (A Express -> B Koa -> C Express),
 * all `decide: 'deferred'`, `ratio: 0`, rules `[{ status: 'error', sample: 1 }, { minDurationMs: 300,
 * sample: 1 }]`, `traceResponse: true`, exporting over OTLP/HTTP to a receiver in this process on
 * 127.0.0.1 (the OTLP exporter does not run in jest's sandbox: see node-otlp.test.ts). A calls B with
 * traced axios (default validateStatus: B's 5xx rejects), B calls C with traced fetch.
 *
 * Trace Context, "Load Balancer Deferred Sampling": "the downstream service may return its updated
 * sampling decision to the caller via the traceresponse header. Based on this, the caller may change
 * its sampling decision and in turn also return its updated sampling decision to its caller".
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { request as httpRequest } from 'node:http'
import { resolve } from 'node:path'
import { childEnv } from './support/child-script'
import { startOtlpReceiver, type OtlpReceiver } from './support/otlp-receiver'

const FIXTURE = resolve(__dirname, 'fixtures', 'outcome', 'service.cjs')

interface ExportedSpan {
  service: string
  scope: string
  name: string
  kind: number
  traceId: string
  spanId: string
  parentSpanId: string
  flags: number
  attributes: Record<string, unknown>
}

interface OtlpValue {
  stringValue?: string
  boolValue?: boolean
  intValue?: string | number
  doubleValue?: number
}
interface OtlpBody {
  resourceSpans: Array<{
    resource: { attributes: Array<{ key: string; value: OtlpValue }> }
    scopeSpans: Array<{
      scope?: { name?: string }
      spans: Array<{
        name: string
        kind: number
        traceId: string
        spanId: string
        parentSpanId?: string
        flags?: number
        attributes?: Array<{ key: string; value: OtlpValue }>
      }>
    }>
  }>
}

const SERVER = 2 // OTLP's SPAN_KIND_SERVER
const CLIENT = 3 // OTLP's SPAN_KIND_CLIENT

function valueOf(value: OtlpValue): unknown {
  if (value.stringValue !== undefined) return value.stringValue
  if (value.boolValue !== undefined) return value.boolValue
  if (value.intValue !== undefined) return Number(value.intValue)
  return value.doubleValue
}

let receiver: OtlpReceiver
let otlpUrl: string
let exported: ExportedSpan[] = []

beforeAll(async () => {
  receiver = await startOtlpReceiver()
  // The spans as sent (OTLP JSON: numeric kinds, flags), decoded here.
  receiver.onExport = (request) => {
    const body = JSON.parse(request.body.toString('utf8')) as OtlpBody
    for (const resourceSpans of body.resourceSpans) {
      const service = String(
        valueOf(resourceSpans.resource.attributes.find((a) => a.key === 'service.name')!.value),
      )
      for (const scope of resourceSpans.scopeSpans) {
        for (const span of scope.spans) {
          exported.push({
            service,
            scope: scope.scope?.name ?? '',
            name: span.name,
            kind: span.kind,
            traceId: span.traceId,
            spanId: span.spanId,
            parentSpanId: span.parentSpanId ?? '',
            flags: span.flags ?? 0,
            attributes: Object.fromEntries((span.attributes ?? []).map((a) => [a.key, valueOf(a.value)])),
          })
        }
      }
    }
  }
  otlpUrl = receiver.url
})
afterAll(() => receiver.close())

interface Service {
  name: string
  url: string
  child: ChildProcess
  stderr: () => string
}

async function startService(name: string, downstream: string | undefined, instrumented: boolean) {
  const child = spawn(process.execPath, [FIXTURE], {
    cwd: __dirname,
    env: childEnv({
      // The spans are decoded here from JSON; the default protocol (http/protobuf) has its own test.
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      SERVICE: name,
      OTLP_URL: otlpUrl,
      DOWNSTREAM: downstream ?? '',
      HTTP_INSTRUMENTATION: instrumented ? '1' : '0',
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const port = await new Promise<number>((done, fail) => {
    let stdout = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
      const match = /listening (\d+)/.exec(stdout)
      if (match !== null) done(Number(match[1]))
    })
    child.on('exit', (code) => fail(new Error(`service ${name} exited (${code}): ${stderr}`)))
  })
  return { name, url: `http://127.0.0.1:${port}`, child, stderr: () => stderr }
}

/** A plain GET (no trace headers): the test is the services' first caller. */
function get(url: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((done, fail) => {
    httpRequest(url, { agent: false }, (res) => {
      let body = ''
      res.on('data', (chunk: Buffer) => (body += chunk.toString()))
      res.on('end', () => done({ status: res.statusCode!, headers: res.headers, body }))
    })
      .on('error', fail)
      .end()
  })
}

for (const instrumented of [false, true]) {
  const label = instrumented ? 'with the http instrumentation on outgoing calls' : 'traceweave alone'
  describe(`an error or a slow answer at any hop keeps the path to it (${label})`, () => {
    let a: Service
    let b: Service
    let c: Service

    beforeAll(async () => {
      c = await startService('c', undefined, instrumented)
      b = await startService('b', c.url, instrumented)
      a = await startService('a', b.url, instrumented)
    }, 30_000)
    afterAll(async () => {
      for (const service of [a, b, c]) {
        if (service === undefined) continue
        const exited = new Promise((done) => service.child.once('exit', done))
        service.child.kill('SIGTERM')
        await exited
      }
    })
    beforeEach(() => {
      exported = []
    })

    /** Flushes every service's exporter, then returns what the receiver has. */
    async function flushed(): Promise<ExportedSpan[]> {
      for (const service of [a, b, c]) await get(`${service.url}/__flush`)
      return exported
    }
    const stats = async (service: Service) => JSON.parse((await get(`${service.url}/__stats`)).body)
    const spansOf = (spans: ExportedSpan[], service: Service) =>
      spans.filter((span) => span.service === `outcome-${service.name}`)
    const serverOf = (spans: ExportedSpan[], service: Service) =>
      spansOf(spans, service).find((span) => span.kind === SERVER)!

    /** Every span of one trace is connected, and the root is A's SERVER span. */
    function expectOneTreeRootedAtA(spans: ExportedSpan[]) {
      expect(new Set(spans.map((span) => span.traceId)).size).toBe(1)
      const byId = new Map(spans.map((span) => [span.spanId, span]))
      const roots = spans.filter((span) => !byId.has(span.parentSpanId))
      expect(roots.map((span) => [span.service, span.kind, span.parentSpanId])).toEqual([
        ['outcome-a', SERVER, ''],
      ])
    }

    it('C answers 500 and B passes it on: A, B and C keep their spans, one trace rooted at A', async () => {
      const response = await get(`${a.url}/a?mode=fail-pass`)
      expect(response.status).toBe(500)
      const spans = await flushed()
      for (const service of [a, b, c]) expect(spansOf(spans, service).length).toBeGreaterThan(0)
      expectOneTreeRootedAtA(spans)
      // Every exported span says sampled (the SDK recorded them unsampled: the export view is fixed).
      expect(spans.every((span) => (span.flags & 1) === 1)).toBe(true)
      expect(serverOf(spans, c).attributes['http.response.status_code']).toBe(500)
      expect(serverOf(spans, b).attributes['http.response.status_code']).toBe(500)
      expect(serverOf(spans, a).attributes['http.response.status_code']).toBe(500)
      // The caller's spans: the CLIENT span of each call, kept before it ended.
      expect(spansOf(spans, a).some((span) => span.kind === CLIENT)).toBe(true)
      expect(spansOf(spans, b).some((span) => span.kind === CLIENT)).toBe(true)
      // The response said so, with the random bit of a trace ID generated by A's SDK.
      expect(response.headers.traceresponse).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-03$/)
      expect(String(response.headers.traceresponse).split('-')[1]).toBe(spans[0]!.traceId)
    }, 30_000)

    it('C answers 500 and B absorbs it (200): A, B and C keep their spans, A and B marked upgraded', async () => {
      const before = await Promise.all([stats(a), stats(b), stats(c)])
      const response = await get(`${a.url}/a?mode=fail-absorb`)
      expect(response.status).toBe(200)
      const spans = await flushed()
      for (const service of [a, b, c]) expect(spansOf(spans, service).length).toBeGreaterThan(0)
      expectOneTreeRootedAtA(spans)
      expect(serverOf(spans, c).attributes['http.response.status_code']).toBe(500)
      expect(serverOf(spans, b).attributes['http.response.status_code']).toBe(200)
      // With the instrumentation, its CLIENT span under A's axios span is held and kept with the rest.
      const theirs = spans.filter((span) => span.scope === '@opentelemetry/instrumentation-http')
      expect(theirs.map((span) => [span.service, span.kind])).toEqual(
        instrumented ? [['outcome-a', CLIENT]] : [],
      )
      for (const service of [a, b]) {
        for (const span of spansOf(spans, service)) {
          expect(span.attributes['sampling.upgraded']).toBe(true)
          // The probability of an upgraded trace is unknown: no adjusted count.
          expect(span.attributes['sampling.adjusted_count']).toBeUndefined()
        }
      }
      expect(response.headers.traceresponse).toMatch(/-03$/)
      // Counted once per request, the upgrades by cause: C by its status, B and A by their callee.
      const after = await Promise.all([stats(a), stats(b), stats(c)])
      const delta = (index: number, field: string) => {
        const count = (stat: Record<string, Record<string, number>>) => stat.upgradedByReason![field] ?? 0
        return count(after[index]) - count(before[index])
      }
      expect([delta(0, 'downstream'), delta(1, 'downstream'), delta(2, 'error')]).toEqual([1, 1, 1])
      expect([delta(0, 'error'), delta(1, 'error'), delta(2, 'downstream')]).toEqual([0, 0, 0])
      for (const [index, stat] of after.entries()) {
        expect(stat.total - before[index].total).toBe(1) // one decision per request
        expect(stat.sampled - before[index].sampled).toBe(1) // kept once
        expect(stat.upgraded - before[index].upgraded).toBe(1)
      }
    }, 30_000)

    it('B sleeps 400 ms: A and B keep their spans (minDurationMs: 300)', async () => {
      const response = await get(`${a.url}/a?mode=slow`)
      expect(response.status).toBe(200)
      const spans = await flushed()
      expect(spansOf(spans, a).length).toBeGreaterThan(0)
      expect(spansOf(spans, b).length).toBeGreaterThan(0)
      expect(spansOf(spans, c)).toEqual([]) // not called
      expectOneTreeRootedAtA(spans)
      expect(response.headers.traceresponse).toMatch(/-03$/)
    }, 30_000)

    it('100 normal requests: none is kept, and each answers unsampled with the random bit (-02)', async () => {
      const before = await Promise.all([stats(a), stats(b), stats(c)])
      for (let i = 0; i < 100; i++) {
        const response = await get(`${a.url}/a?mode=normal`)
        expect(response.status).toBe(200)
        expect(response.headers.traceresponse).toMatch(/-02$/)
      }
      expect(await flushed()).toEqual([])
      const after = await Promise.all([stats(a), stats(b), stats(c)])
      for (const [index, stat] of after.entries()) {
        expect(stat.total - before[index].total).toBe(100)
        expect(stat.sampled - before[index].sampled).toBe(0)
      }
      for (const service of [a, b, c]) expect(service.stderr()).toBe('')
    }, 60_000)
  })
}
