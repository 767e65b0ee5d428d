import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'

// The bench scripts run against the built packages (run `pnpm build` first). A smoke run: every
// variant's server starts, answers, is measured and lands in the ratio table; micro-benchmarks and
// memory run. The figures mean nothing here (a few dozen requests); this keeps the scripts from rotting.
const root = join(__dirname, '..')

test('bench/run.mjs --quick starts every variant and prints the ratio and micro-benchmark tables', async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['bench/run.mjs', '--quick', '--requests=40', '--warmup=4'],
    { cwd: root, encoding: 'utf8', timeout: 110_000 },
  )
  expect(stdout).toMatch(/framework\s+variant\s+overhead ÷ lean\s+overhead ÷ OTel auto/)
  for (const framework of ['Express 5', 'Koa 3']) {
    for (const variant of [
      'traceweave',
      'lean-unsampled',
      'traceweave-rules100',
      'traceweave-otlp',
      'otel-auto-otlp',
    ])
      expect(stdout).toMatch(new RegExp(`${framework}\\s+${variant}\\s`))
    expect(stdout).toMatch(new RegExp(`${framework}: traceweave \\(100% sampled\\) overhead = -?[0-9.]+x`))
  }
  // Every sampled variant traced each request (and the OTLP receiver got them): spans/req is the last column.
  expect(stdout).toMatch(/Koa 3\s+traceweave-otlp\s.*\s1\.00\n/)
  expect(stdout).toMatch(/Koa 3\s+otel-auto-otlp\s.*\s2\.00\n/)
  expect(stdout).toMatch(/lifecycle: traceweave request, sampled\s+\d+/)
  expect(stdout).toMatch(/sampling decision, 10 rules\s+\d+/)
  expect(stdout).toMatch(/\n\s*1000\s+1000\s+-?\d+/)
}, 120_000)
