import { formatByteDelta, formatCpuTime, summarizeResources } from './resources'

describe('summarizeResources', () => {
  it("takes the request's own CPU (traceweave.request.cpu_us) over the process's user + system, and marks it own", () => {
    const process = { 'traceweave.process.cpu.user_us': 10_000, 'traceweave.process.cpu.system_us': 2_300 }
    expect(summarizeResources(process)).toMatchObject({ cpuMs: 12.3, cpuOf: 'process', cpuText: '12.3ms' })
    expect(summarizeResources({ ...process, 'traceweave.request.cpu_us': 840 })).toMatchObject({
      cpuMs: 0.84,
      cpuOf: 'request',
      cpuText: '840µs own',
    })
  })

  it('adds heap and external (Buffer) deltas into one memory change, and reads event-loop utilization', () => {
    expect(
      summarizeResources({
        'traceweave.process.heap.delta': -1024,
        'traceweave.process.external.delta': 16 * 1024 * 1024 + 1024,
        'traceweave.process.event_loop.utilization': 0.974,
      }),
    ).toEqual({
      memoryDeltaBytes: 16 * 1024 * 1024,
      memoryText: '+16.0MB',
      eventLoopUtilization: 0.974,
      eventLoopText: '97%',
      cpuText: '',
    })
  })

  it('is undefined for a span without resource figures, and ignores values that are not finite numbers', () => {
    expect(summarizeResources({ 'request.id': 'r-1', 'traceweave.process.sample.rss': 1e8 })).toBeUndefined()
    expect(
      summarizeResources({
        'traceweave.process.cpu.user_us': 'lots',
        'traceweave.process.heap.delta': null,
        'traceweave.request.cpu_us': [1, 2],
        'traceweave.process.event_loop.utilization': { x: 1 },
      }),
    ).toBeUndefined()
    // A hostile utilization is clamped to 0..1.
    expect(summarizeResources({ 'traceweave.process.event_loop.utilization': 7 })?.eventLoopText).toBe('100%')
  })
})

describe('formatCpuTime and formatByteDelta', () => {
  it('read compactly for a column', () => {
    expect([0.25, 12.34, 1234, -1].map(formatCpuTime)).toEqual(['250µs', '12.3ms', '1.23s', '0µs'])
    expect([0, 512, -1536, 16 * 1024 * 1024, 3 * 1024 ** 3, NaN].map(formatByteDelta)).toEqual([
      '+0B',
      '+512B',
      '-1.5KB',
      '+16.0MB',
      '+3.0GB',
      '+0B',
    ])
  })
})
