/**
 * The viewer in-process on ephemeral ports: its OTLP/HTTP receiver (JSON, protobuf, gzip), the
 * bounds, the rejections, the page's API and Host check, the HTML report and the listen errors.
 */
import { request } from 'node:http'
import { connect } from 'node:net'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { deflateSync, gzipSync } from 'node:zlib'
import { startViewer, ViewerListenError, type Viewer } from '@traceweave/view'
import { ExportTraceServiceRequest } from '../packages/view/src/otlp/schema'
import { checkoutTrace, otlpJson, testTraceId } from './support/otlp-json'

let viewer: Viewer
let output = ''
let workDir: string

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'traceweave-view-'))
  viewer = await startViewer({
    port: 0,
    uiPort: 0,
    graceMs: 100,
    maxBodyBytes: 64 * 1024,
    color: false,
    write: (text) => (output += text),
  })
})
afterAll(async () => {
  await viewer.close()
  rmSync(workDir, { recursive: true, force: true })
})

function post(
  path: string,
  body: string | Uint8Array,
  headers: Record<string, string>,
  base = viewer.otlpUrl,
) {
  return fetch(`${base}${path}`, { method: 'POST', headers, body })
}
const JSON_TYPE = { 'content-type': 'application/json' }
const PROTO_TYPE = { 'content-type': 'application/x-protobuf' }

/** The same request as protobuf, encoded from the JSON form (IDs as bytes). */
function toProtobuf(json: string): Uint8Array {
  const message = JSON.parse(json)
  for (const rs of message.resourceSpans) {
    for (const ss of rs.scopeSpans) {
      for (const span of ss.spans) {
        for (const key of ['traceId', 'spanId', 'parentSpanId']) span[key] = Buffer.from(span[key], 'hex')
      }
    }
  }
  return ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(message)).finish()
}

const waitFor = async (check: () => boolean, what: string, ms = 5000) => {
  const until = Date.now() + ms
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((done) => setTimeout(done, 20))
  }
}

