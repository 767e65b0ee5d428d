/** The stable http.server.request.duration histogram, when a MeterProvider is registered. */
import { metrics } from '@opentelemetry/api'
import { MeterProvider, type HistogramMetricData } from '@opentelemetry/sdk-metrics'
import request from 'supertest'
import {
  buildApp,
  FRAMEWORKS,
  serverSpans,
  startMiddlewareTracing,
  waitForSpans,
} from './support/middleware-apps'
import { ManualMetricReader } from './support/metrics'

const tracing = startMiddlewareTracing()
const reader = new ManualMetricReader()
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }))
afterAll(async () => {
  await tracing.shutdown()
  metrics.disable()
})

test('every framework records one duration per request with route, method and status', async () => {
  for (const framework of FRAMEWORKS) {
    const app = buildApp(framework)
    await request(app).get('/users/1').expect(200)
    await request(app).get('/fail').expect(500)
  }
  await waitForSpans(tracing, (all) => serverSpans(all).length === 8)
  const { resourceMetrics } = await reader.collect()
  const metric = resourceMetrics.scopeMetrics
    .flatMap((scope) => scope.metrics)
    .find((one) => one.descriptor.name === 'http.server.request.duration') as HistogramMetricData
  expect(metric.descriptor.unit).toBe('s')
  const points = metric.dataPoints.map((point) => ({
    attributes: point.attributes,
    count: point.value.count,
  }))
  expect(points).toEqual(
    expect.arrayContaining([
      {
        attributes: {
          'http.request.method': 'GET',
          'url.scheme': 'http',
          'http.route': '/users/:id',
          'http.response.status_code': 200,
          'network.protocol.version': '1.1',
        },
        count: 4,
      },
      {
        attributes: {
          'http.request.method': 'GET',
          'url.scheme': 'http',
          'http.route': '/fail',
          'http.response.status_code': 500,
          'error.type': 'Error',
          'network.protocol.version': '1.1',
        },
        count: 4,
      },
    ]),
  )
  expect(points).toHaveLength(2)
})
