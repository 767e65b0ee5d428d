import { context, SpanKind, SpanStatusCode, trace, TraceFlags } from '@opentelemetry/api'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { trace as traceFn } from '@traceweave/core'
import { ConsoleTreeExporter, formatConsoleBatch } from './console'

// A real SDK tracer whose spans we format, as the exporter receives them in a service called `shop`.
const spans = new InMemorySpanExporter()
const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'shop' }),
  spanProcessors: [new SimpleSpanProcessor(spans)],
})
const tracer = provider.getTracer('test')
afterEach(() => spans.reset())
afterAll(() => provider.shutdown())

const CORRELATION = {
  'request.id': 'req-42',
  'session.id': 'sess-1',
  'session.operation': 'GET /orders/:id',
  'session.operation_number': 3,
  'user.id': 'alice',
}
// More attributes than the old one-line format showed (8): correlation must not be crowded out.
const NOISE = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`custom.k${i}`, i]))

/**
 * A request as a service records it: server span, a database call with a row parse inside, a render.
 * Explicit times (ms): the SDK stamps starts from Date.now(), so siblings could tie and swap places.
 */
function request(parent = context.active()): void {
  const t = Date.now()
  const server = tracer.startSpan(
    'GET /orders/:id',
    {
      kind: SpanKind.SERVER,
      startTime: t,
      attributes: {
        ...NOISE,
        'http.request.method': 'GET',
        'http.response.status_code': 500,
        ...CORRELATION,
      },
    },
    parent,
  )
  const inServer = trace.setSpan(parent, server)
  const db = tracer.startSpan(
    'SELECT orders',
    { kind: SpanKind.CLIENT, attributes: CORRELATION, startTime: t + 1 },
    inServer,
  )
  tracer
    .startSpan('parse row', { attributes: CORRELATION, startTime: t + 2 }, trace.setSpan(inServer, db))
    .end(t + 3)
  db.end(t + 5)
  tracer.startSpan('render', { attributes: CORRELATION, startTime: t + 6 }, inServer).end(t + 8)
  server.setStatus({ code: SpanStatusCode.ERROR, message: 'order service\nunavailable' })
  server.end(t + 10)
}

const rows = (text: string) => text.trimEnd().split('\n').slice(1)

