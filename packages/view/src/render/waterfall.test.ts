import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { SpanKind, SpanStatusCode, ROOT_CONTEXT, trace } from '@opentelemetry/api'
import { buildWaterfall, summarizeTrace } from './waterfall'
import { fromReadableSpan } from './model'
import { span } from './test-spans'

const names = (spans: Parameters<typeof buildWaterfall>[0]) =>
  buildWaterfall(spans).rows.map(
    (row) => `${'  '.repeat(row.depth)}${row.span.name}${row.orphan ? ' (orphan)' : ''}`,
  )

describe('buildWaterfall', () => {
  it('nests children under their parent, siblings by start time, across services', () => {
    const spans = [
      span('3', '1', 50, 90, { name: 'POST /payments', resource: { 'service.name': 'payments' } }),
      span('1', undefined, 0, 100, { name: 'GET /checkout', resource: { 'service.name': 'gateway' } }),
      span('2', '1', 10, 40, { name: 'GET /stock', resource: { 'service.name': 'inventory' } }),
      span('4', '2', 15, 30, { name: 'SELECT stock', resource: { 'service.name': 'inventory' } }),
    ]
    expect(names(spans)).toEqual(['GET /checkout', '  GET /stock', '    SELECT stock', '  POST /payments'])
    const rows = buildWaterfall(spans).rows
    expect(rows.map((row) => row.service)).toEqual(['gateway', 'inventory', 'inventory', 'payments'])
    // One time scale for all: offsets and widths are fractions of the trace's 100 ms.
    expect(rows.map((row) => [row.offset, row.width])).toEqual([
      [0, 1],
      [0.1, 0.3],
      [0.15, 0.15],
      [0.5, 0.4],
    ])
  })

  it('shows a span whose parent never arrived under its trace, marked, after the root: none is lost', () => {
    const spans = [span('1', undefined, 0, 100), span('9', 'dead', 20, 30), span('2', '9', 21, 25)]
    expect(names(spans)).toEqual(['span 1', 'span 9 (orphan)', '  span 2'])
    expect(summarizeTrace(spans)).toMatchObject({ hasRoot: true, orphanCount: 1, spanCount: 3 })
  })

  it('keeps spans caught in a parent cycle and duplicates once, without looping', () => {
    const spans = [
      span('1', undefined, 0, 10),
      span('a', 'b', 1, 2),
      span('b', 'a', 2, 3),
      span('1', undefined, 0, 10),
    ]
    expect(names(spans)).toEqual(['span 1', 'span a (orphan)', '  span b'])
  })

  it('survives a deep parent chain (no recursion)', () => {
    const spans = [span('1', undefined, 0, 10)]
    for (let i = 2; i <= 5000; i++) spans.push(span(i.toString(16), (i - 1).toString(16), 0, 10))
    const rows = buildWaterfall(spans).rows
    expect(rows).toHaveLength(5000)
    expect(rows[4999]!.depth).toBe(4999)
  })

  it('marks the critical path: the chain of last-finishing children that decided the end', () => {
    // root 0..100; a 0..60 (inside: a1 0..20, a2 20..55); b 5..30 (hidden behind a); c 60..95.
    const spans = [
      span('1', undefined, 0, 100),
      span('a', '1', 0, 60),
      span('a1', 'a', 0, 20),
      span('a2', 'a', 20, 55),
      span('b', '1', 5, 30),
      span('c', '1', 60, 95),
    ]
    const critical = buildWaterfall(spans)
      .rows.filter((row) => row.critical)
      .map((row) => row.span.spanId.replace(/^0+/, ''))
    expect(critical.sort()).toEqual(['1', 'a', 'a1', 'a2', 'c'].sort())
  })

  it('highlights request, session and user where they first appear or change, and retries, sampling and traceweave.* everywhere', () => {
    const correlation = {
      'request.id': 'r-1',
      'session.id': 's-1',
      'session.operation': 3,
      'user.id': 'alice',
    }
    const spans = [
      span('1', undefined, 0, 10, {
        attributes: { ...correlation, 'sampling.adjusted_count': 4, 'sampling.reason': 'ratio' },
      }),
      span('2', '1', 1, 5, {
        attributes: { ...correlation, 'http.request.resend_count': 2, 'traceweave.cpu.user_us': 1500 },
      }),
      span('3', '1', 5, 9, { attributes: { ...correlation, 'user.id': 'bob', 'retry.attempt': 2 } }),
    ]
    expect(buildWaterfall(spans).rows.map((row) => row.highlights)).toEqual([
      [
        ['request.id', 'r-1'],
        ['session.id', 's-1'],
        ['session.operation', '3'],
        ['user.id', 'alice'],
        ['sampling.reason', 'ratio'],
        ['sampling.adjusted_count', '4'],
      ],
      [
        ['http.request.resend_count', '2'],
        ['traceweave.cpu.user_us', '1500'],
      ],
      [
        ['user.id', 'bob'],
        ['retry.attempt', '2'],
      ],
    ])
  })

  it('always highlights request, session and user on a server span, even when its parent has the same', () => {
    const correlation = {
      'request.id': 'r-1',
      'session.id': 's-1',
      'session.operation_number': 2,
      'user.id': 'al',
    }
    const spans = [
      span('1', undefined, 0, 10, { kind: 'client', attributes: correlation }),
      span('2', '1', 1, 9, { kind: 'server', attributes: correlation }),
      span('3', '2', 2, 8, { kind: 'internal', attributes: correlation }),
    ]
    expect(buildWaterfall(spans).rows.map((row) => row.highlights.map(([key]) => key))).toEqual([
      ['request.id', 'session.id', 'session.operation_number', 'user.id'],
      ['request.id', 'session.id', 'session.operation_number', 'user.id'],
      [],
    ])
  })

  it('leaves out session.operation where it only repeats the span name (its default)', () => {
    const spans = [
      span('1', undefined, 0, 10, { name: 'GET /a', attributes: { 'session.operation': 'GET /a' } }),
      span('2', undefined, 0, 10, {
        name: 'POST /graphql',
        attributes: { 'session.operation': 'AddToCart' },
      }),
    ]
    expect(buildWaterfall(spans).rows.map((row) => row.highlights)).toEqual([
      [],
      [['session.operation', 'AddToCart']],
    ])
  })
})

