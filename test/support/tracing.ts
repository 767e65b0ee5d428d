import { context, propagation, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base'

/**
 * A real OpenTelemetry SDK provider with an in-memory exporter, registered globally, for tests that
 * want to look at the finished spans the way a user's backend would.
 */
export interface TestTracing {
  spans(): ReadableSpan[]
  reset(): void
  shutdown(): Promise<void>
}

export function startTestTracing(options: { spanProcessors?: SpanProcessor[] } = {}): TestTracing {
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
