import { TraceStore, type StoredTrace } from './trace-store'
import { span } from '../render/test-spans'

const inTrace = (traceId: string, ...spans: ReturnType<typeof span>[]) =>
  spans.map((s) => ({ ...s, traceId }))
const traceId = (n: number) => n.toString(16).padStart(32, '0')

beforeEach(() => jest.useFakeTimers())
afterEach(() => jest.useRealTimers())

describe('TraceStore', () => {
  it('reports a trace once its root arrived and the grace passed without another span', () => {
    const reported: StoredTrace[] = []
    const store = new TraceStore({ graceMs: 5000, onTrace: (t) => reported.push(t) })
    store.add([span('2', '1', 10, 20)])
    jest.advanceTimersByTime(6000)
    expect(reported).toHaveLength(0) // no root yet: waits for it
    store.add([span('1', undefined, 0, 30)])
    jest.advanceTimersByTime(4000)
    store.add([span('3', '1', 5, 8)]) // a late child from another service restarts the wait
    jest.advanceTimersByTime(4999)
    expect(reported).toHaveLength(0)
    jest.advanceTimersByTime(1)
    expect(reported.map((t) => t.spans.length)).toEqual([3])
    expect(reported[0]!.complete).toBe(true)
    store.close()
  })

  it('reports again (reports: 2) when spans arrive after completion', () => {
    const reported: number[] = []
    const store = new TraceStore({ graceMs: 100, onTrace: (t) => reported.push(t.reports) })
    store.add([span('1', undefined, 0, 30)])
    jest.advanceTimersByTime(100)
    store.add([span('2', '1', 1, 2)])
    jest.advanceTimersByTime(100)
    expect(reported).toEqual([1, 2])
    store.close()
  })

  it('shows a trace whose root never arrives after rootlessGraceMs, so its spans are not lost', () => {
    const reported: StoredTrace[] = []
    const store = new TraceStore({ graceMs: 100, rootlessGraceMs: 1000, onTrace: (t) => reported.push(t) })
    store.add([span('2', '1', 10, 20)])
    jest.advanceTimersByTime(999)
    expect(reported).toHaveLength(0)
    jest.advanceTimersByTime(1)
    expect(reported).toHaveLength(1)
    store.close()
  })

  it('holds at most maxTraces under a flood, dropping the oldest first and counting them', () => {
    const store = new TraceStore({ maxTraces: 50, graceMs: 10 })
    for (let i = 1; i <= 10_000; i++)
      store.add(inTrace(traceId(i), span('1', undefined, 0, 1), span('2', '1', 0, 1)))
    expect(store.all()).toHaveLength(50)
    expect(store.all()[0]!.traceId).toBe(traceId(10_000)) // newest first
    expect(store.all()[49]!.traceId).toBe(traceId(9_951))
    expect(store.stats).toMatchObject({
      traces: 50,
      droppedTraces: 9_950,
      droppedSpans: 19_900,
      spansReceived: 20_000,
    })
    store.close()
  })

  it('holds at most maxSpans in all, dropping the oldest traces to make room (counted)', () => {
    const store = new TraceStore({ maxSpans: 10, graceMs: 10 })
    for (let i = 1; i <= 100; i++)
      store.add(inTrace(traceId(i), span('1', undefined, 0, 1), span('2', '1', 0, 1), span('3', '1', 0, 1)))
    expect(store.stats).toMatchObject({ traces: 3, spans: 9, droppedTraces: 97, droppedSpans: 291 })
    expect(store.all().map((t) => t.traceId)).toEqual([traceId(100), traceId(99), traceId(98)])
    // A single trace larger than the total still keeps its spans up to maxSpansPerTrace.
    const big = new TraceStore({ maxSpans: 2, maxSpansPerTrace: 5 })
    big.add(inTrace(traceId(1), ...['1', '2', '3', '4'].map((id) => span(id, undefined, 0, 1))))
    expect(big.stats.spans).toBe(4)
    store.close()
    big.close()
  })

  it('holds at most maxSpansPerTrace spans per trace and counts the rest; a retried span is stored once', () => {
    const store = new TraceStore({ maxSpansPerTrace: 3 })
    const spans = [
      span('1', undefined, 0, 9),
      span('2', '1', 1, 2),
      span('2', '1', 1, 2),
      span('3', '1', 2, 3),
      span('4', '1', 3, 4),
    ]
    store.add(spans)
    const trace = store.get(spans[0]!.traceId)!
    expect(trace.spans.map((s) => s.spanId.replace(/^0+/, ''))).toEqual(['1', '2', '3'])
    expect(trace.droppedSpans).toBe(1)
    expect(store.stats.droppedSpans).toBe(1)
    store.close()
  })

  it('flush() reports every trace still in its grace (exit), and a failing listener does not stop the others', () => {
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true)
    const seen: string[] = []
    const store = new TraceStore({ graceMs: 60_000 })
    store.subscribe(() => {
      throw new Error('listener bug')
    })
    store.subscribe((t) => seen.push(t.traceId))
    store.add(inTrace(traceId(1), span('1', undefined, 0, 1)))
    store.add(inTrace(traceId(2), span('1', '0', 0, 1)))
    store.flush()
    expect(seen.sort()).toEqual([traceId(1), traceId(2)])
    expect(stderr).toHaveBeenCalledWith(expect.stringContaining('listener bug'))
    stderr.mockRestore()
    store.close()
  })

  it('fails fast on bad options, naming them', () => {
    expect(() => new TraceStore({ maxTraces: 0 })).toThrow('maxTraces must be an integer >= 1, got 0')
    expect(() => new TraceStore({ maxSpansPerTrace: 1.5 })).toThrow('maxSpansPerTrace')
    expect(() => new TraceStore({ graceMs: -1 })).toThrow('graceMs')
  })
})
