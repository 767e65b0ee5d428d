import { formatDuration, formatWaterfall, formatWaterfalls, shouldColor } from './text'
import { span } from './test-spans'

const trace = [
  span('1', undefined, 0, 100, {
    name: 'GET /checkout',
    kind: 'server',
    status: { code: 'ok' },
    resource: { 'service.name': 'gateway' },
    attributes: { 'request.id': 'r-1', 'user.id': 'alice' },
  }),
  span('2', '1', 50, 100, {
    name: 'POST /pay',
    status: { code: 'error', message: 'card declined' },
    resource: { 'service.name': 'payments' },
    attributes: { 'request.id': 'r-1', 'http.request.resend_count': 1 },
  }),
]

describe('formatWaterfall', () => {
  it('prints a header and one row per span: service, indented name, bar on one scale, duration, status, attributes', () => {
    expect(formatWaterfall(trace, { barWidth: 10 })).toBe(
      [
        'trace 4bf92f3577b34da6a3ce929d0e0e4736  GET /checkout  100.0 ms  2 spans  2 services  1 error',
        '  gateway   GET /checkout  ██████████  100.0 ms  OK     request.id=r-1 user.id=alice',
        '  payments    POST /pay         █████   50.0 ms  ERROR "card declined"  http.request.resend_count=1',
        '',
      ].join('\n'),
    )
  })

  it('marks a span whose parent never arrived, and a trace without its root', () => {
    const text = formatWaterfall([span('2', 'dead', 0, 10)], { barWidth: 4 })
    expect(text).toContain('root span missing')
    expect(text).toContain('(parent 000000000000dead missing)')
  })

  it('lets a caller that prints part of a trace say where an absent parent is (orphanNote, rootlessNote)', () => {
    const text = formatWaterfall([span('2', 'dead', 0, 10)], {
      barWidth: 4,
      orphanNote: (orphan) => `parent ${orphan.parentSpanId} printed earlier`,
      rootlessNote: 'continued',
    })
    expect(text).toContain('  continued\n')
    expect(text).toContain('(parent 000000000000dead printed earlier)')
    expect(text).not.toContain('missing')
    const quiet = formatWaterfall([span('2', 'dead', 0, 10)], { rootlessNote: '' })
    expect(quiet.split('\n')[0]).toMatch(/1 service$/)
  })

  it('writes no escape sequence without colour, even from a hostile span name or attribute', () => {
    const hostile = span('1', undefined, 0, 1, {
      name: 'evil\u001b[2J\nname',
      attributes: { 'user.id': 'x\u001b]0;pwned\u0007' },
    })
    const text = formatWaterfall([hostile])
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/) // eslint-disable-line no-control-regex
    expect(text.trimEnd().split('\n')).toHaveLength(2)
  })

  it('colours with ANSI only when asked', () => {
    expect(formatWaterfall(trace, { color: true })).toContain('\u001b[31m')
    expect(formatWaterfall(trace)).not.toContain('\u001b[')
  })
})

describe('shouldColor', () => {
  it('colours a TTY only, and never when NO_COLOR is set (no-color.org)', () => {
    expect(shouldColor({ isTTY: true }, {})).toBe(true)
    expect(shouldColor({ isTTY: false }, {})).toBe(false)
    expect(shouldColor({}, {})).toBe(false)
    expect(shouldColor({ isTTY: true }, { NO_COLOR: '1' })).toBe(false)
    expect(shouldColor({ isTTY: true }, { NO_COLOR: '' })).toBe(true)
    expect(shouldColor({ isTTY: false }, { FORCE_COLOR: '1' })).toBe(true)
  })
})

describe('formatDuration', () => {
  it('reads as µs, ms or s', () => {
    expect([0.25, 12.44, 3210, -1].map(formatDuration)).toEqual(['250 µs', '12.4 ms', '3.21 s', '0 ms'])
  })
})

describe('formatWaterfalls', () => {
  it('prints one waterfall per trace of a mixed batch, in order of first appearance', () => {
    const other = span('7', undefined, 0, 5, { traceId: 'f'.repeat(32), name: 'other' })
    const text = formatWaterfalls([trace[1]!, other, trace[0]!])
    expect(text.split('\n').filter((line) => line.startsWith('trace '))).toEqual([
      'trace 4bf92f3577b34da6a3ce929d0e0e4736  GET /checkout  100.0 ms  2 spans  2 services  1 error',
      `trace ${'f'.repeat(32)}  other  5.0 ms  1 span  1 service`,
    ])
  })
})

describe('formatWaterfall with resource attributes', () => {
  const withResources = [
    span('1', undefined, 0, 100, {
      name: 'GET /report',
      kind: 'server',
      status: { code: 'ok' },
      attributes: {
        'request.id': 'r-1',
        'traceweave.process.cpu.user_us': 41_000,
        'traceweave.process.cpu.system_us': 2_300,
        'traceweave.process.heap.delta': 0,
        'traceweave.process.external.delta': 16 * 1024 * 1024,
        'traceweave.process.event_loop.utilization': 0.97,
        'traceweave.process.requests_in_flight.start': 1,
        'traceweave.process.sample.rss': 100_000_000,
        'traceweave.request.cpu_us': 12_345,
        'traceweave.request.callbacks': 31,
      },
    }),
    span('2', '1', 10, 90, {
      name: 'build report',
      attributes: { 'traceweave.process.cpu.user_us': 800, 'traceweave.process.heap.delta': -2048 },
    }),
    span('3', '2', 20, 30, { name: 'SELECT rows' }),
  ]

  it("adds aligned cpu and mem columns after the duration, marks the request's own CPU, and drops raw traceweave.process.* keys", () => {
    expect(formatWaterfall(withResources, { barWidth: 10 })).toBe(
      [
        'trace 4bf92f3577b34da6a3ce929d0e0e4736  GET /report  100.0 ms  3 spans  1 service',
        '  api  GET /report      ██████████  100.0 ms  cpu 12.3ms own  mem +16.0MB  OK     request.id=r-1 traceweave.request.callbacks=31',
        '  api    build report    ████████    80.0 ms  cpu  800µs      mem  -2.0KB  -',
        '  api      SELECT rows    █          10.0 ms                               -',
        '',
      ].join('\n'),
    )
  })

  it('shows only the columns some row has: a trace with CPU figures alone gets no mem column', () => {
    const cpuOnly = [span('1', undefined, 0, 10, { attributes: { 'traceweave.process.cpu.user_us': 1500 } })]
    const line = formatWaterfall(cpuOnly, { barWidth: 4 }).split('\n')[1]
    expect(line).toContain('10.0 ms  cpu 1.5ms  -')
    expect(line).not.toContain('mem')
  })
})