describe('buildWaterfall with resource attributes', () => {
  it('summarises CPU, memory and event loop per row and keeps the raw traceweave.process.* keys out of the highlights', () => {
    const spans = [
      span('1', undefined, 0, 10, {
        attributes: {
          'request.id': 'r-1',
          'traceweave.process.cpu.user_us': 1_000,
          'traceweave.process.cpu.system_us': 500,
          'traceweave.process.heap.before': 10_000_000,
          'traceweave.process.heap.delta': 2048,
          'traceweave.process.event_loop.utilization': 0.5,
          'traceweave.process.sample.cpu_percent': 80,
          'traceweave.request.cpu_us': 700,
          'traceweave.request.callbacks': 12,
          'traceweave.cache.hit': true,
        },
      }),
      span('2', '1', 1, 5),
    ]
    const [root, child] = buildWaterfall(spans).rows
    expect(root!.resources).toEqual({
      cpuMs: 0.7,
      cpuOf: 'request',
      cpuText: '700µs own',
      memoryDeltaBytes: 2048,
      memoryText: '+2.0KB',
      eventLoopUtilization: 0.5,
      eventLoopText: '50%',
    })
    expect(root!.highlights).toEqual([
      ['request.id', 'r-1'],
      ['traceweave.request.callbacks', '12'],
      ['traceweave.cache.hit', 'true'],
    ])
    expect(child!.resources).toBeUndefined()
    // The span itself keeps every attribute: the page's details show them all.
    expect(Object.keys(root!.span.attributes)).toHaveLength(10)
  })
})

