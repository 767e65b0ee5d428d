import {
  createNoopMeter,
  metrics,
  type Attributes,
  type Histogram,
  type MeterProvider,
} from '@opentelemetry/api'
import { performance } from 'node:perf_hooks'
import { TRACER_NAME, TRACER_VERSION } from '../internal/tracer'
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_URL_SCHEME,
  METRIC_HTTP_SERVER_REQUEST_DURATION,
} from './attributes'
import type { ServerRequest } from './types'

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

/**
 * Records one finished request's duration (since `startedAt`, in seconds) with the attributes the HTTP
 * semantic conventions give this histogram: method, scheme, route, status, error type and protocol.
 */
export function recordDuration(
  histogram: Histogram,
  serverRequest: ServerRequest<unknown>,
  status: number | undefined,
  errorType: string | undefined,
): void {
  const attributes: Attributes = {
    [ATTR_HTTP_REQUEST_METHOD]: serverRequest.method,
    [ATTR_URL_SCHEME]: serverRequest.scheme,
  }
  const route = serverRequest.state.route
  if (route !== undefined) attributes[ATTR_HTTP_ROUTE] = route
  if (status !== undefined) attributes[ATTR_HTTP_RESPONSE_STATUS_CODE] = status
  if (errorType !== undefined) attributes[ATTR_ERROR_TYPE] = errorType
  const version = serverRequest.req.httpVersion
  if (typeof version === 'string') attributes[ATTR_NETWORK_PROTOCOL_VERSION] = version
  histogram.record((performance.now() - serverRequest.startedAt) / 1000, attributes)
}