describe('formatConsoleBatch', () => {
  it('groups a trace under its root: a header naming the trace, then the root and its children indented', () => {
    request()
    const text = formatConsoleBatch(spans.getFinishedSpans())
    const [header, ...lines] = text.trimEnd().split('\n')
    const traceId = spans.getFinishedSpans()[0]!.spanContext().traceId
    expect(header).toMatch(
      new RegExp(`^trace ${traceId}  GET /orders/:id  \\S+ m?s  4 spans  1 service  1 error$`),
    )
    expect(
      lines.map((line) =>
        line
          .match(/^ {2}shop {2}( *)(\S.*?) {2}/)!
          .slice(1)
          .join(''),
      ),
    ).toEqual(['GET /orders/:id', '  SELECT orders', '    parse row', '  render'])
    expect(text.endsWith('\n\n')).toBe(true) // a blank line keeps the next batch's block apart
  })

  it('names the service on every row', () => {
    request()
    for (const line of rows(formatConsoleBatch(spans.getFinishedSpans())))
      expect(line).toMatch(/^ {2}shop {2}/)
  })

  it('always shows request.id, session.id and operation number and user.id on the server span, never hidden behind "+N more"', () => {
    request()
    const [server] = rows(formatConsoleBatch(spans.getFinishedSpans()))
    expect(server).toContain(
      'request.id=req-42 session.id=sess-1 session.operation_number=3 user.id=alice', // session.operation = the name: left out,
    )
    expect(server).toContain('ERROR "order service unavailable"')
    expect(server).toContain('http.response.status_code=500')
    expect(server).not.toMatch(/more|custom\.k/)
  })

  it('shows the correlation on a server span whose caller (same process, same request) already carried it', () => {
    const caller = tracer.startSpan('GET /orders/7', { kind: SpanKind.CLIENT, attributes: CORRELATION })
    request(trace.setSpan(context.active(), caller))
    caller.end()
    const server = rows(formatConsoleBatch(spans.getFinishedSpans())).find((line) =>
      line.includes('GET /orders/:id'),
    )
    expect(server).toContain('request.id=req-42 session.id=sess-1')
    expect(server).toContain('user.id=alice')
  })

  it('marks a span entered from another process by its remote parent, as this service’s root (no "root span missing")', () => {
    const remote = trace.setSpanContext(context.active(), {
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
    })
    request(remote)
    const text = formatConsoleBatch(spans.getFinishedSpans())
    expect(text.split('\n')[0]).toMatch(/^trace 4bf92f3577b34da6a3ce929d0e0e4736 .* 1 error$/)
    expect(rows(text)[0]).toContain('(remote parent 00f067aa0ba902b7) request.id=req-42')
    expect(text).not.toContain('missing')
  })

  it('keeps spans whose parent is in another batch, marked as continuing the trace by its ID prefix', () => {
    request()
    const traceId = spans.getFinishedSpans()[0]!.spanContext().traceId
    const serverId = spans
      .getFinishedSpans()
      .find((span) => span.kind === SpanKind.SERVER)!
      .spanContext().spanId
    const withoutServer = spans.getFinishedSpans().filter((span) => span.kind !== SpanKind.SERVER)
    const text = formatConsoleBatch(withoutServer)
    expect(text.split('\n')[0]).toMatch(
      new RegExp(`^trace ${traceId} .*  continues trace ${traceId.slice(0, 8)}$`),
    )
    const lines = rows(text)
    expect(lines).toHaveLength(3)
    // The SDK stamps starts from Date.now() (whole milliseconds): the two tops may tie, so find by name.
    const note = `(continues trace ${traceId.slice(0, 8)}, parent ${serverId} in another batch)`
    expect(lines.find((line) => line.includes('SELECT orders'))).toContain(note)
    expect(lines.find((line) => line.includes('render'))).toContain(note)
    const db = lines.findIndex((line) => line.includes('SELECT orders'))
    expect(lines[db + 1]).toMatch(/ {2}shop {4}parse row /) // still under its parent, which is here
  })

  it('prints one block per trace of a mixed batch, each under its own root', () => {
    request()
    request()
    const text = formatConsoleBatch(spans.getFinishedSpans())
    const blocks = text.trimEnd().split('\n\n')
    expect(blocks).toHaveLength(2)
    for (const block of blocks) expect(block.split('\n')).toHaveLength(5)
  })

  it('keeps hostile values on one line: control characters replaced, no escape sequence, long values cut', () => {
    tracer
      .startSpan('evil\u001b[2J\r\nname', {
        attributes: { 'user.id': `a\u001b]0;x\u0007${'x'.repeat(500)}` },
      })
      .end()
    const text = formatConsoleBatch(spans.getFinishedSpans())
    expect(text.trimEnd().split('\n')).toHaveLength(2)
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/) // eslint-disable-line no-control-regex
    expect(text).toContain('evil [2J  name')
    expect(text).toMatch(/user\.id="a ]0;x x{50,}\.\.\."\n\n$/)
  })

  it('colours only when asked', () => {
    request()
    expect(formatConsoleBatch(spans.getFinishedSpans(), { color: true })).toContain('\u001b[')
    expect(formatConsoleBatch(spans.getFinishedSpans())).not.toContain('\u001b[')
  })

  it('shows a span measured with resources: true as cpu and mem columns, without the raw traceweave.process.* keys', () => {
    // A real 16 MiB Buffer inside a real span of @traceweave/core, measured by its resources option.
    const buffer = traceFn('allocate', () => Buffer.alloc(16 * 1024 * 1024, 1), { tracer, resources: true })
    expect(buffer.length).toBe(16 * 1024 * 1024)
    const [header, row] = formatConsoleBatch(spans.getFinishedSpans()).split('\n')
    expect(header).toMatch(/allocate/)
    // The figures are the process's (other work in this worker frees memory meanwhile), so the column's
    // form is checked here; the 15 MB rule is judged in core's resources test.
    expect(row).toMatch(/ ms {2}cpu +\d+(\.\d)?(µs|ms|s) {2}mem [+-]\d+(\.\d)?(B|KB|MB|GB)/)
    expect(row).not.toContain('traceweave.process')
  })

  it('prints nothing for no spans', () => {
    expect(formatConsoleBatch([])).toBe('')
  })
})

describe('ConsoleTreeExporter', () => {
  it('writes each batch once, in plain text, through the app’s write, and reports success', () => {
    const writes: string[] = []
    const exporter = new ConsoleTreeExporter((text) => writes.push(text))
    request()
    const results: number[] = []
    exporter.export(spans.getFinishedSpans(), (result) => results.push(result.code))
    expect(writes).toHaveLength(1)
    expect(writes[0]!.trimEnd().split('\n')).toHaveLength(5)
    expect(writes[0]).not.toContain('\u001b[')
    expect(results).toEqual([0])
  })

  it('reports a failing write as a failed export instead of throwing', () => {
    const exporter = new ConsoleTreeExporter(() => {
      throw new Error('EPIPE')
    })
    request()
    let error: Error | undefined
    exporter.export(spans.getFinishedSpans(), (result) => (error = result.error))
    expect(error?.message).toBe('EPIPE')
  })
})
