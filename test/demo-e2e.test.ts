/**
 * `npm run demo` end to end, as a user runs it (examples/demo/run.mjs in a child process, against the
 * built packages): four services export over OTLP to traceweave-view's receiver, and what the terminal
 * and the HTML report show is one trace per request across all of them.
 */
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const ROOT = resolve(__dirname, '..')
const SERVICES = ['gateway', 'orders', 'inventory', 'payments']

interface ReportSpan {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  kind: string
  attributes: Record<string, unknown>
  resource: Record<string, unknown>
}
interface ReportTrace {
  summary: { traceId: string; services: string[] }
  waterfall: { rows: Array<{ span: ReportSpan; service: string }> }
}

let workDir: string
let run: { code: number | null; stdout: string; stderr: string; ms: number }
let htmlFile: string

beforeAll(async () => {
  for (const name of ['view', 'node', 'express', 'koa', 'client', 'core']) {
    const dist = join(ROOT, 'packages', name, 'dist', 'index.js')
    if (!existsSync(dist))
      throw new Error(`${dist} is missing: the demo runs the built packages; run pnpm build first`)
  }
  workDir = mkdtempSync(join(tmpdir(), 'traceweave-demo-e2e-'))
  htmlFile = join(workDir, 'report.html')
  const started = Date.now()
  run = await new Promise((done) => {
    execFile(
      process.execPath,
      [join(ROOT, 'examples', 'demo', 'run.mjs'), '--html', htmlFile, '--requests', '30'],
      { cwd: ROOT, timeout: 80_000, env: { ...process.env, NO_COLOR: '1' } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0
        done({ code, stdout, stderr, ms: Date.now() - started })
      },
    )
  })
}, 90_000)
afterAll(() => rmSync(workDir, { recursive: true, force: true }))

function reportTraces(): ReportTrace[] {
  const html = readFileSync(htmlFile, 'utf8')
  const json = /<script id="traceweave-data" type="application\/json">([^<]*)<\/script>/.exec(html)?.[1]
  expect(json).toBeDefined()
  return (JSON.parse(json!) as { traces: ReportTrace[] }).traces
}

/** The traces printed as waterfalls in the terminal that span all four services in the report. */
function printedFullTraces(): ReportTrace[] {
  const printed = new Set([...run.stdout.matchAll(/^trace ([0-9a-f]{32}) /gm)].map((match) => match[1]))
  return reportTraces().filter(
    (trace) =>
      printed.has(trace.summary.traceId) && SERVICES.every((s) => trace.summary.services.includes(s)),
  )
}

describe('npm run demo (examples/demo/run.mjs)', () => {
  it('exits 0 by itself, having checked that every kept trace joined up', () => {
    expect(run.code).toBe(0)
    // The one line traceweave prints: the gateway withheld trace headers from the partner, as it should.
    expect(run.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^traceweave: trace headers withheld from 127\.0\.0\.1:\d+: it is not in the traceFetch\.propagateTo option/,
      ),
    ])
    expect(run.stdout).toMatch(
      /(\d+) traces kept of 30 requests; \1 joined up across gateway, orders, inventory, payments/,
    )
    process.stdout.write(`demo e2e: the demo took ${run.ms} ms\n`)
  })

  it('listens on ephemeral loopback ports only', () => {
    const ports = [...run.stdout.matchAll(/http:\/\/127\.0\.0\.1:(\d+)/g)].map((match) => Number(match[1]))
    expect(ports.length).toBeGreaterThanOrEqual(7)
    for (const port of ports) expect([4318, 4320, 3000]).not.toContain(port)
  })

  it('a trace printed in the terminal and held in the HTML report spans all four services under one trace ID', () => {
    const [trace] = printedFullTraces()
    expect(trace).toBeDefined()
    const spans = trace!.waterfall.rows.map((row) => row.span)
    expect(new Set(spans.map((span) => span.traceId))).toEqual(new Set([trace!.summary.traceId]))
    expect(new Set(spans.map((span) => span.resource['service.name']))).toEqual(new Set(SERVICES))
    // The terminal shows its rows too, not only its header.
    const block = run.stdout.slice(run.stdout.indexOf(`trace ${trace!.summary.traceId}`))
    for (const service of SERVICES) expect(block).toMatch(new RegExp(`^  ${service} `, 'm'))
  })

  it('with correct parent links: one root, every other span under a span of the trace, each hop under its caller', () => {
    for (const trace of printedFullTraces()) {
      const spans = trace.waterfall.rows.map((row) => row.span)
      const byId = new Map(spans.map((span) => [span.spanId, span]))
      const roots = spans.filter((span) => span.parentSpanId === undefined)
      expect(roots.map((root) => [root.resource['service.name'], root.kind])).toEqual([['gateway', 'server']])
      for (const span of spans) if (span !== roots[0]) expect(byId.has(span.parentSpanId!)).toBe(true)
      // Each service's SERVER span hangs under the CLIENT span of the service that called it.
      const caller: Record<string, string> = { orders: 'gateway', inventory: 'orders', payments: 'orders' }
      for (const span of spans.filter((s) => s.kind === 'server' && s !== roots[0])) {
        const parent = byId.get(span.parentSpanId!)!
        expect([span.resource['service.name'], parent.resource['service.name'], parent.kind]).toEqual([
          span.resource['service.name'],
          caller[span.resource['service.name'] as string],
          'client',
        ])
      }
    }
  })

  it('with one request.id, carried by the server span of every service', () => {
    for (const trace of printedFullTraces()) {
      const spans = trace.waterfall.rows.map((row) => row.span)
      const ids = new Set(spans.map((span) => span.attributes['request.id']).filter((id) => id !== undefined))
      expect(ids.size).toBe(1)
      for (const span of spans.filter((s) => s.kind === 'server'))
        expect(span.attributes['request.id']).toBe([...ids][0])
    }
  })

  it('the partner outside propagateTo received no trace headers, and its row says so by name', () => {
    const partnerUrl = /partner (http:\/\/127\.0\.0\.1:\d+)/.exec(run.stdout)?.[1]
    expect(partnerUrl).toBeDefined()
    expect(run.stdout).toMatch(
      /partner \(outside propagateTo\): [1-9]\d* calls, trace headers received: none/,
    )
    const [trace] = printedFullTraces()
    const spans = trace!.waterfall.rows.map((row) => row.span)
    const quote = spans.find((span) => span.name === 'partner quote: received no trace headers')
    expect(quote?.resource['service.name']).toBe('gateway')
    const call = spans.find((span) => span.parentSpanId === quote!.spanId)
    expect(call).toMatchObject({ kind: 'client' })
    expect(String(call!.attributes['url.full'])).toMatch(new RegExp(`^${partnerUrl}/`))
    expect(run.stdout).toContain('partner quote: received no trace headers')
  })

  it('ends with a sampling-stats table per service and the path of the HTML report', () => {
    const table = run.stdout.slice(run.stdout.indexOf('service    decisions'))
    expect(table).toMatch(/^gateway +30 +\d+ +\d+% +.*user \d+/m)
    for (const service of ['orders', 'inventory', 'payments'])
      expect(table).toMatch(new RegExp(`^${service} +\\d+ +\\d+ +\\d+% +parent \\d+`, 'm'))
    expect(run.stdout).toContain(`HTML report: ${htmlFile}`)
  })
})
