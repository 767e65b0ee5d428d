import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api'
import { resetReported } from '@traceweave/core/internal'
import pidusage from 'pidusage'
import { resolveResourceSampling } from './options'
import { startProcessSampler, type ProcessReader, type ProcessSampler } from './sampler'

function captureDiag(): string[] {
  const messages: string[] = []
  const record = (...args: unknown[]) => void messages.push(args.map(String).join(' '))
  const logger: DiagLogger = { error: record, warn: record, info: record, debug: record, verbose: record }
  diag.setLogger(logger, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true })
  return messages
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !check(); i++) await wait(10)
}

/** pidusage itself, counting its calls. */
function countingPidusage(): { read: ProcessReader; calls: () => number } {
  let calls = 0
  return {
    read: (pid) => {
      calls++
      return pidusage(pid)
    },
    calls: () => calls,
  }
}

let sampler: ProcessSampler | undefined
afterEach(() => {
  resetReported() // each test sees its own first report
  sampler?.stop()
  sampler = undefined
  diag.disable()
})

describe('startProcessSampler', () => {
  it('samples CPU percent and RSS with pidusage, one sample soon after start', async () => {
    sampler = startProcessSampler({ sampleEveryMs: 60_000 })
    await until(() => sampler!.latest() !== undefined)
    const sample = sampler.latest()!
    expect(sample.rss).toBeGreaterThan(10 * 1024 * 1024)
    expect(sample.cpuPercent).toBeGreaterThanOrEqual(0)
    expect(Date.now() - sample.at).toBeLessThan(5000)
  })

  it('samples again every sampleEveryMs, and not once stopped', async () => {
    const counting = countingPidusage()
    sampler = startProcessSampler({ sampleEveryMs: 100 }, counting.read)
    await until(() => counting.calls() >= 3)
    expect(counting.calls()).toBeGreaterThanOrEqual(3)
    sampler.stop()
    const atStop = counting.calls()
    await wait(350)
    expect(counting.calls()).toBe(atStop)
    expect(sampler.latest()).toBeUndefined()
  })

  it('reports a failing read once, stops sampling, and does not throw', async () => {
    const messages = captureDiag()
    let calls = 0
    const failing: ProcessReader = () => {
      calls++
      return Promise.reject(new Error('ENOENT: /proc not mounted'))
    }
    sampler = startProcessSampler({ sampleEveryMs: 100 }, failing)
    await wait(400)
    expect(calls).toBe(1)
    const reports = messages.filter((message) => message.includes('pidusage failed'))
    expect(reports).toHaveLength(1)
    expect(reports[0]).toContain('tracing goes on')
    expect(sampler.latest()).toBeUndefined()
  })

  it('treats a reader that throws synchronously like one that rejects', async () => {
    const messages = captureDiag()
    sampler = startProcessSampler({ sampleEveryMs: 100 }, () => {
      throw new Error('unsupported platform')
    })
    await wait(50)
    expect(messages.filter((message) => message.includes('pidusage failed'))).toHaveLength(1)
  })
})

describe('resolveResourceSampling', () => {
  it('is off by default, every 5 s with true or {}', () => {
    expect(resolveResourceSampling(undefined)).toBeUndefined()
    expect(resolveResourceSampling(false)).toBeUndefined()
    expect(resolveResourceSampling(true)).toEqual({ sampleEveryMs: 5000 })
    expect(resolveResourceSampling({})).toEqual({ sampleEveryMs: 5000 })
    expect(resolveResourceSampling({ sampleEveryMs: 250 })).toEqual({ sampleEveryMs: 250 })
  })

  it('fails fast naming the option and the valid values', () => {
    expect(() => resolveResourceSampling('often')).toThrow(
      "traceweave: `resources` must be true, false or an object { sampleEveryMs }; got 'often'",
    )
    expect(() => resolveResourceSampling({ every: 1 })).toThrow(
      "traceweave: `resources` must have only the keys sampleEveryMs; got the key 'every'",
    )
    expect(() => resolveResourceSampling({ sampleEveryMs: 10 })).toThrow(
      'traceweave: `resources.sampleEveryMs` must be an integer from 100 to 2147483647; got 10',
    )
    expect(() => resolveResourceSampling({ sampleEveryMs: 2 ** 31 })).toThrow(/got 2147483648$/)
    expect(() => resolveResourceSampling({ sampleEveryMs: 1.5e3 + 0.5 })).toThrow(/got 1500.5$/)
  })
})
