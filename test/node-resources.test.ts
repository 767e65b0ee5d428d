/**
 * setupTracing({ resources }): the pidusage sampler as a user sees it: gauges through their
 * MeterProvider, the latest sample on server spans that ask for resources, and a timer that stops on
 * shutdown() and never keeps the process alive.
 */
import { metrics } from '@opentelemetry/api'
import { MeterProvider, type GaugeMetricData } from '@opentelemetry/sdk-metrics'
import { traceweave } from '@traceweave/express'
import { setupTracing, type MemoryTracingHandle } from '@traceweave/node'
import { spawn } from 'node:child_process'
import request from 'supertest'
import { cleanUpChildScripts, writeChildScript } from './support/child-script'
import { ManualMetricReader } from './support/metrics'

const express5 = require('express5') as typeof import('express')

const wait = (ms: number) => new Promise((done) => setTimeout(done, ms))

let tracing: MemoryTracingHandle | undefined
afterEach(async () => {
  await tracing?.shutdown()
  tracing = undefined
  metrics.disable()
})

function appWithResources() {
  const app = express5()
  app.use(traceweave({ resources: true }))
  app.get('/report', (_req, res) => {
    res.send('ok')
  })
  return app
}

async function sampledServerSpan(): Promise<Record<string, unknown>> {
  tracing!.memory.reset()
  await request(appWithResources()).get('/report').expect(200)
  for (let i = 0; i < 100 && tracing!.memory.getFinishedSpans().length === 0; i++) await wait(10)
  return tracing!.memory.getFinishedSpans()[0]!.attributes
}

test('the process gauges reach the MeterProvider registered before setupTracing()', async () => {
  const reader = new ManualMetricReader()
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }))
  tracing = setupTracing({ exporter: 'memory', flushOnExit: false, resources: { sampleEveryMs: 100 } })
  let memory: GaugeMetricData | undefined
  let cpu: GaugeMetricData | undefined
  for (let i = 0; i < 100 && memory?.dataPoints.length !== 1; i++) {
    await wait(20)
    const all = (await reader.collect()).resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics)
    memory = all.find((one) => one.descriptor.name === 'process.memory.usage') as GaugeMetricData
    cpu = all.find((one) => one.descriptor.name === 'process.cpu.utilization') as GaugeMetricData
  }
  expect(memory!.descriptor.unit).toBe('By')
  expect(memory!.dataPoints[0]!.value).toBeGreaterThan(10 * 1024 * 1024)
  expect(cpu!.descriptor.unit).toBe('1')
  expect(cpu!.dataPoints[0]!.value).toBeGreaterThanOrEqual(0)
  expect(cpu!.dataPoints[0]!.value).toBeLessThanOrEqual(1.5) // a fraction of the cores, not a percent
})

test('a server span asking for resources carries the latest sample, and none once shutdown() stopped the sampler', async () => {
  tracing = setupTracing({ exporter: 'memory', flushOnExit: false, resources: { sampleEveryMs: 100 } })
  await wait(300)
  const attributes = await sampledServerSpan()
  expect(attributes['traceweave.process.sample.rss']).toEqual(expect.any(Number))
  expect(Number(attributes['traceweave.process.sample.rss'])).toBeGreaterThan(10 * 1024 * 1024)
  expect(attributes['traceweave.process.sample.cpu_percent']).toEqual(expect.any(Number))
  expect(Number(attributes['traceweave.process.sample.age_ms'])).toBeLessThan(5000)
  expect(attributes['traceweave.process.cpu.user_us']).toEqual(expect.any(Number))

  await tracing.shutdown()
  tracing = setupTracing({ exporter: 'memory', flushOnExit: false }) // no sampler this time
  const after = await sampledServerSpan()
  expect(after['traceweave.process.cpu.user_us']).toEqual(expect.any(Number))
  expect(after['traceweave.process.sample.rss']).toBeUndefined()
})

test('setupTracing rejects a bad resources option, naming it', () => {
  expect(() => setupTracing({ resources: { sampleEveryMs: 5 } })).toThrow(
    'traceweave: `resources.sampleEveryMs` must be an integer from 100 to 2147483647; got 5',
  )
})

describe('the sampler never keeps the process alive', () => {
  afterAll(() => cleanUpChildScripts())

  /** Runs a script in a new Node process; resolves with its exit code, or 'hung' after `limitMs`. */
  function run(body: string, limitMs: number): Promise<number | null | 'hung'> {
    // The watchdog (unref'ed, 20 s) outlasts `limitMs`: it cannot end a child the test calls hung.
    const file = writeChildScript(`const { setupTracing } = require(M.node)\n${body}`)
    const child = spawn(process.execPath, [file], { stdio: 'ignore' })
    return new Promise((done) => {
      const limit = setTimeout(() => {
        child.kill('SIGKILL')
        done('hung')
      }, limitMs)
      child.on('exit', (code) => {
        clearTimeout(limit)
        done(code)
      })
    })
  }

  // The sampling interval (1 s) is far shorter than the limit, so a ref'ed timer would keep the child
  // running until it is killed.
  it('a child that sets up sampling and never shuts down exits by itself', async () => {
    const body = `setupTracing({ exporter: 'none', flushOnExit: false, resources: { sampleEveryMs: 1000 } })
setTimeout(() => {}, 1500) // let the sampler tick at least once`
    expect(await run(body, 15_000)).toBe(0)
  })

  it('a child that shuts down exits by itself', async () => {
    const body = `const tracing = setupTracing({ exporter: 'none', flushOnExit: false, resources: { sampleEveryMs: 1000 } })
setTimeout(() => tracing.shutdown(), 1200)`
    expect(await run(body, 15_000)).toBe(0)
  })
})
