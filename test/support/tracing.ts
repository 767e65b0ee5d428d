/**
 * In-process tracing for tests: a real OpenTelemetry SDK provider with an in-memory exporter and an
 * AsyncLocalStorage context manager, registered globally, for tests that look at the finished spans
 * the way a user's backend would.
 *
 * - `useTestTracing()` at the top of a test file (or a describe): registered before all tests, reset
 *   after each, shut down after all. The usual choice, for unit tests beside the code too.
 * - `startTestTracing()` when the test decides when: started inside its own hooks (after it set up
 *   propagators or a diag logger, say), shut down by the test.
 * Tests of `setupTracing()` itself use its `exporter: 'memory'` instead.
 */
import { context, propagation, trace, type Tracer } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base'

export interface TestTracing {
  /** Every span finished since the last reset, in the order they ended. */
  spans(): ReadableSpan[]
  reset(): void
  shutdown(): Promise<void>
}

export interface TestTracingOptions {
  /** Processors that see every span before the in-memory exporter's. */
  spanProcessors?: SpanProcessor[]
}

export function startTestTracing(options: TestTracingOptions = {}): TestTracing {
  const exporter = new InMemorySpanExporter()
  const contextManager = new AsyncLocalStorageContextManager().enable()
  const provider = new BasicTracerProvider({
    spanProcessors: [...(options.spanProcessors ?? []), new SimpleSpanProcessor(exporter)],
  })
  context.setGlobalContextManager(contextManager)
  trace.setGlobalTracerProvider(provider)
  return {
    spans: () => exporter.getFinishedSpans(),
    reset: () => exporter.reset(),
    async shutdown() {
      await provider.shutdown()
      trace.disable()
      context.disable()
      propagation.disable()
    },
  }
}

/** {@link startTestTracing} in jest's hooks: started before all tests, reset after each, shut down after all. */
export function useTestTracing(options: TestTracingOptions = {}): TestTracing {
  let current: TestTracing | undefined
  const started = (): TestTracing => {
    if (current === undefined) throw new Error('useTestTracing(): tracing starts in beforeAll')
    return current
  }
  beforeAll(() => {
    current = startTestTracing(options)
  })
  afterEach(() => current?.reset())
  afterAll(async () => {
    await current?.shutdown()
    current = undefined
  })
  return {
    spans: () => started().spans(),
    reset: () => started().reset(),
    shutdown: () => started().shutdown(),
  }
}

/** The finished spans named `name`. */
export function spansNamed(tracing: TestTracing, name: string): ReadableSpan[] {
  return tracing.spans().filter((span) => span.name === name)
}

/** The one finished span named `name`; the test fails if there is none or more than one. */
export function onlySpanNamed(tracing: TestTracing, name: string): ReadableSpan {
  const found = spansNamed(tracing, name)
  expect(found).toHaveLength(1)
  return found[0]!
}

/**
 * A tracer that breaks, for fail-open tests: `startSpan` throws (`'start'`), or the spans it starts
 * throw from `end()` (`'end'`), and from `setAttribute()` too with `setAttributeThrows`.
 */
export function throwingTracer(
  where: 'start' | 'end',
  options: { setAttributeThrows?: boolean } = {},
): Tracer {
  const real = trace.getTracer('failing')
  return {
    startSpan(name, spanOptions, ctx) {
      if (where === 'start') throw new Error('tracer broke at start')
      const span = real.startSpan(name, spanOptions, ctx)
      span.end = () => {
        throw new Error('tracer broke at end')
      }
      if (options.setAttributeThrows) {
        span.setAttribute = () => {
          throw new Error('tracer broke at setAttribute')
        }
      }
      return span
    },
    startActiveSpan: real.startActiveSpan.bind(real),
  } as Tracer
}