function httpRequest(
  port: number,
  path: string,
  headers: Record<string, string>,
  method = 'GET',
  body?: string,
): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      let text = ''
      res.on('data', (chunk: Buffer) => (text += chunk.toString()))
      res.on('end', () => resolve({ status: res.statusCode!, body: text, headers: res.headers }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

async function getPage(path: string, host: string): Promise<{ status: number; body: string }> {
  const { status, body } = await httpRequest(viewer.ports.ui, path, { host })
  return { status, body }
}

describe('the OTLP/HTTP receiver', () => {
  it.each([
    ['JSON', JSON_TYPE, (json: string) => json, {}],
    ['protobuf', PROTO_TYPE, toProtobuf, {}],
    ['gzip JSON', JSON_TYPE, (json: string) => gzipSync(json), { 'content-encoding': 'gzip' }],
    [
      'gzip protobuf',
      PROTO_TYPE,
      (json: string) => gzipSync(toProtobuf(json)),
      { 'content-encoding': 'gzip' },
    ],
    [
      'deflate protobuf',
      PROTO_TYPE,
      (json: string) => deflateSync(toProtobuf(json)),
      { 'content-encoding': 'deflate' },
    ],
  ])(
    'takes %s at /v1/traces and holds the trace, all services in one',
    async (_name, type, encode, encoding) => {
      const traceId = testTraceId()
      const response = await post('/v1/traces', encode(otlpJson(checkoutTrace(traceId, 'req-enc'))), {
        ...type,
        ...encoding,
      })
      expect(response.status).toBe(200)
      expect(response.headers.get('content-type')).toBe(type['content-type'])
      const trace = viewer.store.get(traceId)!
      expect(trace.spans.map((s) => s.name).sort()).toEqual([
        'GET /stock/:sku',
        'POST /checkout',
        'POST /orders',
        'POST /pay',
      ])
      expect(new Set(trace.spans.map((s) => s.resource['service.name']))).toEqual(
        new Set(['gateway', 'orders', 'inventory', 'payments']),
      )
    },
  )

  it('prints the waterfall of a trace once its grace has passed', async () => {
    const traceId = testTraceId()
    await post('/v1/traces', otlpJson(checkoutTrace(traceId, 'req-print')), JSON_TYPE)
    await waitFor(() => output.includes(`trace ${traceId}`), 'the waterfall')
    const block = output
      .slice(output.indexOf(`trace ${traceId}`))
      .split('\n\n')[0]!
      .trimEnd()
    const lines = block.split('\n')
    expect(lines[0]).toBe(`trace ${traceId}  POST /checkout  200.0 ms  4 spans  4 services  1 error`)
    expect(
      lines.slice(1).map((line) =>
        line
          .trim()
          .split(/\s{2,}/)
          .slice(0, 2),
      ),
    ).toEqual([
      ['gateway', 'POST /checkout'],
      ['orders', 'POST /orders'],
      ['inventory', 'GET /stock/:sku'],
      ['payments', 'POST /pay'],
    ])
    expect(lines[1]).toContain('request.id=req-print session.id=sess-1 user.id=alice')
    expect(lines[4]).toContain('ERROR "card declined"  http.request.resend_count=1')
  })

  it('accepts and counts /v1/metrics and /v1/logs instead of failing the sender', async () => {
    const before = { ...viewer.store.stats.requests }
    expect((await post('/v1/metrics', '{"resourceMetrics":[]}', JSON_TYPE)).status).toBe(200)
    expect(
      (
        await post('/v1/logs', gzipSync(Buffer.from([0x0a, 0x00])), {
          ...PROTO_TYPE,
          'content-encoding': 'gzip',
        })
      ).status,
    ).toBe(200)
    expect(viewer.store.stats.requests).toEqual({
      ...before,
      metrics: before.metrics + 1,
      logs: before.logs + 1,
    })
  })

  it('answers a malformed, oversized or undecodable body with 400, counts it, and keeps serving', async () => {
    const before = viewer.store.stats.rejectedRequests
    const bad = [
      post('/v1/traces', '{"resourceSpans": ', JSON_TYPE),
      post('/v1/traces', '{"resourceSpans": 7}', JSON_TYPE),
      post('/v1/traces', Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), PROTO_TYPE),
      post('/v1/traces', Buffer.from('not gzip'), { ...PROTO_TYPE, 'content-encoding': 'gzip' }),
      post('/v1/traces', '{}', { ...JSON_TYPE, 'content-encoding': 'br' }),
      post('/v1/traces', 'x'.repeat(200 * 1024), JSON_TYPE), // over maxBodyBytes (64 KiB)
      post('/v1/traces', gzipSync(Buffer.alloc(10 * 1024 * 1024, 0x20)), {
        ...JSON_TYPE,
        'content-encoding': 'gzip',
      }), // a gzip bomb
    ]
    const responses = await Promise.all(bad)
    expect(responses.map((r) => r.status)).toEqual([400, 400, 400, 400, 400, 400, 400])
    const body = (await responses[0]!.json()) as { code: number; message: string }
    expect(body).toEqual({ code: 3, message: 'body is not an OTLP ExportTraceServiceRequest (json)' })
    expect(viewer.store.stats.rejectedRequests).toBe(before + 7)
    const traceId = testTraceId()
    expect((await post('/v1/traces', otlpJson(checkoutTrace(traceId, 'req-after')), JSON_TYPE)).status).toBe(
      200,
    )
    expect(viewer.store.get(traceId)).toBeDefined()
  })

  it('lets go of a body whose sender disconnects halfway (counted), and keeps serving', async () => {
    const before = viewer.store.stats.rejectedRequests
    const socket = connect(viewer.ports.otlp, '127.0.0.1')
    await new Promise((done) => socket.once('connect', done))
    socket.write(
      'POST /v1/traces HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"resourceSpans":',
    )
    await new Promise((done) => setTimeout(done, 50))
    socket.destroy()
    await waitFor(
      () => viewer.store.stats.rejectedRequests === before + 1,
      'the aborted request to be counted',
    )
    expect((await post('/v1/traces', '{}', JSON_TYPE)).status).toBe(200)
  })

  it('answers 415 for another content type, 405 for GET, 404 elsewhere', async () => {
    expect((await post('/v1/traces', '{}', { 'content-type': 'text/plain' })).status).toBe(415)
    expect((await fetch(`${viewer.tracesUrl}`)).status).toBe(405)
    expect((await post('/v1/other', '{}', JSON_TYPE)).status).toBe(404)
  })

  it('lets a web app on a loopback origin send from the browser (CORS), and no other origin', async () => {
    const preflight = (origin: string) =>
      httpRequest(
        viewer.ports.otlp,
        '/v1/traces',
        { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
        'OPTIONS',
      )
    const local = await preflight('http://localhost:3000')
    expect(local.status).toBe(204)
    expect(local.headers['access-control-allow-origin']).toBe('http://localhost:3000')
    expect(local.headers['access-control-allow-headers']).toBe('content-type')
    expect((await preflight('https://evil.example')).status).toBe(403)
    const foreign = await httpRequest(
      viewer.ports.otlp,
      '/v1/traces',
      { ...JSON_TYPE, origin: 'https://evil.example' },
      'POST',
      '{}',
    )
    expect(foreign.status).toBe(200)
    expect(foreign.headers['access-control-allow-origin']).toBeUndefined()
  })

  it('drops spans without valid IDs and says so in a partial success (OTLP), keeping the rest', async () => {
    const traceId = testTraceId()
    const spans = checkoutTrace(traceId, 'req-partial')
    spans.push({ ...spans[0]!, spanId: 'nothex' })
    const response = await post('/v1/traces', otlpJson(spans), JSON_TYPE)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({
      partialSuccess: {
        rejectedSpans: 1,
        errorMessage: 'spans without a valid trace or span ID were dropped',
      },
    })
    expect(viewer.store.get(traceId)!.spans).toHaveLength(4)
  })

  it('listens on IPv6 ::1 as well as 127.0.0.1, so `localhost` works either way', async () => {
    if (!viewer.hosts.includes('::1')) {
      console.log('skipped: this machine has no IPv6 loopback (::1)')
      return
    }
    expect(viewer.hosts).toEqual(['127.0.0.1', '::1'])
    const traceId = testTraceId()
    const response = await post(
      '/v1/traces',
      otlpJson(checkoutTrace(traceId, 'req-v6')),
      JSON_TYPE,
      `http://[::1]:${viewer.ports.otlp}`,
    )
    expect(response.status).toBe(200)
    expect(viewer.store.get(traceId)).toBeDefined()
    expect((await fetch(`http://[::1]:${viewer.ports.ui}/api/traces`)).status).toBe(200)
  })
})

describe('memory bounds', () => {
  it('holds at most maxTraces under a flood of requests, the oldest dropped and counted', async () => {
    const small = await startViewer({
      port: 0,
      ui: false,
      quiet: true,
      maxTraces: 20,
      maxSpansPerTrace: 3,
      graceMs: 50,
    })
    try {
      const ids: string[] = []
      for (let batch = 0; batch < 10; batch++) {
        await Promise.all(
          Array.from({ length: 30 }, () => {
            const id = testTraceId()
            ids.push(id)
            return post('/v1/traces', otlpJson(checkoutTrace(id, 'flood')), JSON_TYPE, small.otlpUrl).then(
              (r) => r.status,
            )
          }),
        )
      }
      expect(small.store.all()).toHaveLength(20)
      expect(small.store.all().every((t) => t.spans.length <= 3)).toBe(true)
      expect(small.store.stats).toMatchObject({ traces: 20, droppedTraces: 280, spansReceived: 1200 })
      // Dropped spans: the 4th span of each of the 300 traces, plus the 3 held by each of the 280 dropped.
      expect(small.store.stats.droppedSpans).toBe(300 + 280 * 3)
    } finally {
      await small.close()
    }
  })
})

describe('the web page server', () => {
  it('serves the page and the API to a loopback name or an IP literal in Host, refuses other host names (DNS rebinding)', async () => {
    const port = viewer.ports.ui
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `192.168.1.5:${port}`]) {
      expect((await getPage('/', host)).status).toBe(200)
    }
    for (const host of [
      `evil.example:${port}`,
      `127.0.0.1:${port + 1}`,
      'localhost',
      `127.0.0.1.evil.example:${port}`,
    ]) {
      const response = await getPage('/api/traces', host)
      expect(response).toEqual({ status: 403, body: 'Forbidden: unexpected Host header\n' })
    }
  })

  it('lists summaries newest first and returns a trace laid out as waterfall rows', async () => {
    const traceId = testTraceId()
    await post('/v1/traces', otlpJson(checkoutTrace(traceId, 'req-api', 'bob')), JSON_TYPE)
    const host = `127.0.0.1:${viewer.ports.ui}`
    const list = JSON.parse((await getPage('/api/traces', host)).body)
    expect(list.traces[0]).toMatchObject({
      traceId,
      rootName: 'POST /checkout',
      services: ['gateway', 'orders', 'inventory', 'payments'],
      requestIds: ['req-api'],
      userIds: ['bob'],
      routes: ['/checkout'],
      spanCount: 4,
      errorCount: 1,
      status: 'error',
    })
    const detail = JSON.parse((await getPage(`/api/traces/${traceId}`, host)).body)
    expect(
      detail.waterfall.rows.map((row: { depth: number; span: { name: string } }) => [
        row.depth,
        row.span.name,
      ]),
    ).toEqual([
      [0, 'POST /checkout'],
      [1, 'POST /orders'],
      [2, 'GET /stock/:sku'],
      [2, 'POST /pay'],
    ])
    expect((await getPage(`/api/traces/${'0'.repeat(31)}1`, host)).status).toBe(404)
  })
})

