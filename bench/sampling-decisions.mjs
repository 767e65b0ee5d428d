// ns per sampling decision, through the OpenTelemetry Sampler interface as the SDK calls it.
// Run after `pnpm build`: node bench/sampling-decisions.mjs
import { ROOT_CONTEXT, SpanKind } from '@opentelemetry/api'
import { TraceweaveSampler, setRequestState, resetSamplingStats } from '@traceweave/core'

const ITERATIONS = 1_000_000
const traceIds = Array.from({ length: 4096 }, () =>
  Array.from({ length: 4 }, () =>
    Math.floor(Math.random() * 2 ** 32)
      .toString(16)
      .padStart(8, '0'),
  ).join(''),
)
const requestContext = setRequestState(ROOT_CONTEXT, {
  requestId: 'bench',
  correlationAttributes: {},
  method: 'GET',
  path: '/users/7',
  headers: { 'x-debug': '0' },
  userId: 'someone',
})

const cases = {
  'ratio 0.25': { ratio: 0.25 },
  'users + 3 rules + ratio': {
    ratio: 0.1,
    users: ['alice', 'bob'],
    rules: [
      { pathPrefix: '/health', sample: 0 },
      { method: 'POST', sample: 1 },
      { header: ['x-debug', '1'], sample: 1 },
    ],
  },
  'adaptive 20/s': { targetPerSecond: 20 },
  'ratio + rate limit 100/s': { ratio: 1, maxPerSecond: 100 },
}

export function runSamplingBench(iterations = ITERATIONS) {
  const results = []
  for (const [name, options] of Object.entries(cases)) {
    const sampler = new TraceweaveSampler(options)
    const run = (n) => {
      for (let i = 0; i < n; i++) {
        sampler.shouldSample(requestContext, traceIds[i & 4095], 'GET', SpanKind.SERVER, {}, [])
      }
    }
    run(Math.min(50_000, iterations)) // warm up the JIT
    const start = process.hrtime.bigint()
    run(iterations)
    const ns = Number(process.hrtime.bigint() - start) / iterations
    results.push({ name, nsPerDecision: Math.round(ns) })
  }
  resetSamplingStats()
  return results
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const { name, nsPerDecision } of runSamplingBench())
    console.log(`${name.padEnd(28)} ${nsPerDecision} ns/decision`)
}
