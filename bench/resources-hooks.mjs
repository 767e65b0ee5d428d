// `node bench/resources-hooks.mjs` (after `pnpm build`): what `traceweave({ resources: 'attributed' })`
// costs every callback of the process. ns per `await` (one promise callback each) and per
// `setImmediate` callback, with no async hook, with an empty one, and with traceweave's attribution
// hook (a monotonic clock around each callback of a request), and with a hook reading
// process.cpuUsage() instead; each mode in its own process, since an async hook cannot be taken back out of V8's fast path.
// Also the per-span price of `trace(name, fn, { resources: true })` against `trace(name, fn)`.
//
//   node bench/resources-hooks.mjs [--awaits=2000000] [--rounds=5]
import { fork } from 'node:child_process'
import { createHook } from 'node:async_hooks'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const MODES = ['no hook', 'empty hook', 'traceweave attributed', 'cpuUsage() hook']
const args = Object.fromEntries(
  process.argv
    .slice(2)
    .filter((a) => a.startsWith('--'))
    .map((a) => a.slice(2).split('=')),
)
const awaits = Number(args.awaits ?? 2_000_000)
const rounds = Number(args.rounds ?? 5)

if (args.mode !== undefined) await child(args.mode)
else await parent()

async function parent() {
  console.log(
    `Node ${process.version}: ${rounds} rounds of ${awaits} awaits / ${awaits / 10} setImmediate per mode`,
  )
  const rows = []
  for (const mode of MODES) {
    const result = await new Promise((resolve, reject) => {
      const proc = fork(fileURLToPath(import.meta.url), [
        `--mode=${mode}`,
        `--awaits=${awaits}`,
        `--rounds=${rounds}`,
      ])
      proc.once('message', resolve)
      proc.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`${mode} exited ${code}`))))
    })
    rows.push({ mode, ...result })
  }
  const base = rows[0]
  console.log(
    'mode'.padEnd(24) + 'ns/await'.padStart(10) + '  over none' + 'ns/immediate'.padStart(14) + '  over none',
  )
  for (const row of rows) {
    console.log(
      row.mode.padEnd(24) +
        row.await.toFixed(0).padStart(10) +
        `  +${(row.await - base.await).toFixed(0)}`.padEnd(11) +
        row.immediate.toFixed(0).padStart(13) +
        `  +${(row.immediate - base.immediate).toFixed(0)}`,
    )
  }
  const spans = rows[0].spans
  console.log(
    `\ntrace(): ${spans.plain.toFixed(2)} µs/span plain, ${spans.resources.toFixed(2)} µs/span with resources: true ` +
      `(+${(spans.resources - spans.plain).toFixed(2)} µs)`,
  )
}

async function child(mode) {
  // register(): the AsyncLocalStorage context manager the hook looks the request up in, as in an app.
  const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node')
  new NodeTracerProvider().register()
  const core = require('@traceweave/core')
  if (mode === 'empty hook') createHook({ before() {}, after() {} }).enable()
  // The alternative traceweave did not take: reading process.cpuUsage() around every callback.
  if (mode === 'cpuUsage() hook') {
    let start
    createHook({
      before() {
        start = process.cpuUsage()
      },
      after() {
        process.cpuUsage(start)
      },
    }).enable()
  }
  if (mode === 'traceweave attributed') {
    // Building a lifecycle with the option is what enables the hook, as traceweave({ resources }) does.
    core.createServerLifecycle({ resources: 'attributed' }, { framework: 'bench' })
  }
  const awaitTimes = []
  const immediateTimes = []
  for (let round = 0; round < rounds; round++) {
    let t = performance.now()
    for (let i = 0; i < awaits; i++) await undefined
    awaitTimes.push(((performance.now() - t) * 1e6) / awaits)
    const immediates = awaits / 10
    t = performance.now()
    for (let i = 0; i < immediates; i++) await new Promise((resolve) => setImmediate(resolve))
    // Each turn is one setImmediate callback and one await; the await's price is taken off.
    immediateTimes.push(((performance.now() - t) * 1e6) / immediates - awaitTimes[round])
  }
  const spans = { plain: spanCost(core, false), resources: spanCost(core, true) }
  process.send({ await: median(awaitTimes), immediate: median(immediateTimes), spans })
  process.exit(0)
}

function spanCost(core, resources) {
  const n = 50_000
  const times = []
  for (let round = 0; round < rounds; round++) {
    const t = performance.now()
    for (let i = 0; i < n; i++) core.trace('bench', () => i, { resources })
    times.push(((performance.now() - t) * 1000) / n)
  }
  return median(times)
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[sorted.length >> 1]
}