describe('the HTML report', () => {
  it('is written on close() as one self-contained page holding the traces (nothing fetched)', async () => {
    const file = join(workDir, 'report.html')
    const reporting = await startViewer({ port: 0, ui: false, quiet: true, html: file, graceMs: 60_000 })
    const traceId = testTraceId()
    await post(
      '/v1/traces',
      otlpJson(checkoutTrace(traceId, 'req-</script><b>x')),
      JSON_TYPE,
      reporting.otlpUrl,
    )
    await reporting.close()
    expect(existsSync(file)).toBe(true)
    const html = readFileSync(file, 'utf8')
    expect(html).toContain(traceId)
    expect(html).not.toMatch(/<(script|link)[^>]+(src|href)=/) // styles and script inline
    expect(html).not.toContain('req-</script>') // data cannot close its script element
    expect(html).toContain('req-\\u003c/script>')
  })
})

describe('listening', () => {
  it('fails with one line naming the port and the option when the OTLP or page port is taken', async () => {
    const taken = startViewer({ port: viewer.ports.otlp, uiPort: 0, quiet: true })
    await expect(taken).rejects.toThrow(ViewerListenError)
    await expect(taken).rejects.toThrow(
      `traceweave-view: cannot listen for OTLP on 127.0.0.1:${viewer.ports.otlp}: the port is already in use (another collector or viewer?); choose another with --port`,
    )
    const pageTaken = startViewer({ port: 0, uiPort: viewer.ports.ui, quiet: true })
    await expect(pageTaken).rejects.toThrow(`choose another with --ui-port`)
    await expect(pageTaken).rejects.toMatchObject({ code: 'EADDRINUSE' })
    // The failed viewers let go of what they had bound: the OTLP port of the second is free again.
  })

  it('fails fast on a bad option, naming it', async () => {
    await expect(startViewer({ port: 70000 })).rejects.toThrow('port must be an integer within 0..65535')
    await expect(startViewer({ port: 0, ui: false, maxTraces: 0 })).rejects.toThrow(
      'maxTraces must be an integer >= 1',
    )
  })
})