describe('summarizeTrace', () => {
  it('collects what the list shows and searches: root, services, counts, request, session, user, route, status', () => {
    const spans = [
      span('1', undefined, 0, 100, {
        name: 'GET /checkout',
        resource: { 'service.name': 'gateway' },
        attributes: {
          'request.id': 'r-1',
          'session.id': 's-1',
          'user.id': 'alice',
          'http.route': '/checkout',
        },
      }),
      span('2', '1', 10, 20, {
        resource: { 'service.name': 'orders' },
        status: { code: 'error', message: 'x' },
      }),
    ]
    expect(summarizeTrace(spans)).toEqual({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      rootName: 'GET /checkout',
      rootService: 'gateway',
      hasRoot: true,
      startMs: 1_700_000_000_000,
      durationMs: 100,
      spanCount: 2,
      errorCount: 1,
      orphanCount: 0,
      services: ['gateway', 'orders'],
      requestIds: ['r-1'],
      sessionIds: ['s-1'],
      userIds: ['alice'],
      routes: ['/checkout'],
      status: 'error',
    })
  })
})

describe('fromReadableSpan', () => {
  it('maps a real SDK span (0-based kinds, HrTime, parent context, events, links, resource, scope)', () => {
    const exporter = new InMemorySpanExporter()
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'checkout' }),
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    })
    const tracer = provider.getTracer('test-scope', '1.2.3')
    const parent = tracer.startSpan('parent', { kind: SpanKind.SERVER, startTime: 1_700_000_000_000 })
    const ctx = trace.setSpan(ROOT_CONTEXT, parent)
    const child = tracer.startSpan(
      'child',
      {
        kind: SpanKind.CLIENT,
        startTime: 1_700_000_000_010,
        attributes: { 'request.id': 'r-1', n: 3, ok: true, list: ['a', 'b'] },
        links: [{ context: parent.spanContext(), attributes: { why: 'test' } }],
      },
      ctx,
    )
    child.addEvent('retry', { attempt: 2 }, 1_700_000_000_015)
    child.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' })
    child.end(1_700_000_000_020)
    parent.end(1_700_000_000_030)
    const [viewChild, viewParent] = exporter.getFinishedSpans().map(fromReadableSpan)
    expect(viewParent).toMatchObject({ kind: 'server', startMs: 1_700_000_000_000, endMs: 1_700_000_000_030 })
    expect(viewParent!.parentSpanId).toBeUndefined()
    expect(viewChild).toEqual({
      traceId: parent.spanContext().traceId,
      spanId: child.spanContext().spanId,
      parentSpanId: parent.spanContext().spanId,
      name: 'child',
      kind: 'client',
      startMs: 1_700_000_000_010,
      endMs: 1_700_000_000_020,
      status: { code: 'error', message: 'boom' },
      attributes: { 'request.id': 'r-1', n: 3, ok: true, list: ['a', 'b'] },
      events: [{ name: 'retry', timeMs: 1_700_000_000_015, attributes: { attempt: 2 } }],
      links: [
        {
          traceId: parent.spanContext().traceId,
          spanId: parent.spanContext().spanId,
          attributes: { why: 'test' },
        },
      ],
      resource: expect.objectContaining({ 'service.name': 'checkout' }),
      scope: { name: 'test-scope', version: '1.2.3' },
    })
  })

  it('shows sampling.adjusted_count with at most 3 decimals, integers as they are, the attribute itself exact', () => {
    const counts = [2.6159987226568737, 1.5, 4, 10.0004, 1 / 3]
    const spans = counts.map((count, i) =>
      span(String(i + 1), undefined, i, i + 1, { attributes: { 'sampling.adjusted_count': count } }),
    )
    const shown = buildWaterfall(spans).rows.map(
      (row) => row.highlights.find(([key]) => key === 'sampling.adjusted_count')?.[1],
    )
    expect(shown).toEqual(['2.616', '1.5', '4', '10', '0.333'])
    expect(buildWaterfall(spans).rows.map((row) => row.span.attributes['sampling.adjusted_count'])).toEqual(
      counts,
    )
  })
})
