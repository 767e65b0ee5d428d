import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { ConsoleTreeExporter, formatSpanTree } from './console'

// A real SDK tracer whose spans we format, as the exporter receives them in a service.
const spans = new InMemorySpanExporter()
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] })
const tracer = provider.getTracer('test')
afterEach(() => spans.reset())
afterAll(() => provider.shutdown())

const TRACE = '\\[[0-9a-f]{8}\\]'
const MS = '\\d+\\.\\d ms'

function request(): void {
  const server = tracer.startSpan('GET /orders/:id', {
    kind: SpanKind.SERVER,
    attributes: { 'custom.first': 'x', 'http.response.status_code': 500, 'http.request.method': 'GET' },
  })
  const inServer = trace.setSpan(context.active(), server)
  const db = tracer.startSpan(
    'SELECT orders',
    { kind: SpanKind.CLIENT, attributes: { 'db.system.name': 'postgresql' } },
    inServer,
  )
  tracer.startSpan('parse row', {}, trace.setSpan(inServer, db)).end()
  db.end()
  tracer.startSpan('render', {}, inServer).end()
  server.setStatus({ code: SpanStatusCode.ERROR, message: 'order service\nunavailable' })
  server.end()
}

describe('formatSpanTree', () => {
  it('prints one line per span, depth-first by start time, with kind, duration, status and key attributes first', () => {
    request()
    const lines = formatSpanTree(spans.getFinishedSpans()).trimEnd().split('\n')
    expect(lines).toHaveLength(4)
    expect(lines[0]).toMatch(
      new RegExp(
        `^${TRACE} GET /orders/:id  server  ${MS}  ERROR "order service unavailable"  ` +
          'http.request.method=GET http.response.status_code=500 custom.first=x$',
      ),
    )
    expect(lines[1]).toMatch(
      new RegExp(`^${TRACE}   SELECT orders  client  ${MS}  UNSET  db.system.name=postgresql$`),
    )
    expect(lines[2]).toMatch(new RegExp(`^${TRACE}     parse row  internal  ${MS}  UNSET$`))
    expect(lines[3]).toMatch(new RegExp(`^${TRACE}   render  internal  ${MS}  UNSET$`))
    // every line carries the same trace prefix, so grep by trace works
    expect(new Set(lines.map((line) => line.slice(0, 10))).size).toBe(1)
  })

  it('starts a tree at a span whose parent ended elsewhere, naming the parent', () => {
    request()
    const withoutServer = spans.getFinishedSpans().filter((span) => span.name !== 'GET /orders/:id')
    const lines = formatSpanTree(withoutServer).trimEnd().split('\n')
    expect(lines[0]).toMatch(/^\[[0-9a-f]{8}\] SELECT orders .*\(parent [0-9a-f]{16}\)$/)
    expect(lines[1]).toMatch(/^\[[0-9a-f]{8}\] {3}parse row /)
    expect(lines[2]).toMatch(/^\[[0-9a-f]{8}\] render .*\(parent [0-9a-f]{16}\)$/)
  })

  it('keeps hostile values on one line: control characters replaced, long values cut, spaces quoted', () => {
    tracer
      .startSpan('evil\r\nname', {
        attributes: { note: 'a b', long: 'x'.repeat(500), list: ['a', 'b'], flag: true, 'bad\nkey': 1 },
      })
      .end()
    const text = formatSpanTree(spans.getFinishedSpans())
    expect(text.split('\n')).toHaveLength(2) // one line plus the final newline
    expect(text).toContain('evil  name')
    expect(text).toContain('note="a b"')
    expect(text).toContain(`long=${'x'.repeat(77)}...`)
    expect(text).toContain('list=[a,b] flag=true bad key=1')
  })

  it('shows at most 8 attributes and says how many more there are', () => {
    const attributes = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, i]))
    tracer.startSpan('wide', { attributes }).end()
    expect(formatSpanTree(spans.getFinishedSpans())).toMatch(/k7=7 \+3 more\n$/)
  })

  it('prints nothing for no spans', () => {
    expect(formatSpanTree([])).toBe('')
  })
})

describe('ConsoleTreeExporter', () => {
  it('writes each batch once through write and reports success', () => {
    const writes: string[] = []
    const exporter = new ConsoleTreeExporter((text) => writes.push(text))
    request()
    const results: number[] = []
    exporter.export(spans.getFinishedSpans(), (result) => results.push(result.code))
    expect(writes).toHaveLength(1)
    expect(writes[0]!.split('\n')).toHaveLength(5)
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
