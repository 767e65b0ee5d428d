import { context, trace as traceApi } from '@opentelemetry/api'
import { AlwaysOffSampler, BasicTracerProvider } from '@opentelemetry/sdk-trace-base'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import {
  ATTR_PROCESS_CPU_SYSTEM,
  ATTR_PROCESS_CPU_USER,
  ATTR_PROCESS_ELU,
  ATTR_PROCESS_EXTERNAL_DELTA,
  ATTR_PROCESS_HEAP_BEFORE,
  ATTR_PROCESS_IN_FLIGHT_END,
  ATTR_PROCESS_IN_FLIGHT_START,
  requestEnded,
  requestStarted,
  withResources,
} from './resources'
import { trace } from './trace'
import { onlySpanNamed, useTestTracing } from '../../../../test/support/tracing'

const tracing = useTestTracing()
const spanNamed = (name: string) => onlySpanNamed(tracing, name)

/** A full GC without --expose-gc on the command line. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc')
  ;(runInNewContext('gc') as () => void)()
}

function burnCpu(ms: number): number {
  const until = Date.now() + ms
  let x = 0
  while (Date.now() < until) x += Math.sqrt(x + 1)
  return x
}

describe('trace(name, fn, { resources: true })', () => {
  it('records a CPU delta within 25% of what process.cpuUsage measured around it outside', () => {
    const outsideStart = process.cpuUsage()
    trace('cpu loop', () => burnCpu(300), { resources: true })
    const outside = process.cpuUsage(outsideStart)
    const attributes = spanNamed('cpu loop').attributes
    const recorded = Number(attributes[ATTR_PROCESS_CPU_USER]) + Number(attributes[ATTR_PROCESS_CPU_SYSTEM])
    const measured = outside.user + outside.system
    expect(measured).toBeGreaterThan(50_000) // the loop did burn CPU, even on a loaded machine
    expect(Math.abs(recorded - measured) / measured).toBeLessThan(0.25)
  })

  it('records an external-memory delta of at least 15 MB for a 16 MB Buffer allocated inside', () => {
    // Garbage from earlier tests collected first: the 16 MB allocation can start a GC that frees other
    // external memory inside the span and lowers the delta below what the Buffer added. The figure is
    // the process's, so the best of three tries is judged.
    const kept: Buffer[] = []
    let best = -Infinity
    for (let attempt = 0; attempt < 3 && best < 15 * 1024 * 1024; attempt++) {
      collectGarbage()
      const name = `allocate ${attempt}`
      trace(name, () => kept.push(Buffer.alloc(16 * 1024 * 1024, 1)), { resources: true })
      const attributes = spanNamed(name).attributes
      expect(Number(attributes[ATTR_PROCESS_HEAP_BEFORE])).toBeGreaterThan(0)
      best = Math.max(best, Number(attributes[ATTR_PROCESS_EXTERNAL_DELTA]))
    }
    expect(kept[0]?.length).toBe(16 * 1024 * 1024)
    expect(best).toBeGreaterThanOrEqual(15 * 1024 * 1024)
  })

  it('records an event-loop utilization near 1 for a span around a blocking loop', async () => {
    await nextTurn() // the loop is running, not in the middle of the test's first tick
    await trace(
      'blocking',
      async () => {
        await nextTurn()
        burnCpu(200)
      },
      { resources: true },
    )
    expect(Number(spanNamed('blocking').attributes[ATTR_PROCESS_ELU])).toBeGreaterThan(0.9)
  })

  it('records a low event-loop utilization for a span that only waits', async () => {
    // The figure is the process's: other work in this jest worker (a previous test's child processes
    // reporting back) can keep the loop busy during one wait, so the best of three tries is judged.
    let best = Infinity
    for (let attempt = 0; attempt < 3 && best >= 0.5; attempt++) {
      const name = `waiting ${attempt}`
      await trace(name, () => new Promise((resolve) => setTimeout(resolve, 200)), { resources: true })
      best = Math.min(best, Number(spanNamed(name).attributes[ATTR_PROCESS_ELU]))
    }
    expect(best).toBeLessThan(0.5)
  })

  it('records the requests in flight at start and end, so the overlap can be judged', async () => {
    requestStarted()
    try {
      await trace(
        'overlapping',
        async () => {
          requestStarted()
          await nextTurn()
        },
        { resources: true },
      )
      const attributes = spanNamed('overlapping').attributes
      expect(Number(attributes[ATTR_PROCESS_IN_FLIGHT_END])).toBe(
        Number(attributes[ATTR_PROCESS_IN_FLIGHT_START]) + 1,
      )
    } finally {
      requestEnded()
      requestEnded()
    }
  })

  it('records nothing without the option', () => {
    trace('plain', () => burnCpu(1))
    expect(spanNamed('plain').attributes[ATTR_PROCESS_CPU_USER]).toBeUndefined()
  })

  it('records on a span that fails too, and the error goes through unchanged', async () => {
    const error = new Error('boom')
    await expect(trace('failing', () => Promise.reject(error), { resources: true })).rejects.toBe(error)
    expect(spanNamed('failing').attributes[ATTR_PROCESS_CPU_USER]).toEqual(expect.any(Number))
  })
})

describe('withResources(fn)', () => {
  it('records on the active span and returns what fn returned', async () => {
    const result = await trace('outer', () => withResources(async () => burnCpu(20) * 0 + 7))
    expect(result).toBe(7)
    expect(Number(spanNamed('outer').attributes[ATTR_PROCESS_CPU_USER])).toBeGreaterThan(0)
  })

  it('just runs fn without an active span', () => {
    expect(withResources(() => 'ran')).toBe('ran')
  })

  it('rethrows a synchronous error unchanged after recording', () => {
    const error = new TypeError('bad')
    expect(() =>
      trace('sync failure', () =>
        withResources(() => {
          throw error
        }),
      ),
    ).toThrow(error)
    expect(spanNamed('sync failure').attributes[ATTR_PROCESS_ELU]).toEqual(expect.any(Number))
  })

  it('measures nothing for a span that is not recorded (an unsampled request pays nothing)', () => {
    const unsampled = new BasicTracerProvider({ sampler: new AlwaysOffSampler() })
    const span = unsampled.getTracer('t').startSpan('off')
    const setAttributes = jest.spyOn(span, 'setAttributes')
    context.with(traceApi.setSpan(context.active(), span), () => withResources(() => burnCpu(1)))
    expect(setAttributes).not.toHaveBeenCalled()
  })
})
