import { metrics } from '@opentelemetry/api'
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics'
import { getSamplingStats, recordDecision, resetSamplingStats } from './stats'
import { NO_UPGRADES } from '../../../../test/support/sampling'

afterEach(() => {
  metrics.disable()
  resetSamplingStats()
})

describe('sampling stats', () => {
  it('counts total, sampled, rate and decisions by reason; reset starts over', () => {
    recordDecision('ratio', true)
    recordDecision('ratio', false)
    recordDecision('user', true)
    recordDecision('rateLimited', false)
    expect(getSamplingStats()).toEqual({
      total: 4,
      sampled: 2,
      rate: 0.5,
      byReason: { ratio: 2, user: 1, rateLimited: 1 },
      decidedEarly: 0,
      ...NO_UPGRADES,
    })
    resetSamplingStats()
    expect(getSamplingStats()).toEqual({
      total: 0,
      sampled: 0,
      rate: 0,
      byReason: {},
      decidedEarly: 0,
      ...NO_UPGRADES,
    })
  })

  it('returns a copy: changing it does not change the counters', () => {
    recordDecision('rule', true)
    const stats = getSamplingStats()
    stats.byReason.rule = 99
    expect(getSamplingStats().byReason.rule).toBe(1)
  })

  it('records the same numbers as an OTel counter once a MeterProvider is registered, even after start', async () => {
    recordDecision('ratio', true) // before any MeterProvider: only in the stats
    const reader = new PeriodicExportingMetricReader({
      exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
      exportIntervalMillis: 60_000,
    })
    const provider = new MeterProvider({ readers: [reader] })
    metrics.setGlobalMeterProvider(provider)
    recordDecision('ratio', true)
    recordDecision('parent', false)
    recordDecision('parent', false)
    const { resourceMetrics } = await reader.collect()
    const metric = resourceMetrics.scopeMetrics[0]!.metrics.find(
      (m) => m.descriptor.name === 'traceweave.sampling.decisions',
    )!
    const points = metric.dataPoints.map((point) => ({ attributes: point.attributes, value: point.value }))
    expect(points).toEqual(
      expect.arrayContaining([
        { attributes: { 'sampling.reason': 'ratio', 'sampling.sampled': true }, value: 1 },
        { attributes: { 'sampling.reason': 'parent', 'sampling.sampled': false }, value: 2 },
      ]),
    )
    expect(points).toHaveLength(2)
    await provider.shutdown()
  })
})
