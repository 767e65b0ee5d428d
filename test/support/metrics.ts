/** Metrics for tests: a reader the test collects from when it wants, with cumulative figures. */
import { AggregationTemporality, MetricReader } from '@opentelemetry/sdk-metrics'

/** A MetricReader that never exports by itself: the test calls `collect()` and reads the figures. */
export class ManualMetricReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE })
  }
  protected onForceFlush(): Promise<void> {
    return Promise.resolve()
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve()
  }
}
