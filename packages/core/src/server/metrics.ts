import { createNoopMeter, metrics, type Histogram, type MeterProvider } from '@opentelemetry/api'
import { TRACER_NAME, TRACER_VERSION } from '../internal/tracer'
import { METRIC_HTTP_SERVER_REQUEST_DURATION } from './attributes'

// The buckets the HTTP semantic conventions advise for this histogram, in seconds.
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]
const NOOP_METER = createNoopMeter()

/**
 * The `http.server.request.duration` histogram of the MeterProvider registered now. The API has no
 * proxy for meters, so a provider registered after `traceweave()` is picked up on its next request.
 */
export class ServerMetrics {
  private provider: MeterProvider | undefined
  private histogram: Histogram | undefined

  /**
   * The histogram to record into, or `undefined` when no MeterProvider is registered: then a request
   * builds no metric attributes at all.
   */
  current(): Histogram | undefined {
    const provider = metrics.getMeterProvider()
    if (provider !== this.provider) {
      this.provider = provider
      const meter = provider.getMeter(TRACER_NAME, TRACER_VERSION)
      this.histogram =
        meter === NOOP_METER
          ? undefined
          : meter.createHistogram(METRIC_HTTP_SERVER_REQUEST_DURATION, {
              description: 'Duration of HTTP server requests.',
              unit: 's',
              advice: { explicitBucketBoundaries: DURATION_BUCKETS },
            })
    }
    return this.histogram
  }
}
