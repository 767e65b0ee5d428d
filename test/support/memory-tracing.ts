/**
 * `setupTracing({ exporter: 'memory' })`, wired as a user wires it (the real SDK, propagators and
 * sampler of @traceweave/node), in jest's hooks: set up before all tests, its spans and the sampling
 * stats reset before each, shut down after all. For tests of what a whole service records; for a bare
 * SDK provider (unit tests of core, say) use `useTestTracing()` from ./tracing.
 */
import { resetSamplingStats } from '@traceweave/core'
import { setupTracing, type MemoryTracingHandle, type SetupTracingOptions } from '@traceweave/node'

export function useMemoryTracing(options: Omit<SetupTracingOptions, 'exporter'> = {}): MemoryTracingHandle {
  let handle: MemoryTracingHandle | undefined
  const live = (): MemoryTracingHandle => {
    if (handle === undefined) throw new Error('useMemoryTracing(): tracing is set up in beforeAll')
    return handle
  }
  beforeAll(() => {
    handle = setupTracing({ flushOnExit: false, ...options, exporter: 'memory' })
  })
  beforeEach(() => {
    live().memory.reset()
    resetSamplingStats()
  })
  afterAll(async () => {
    await handle?.shutdown()
    handle = undefined
  })
  // The handle exists only from beforeAll on: every property is read from the live one.
  return new Proxy({} as MemoryTracingHandle, {
    get(_target, key) {
      const current = live()
      const value: unknown = Reflect.get(current, key, current)
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(current) : value
    },
  })
}
