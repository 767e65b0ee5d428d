import { trace, type Tracer } from '@opentelemetry/api'
import { delegateTracer, tracerProviderDelegate } from '../internal/otel-globals'
import { TRACER_NAME, TRACER_VERSION } from '../internal/tracer'

/**
 * The tracer of the TracerProvider registered now, or `undefined` when none is (the API's no-op).
 * Looked up again only when the global provider changes, as `ServerMetrics` does for the meter.
 */
export class TracerSource {
  private delegate: unknown = TracerSource
  private tracer: Tracer | undefined

  /** The tracer to start server spans with, `undefined` while no TracerProvider is registered. */
  current(): Tracer | undefined {
    const provider = trace.getTracerProvider()
    const delegate = tracerProviderDelegate(provider)
    if (delegate !== this.delegate) {
      this.delegate = delegate
      this.tracer = delegateTracer(provider, TRACER_NAME, TRACER_VERSION)
    }
    return this.tracer
  }
}
