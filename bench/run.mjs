// `pnpm bench` (after `pnpm build`): server CPU per request of Express 5 and Koa 3, bare, with
// traceweave, with a lean one-span middleware and with OpenTelemetry auto-instrumentation, side by
// side in one run. Prints a table and writes bench/RESULTS.md.
//
//   node bench/run.mjs [--rounds=5] [--requests=20000] [--warmup=3000] [--concurrency=16]
//                      [--only=express|koa] [--variants=traceweave,resources,...] [--no-write]
//   node bench/run.mjs --profile=express/traceweave [--requests=200000]
//       runs one variant under `node --cpu-prof` and prints the top self-time frames.
import { fork } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const HERE = dirname(fileURLToPath(import.meta.url))
const SERVER = join(HERE, 'server.cjs')
const RESULTS = join(HERE, 'RESULTS.md')
const FRAMEWORKS = [
  { id: 'express', label: 'Express 5', version: 'express@5.3.0', bar: 15 },
  { id: 'koa', label: 'Koa 3', version: 'koa@3.2.1 + @koa/router@15.7.0', bar: 6 },
]
const ALL_VARIANTS = ['bare', 'traceweave', 'lean', 'otel-auto', 'resources', 'attributed', 'outcome']
// What the developers' guide quotes for the same setup, to compare against (µs over bare).
const GUIDE_REFERENCE = { express: { lean: 22, 'otel-auto': 54 }, koa: { lean: 9, 'otel-auto': 27 } }
const SESSIONS = 64
// The whole run stops by itself: past this, servers are killed and the run fails.
const HARD_LIMIT_MS = 15 * 60_000

const options = parseArgs(process.argv.slice(2))
// --variants=a,b picks a subset (bare is always run: every figure is read against it).
const VARIANTS = ALL_VARIANTS.filter(
  (v) => v === 'bare' || options.variants === undefined || options.variants.includes(v),
)
const hardLimit = setTimeout(() => {
  console.error(`bench: still running after ${HARD_LIMIT_MS / 60_000} minutes; giving up`)
  process.exit(1)
}, HARD_LIMIT_MS)
hardLimit.unref()

if (options.profile) await profile(options)
else await benchmark(options)
clearTimeout(hardLimit)

async function benchmark(opts) {
  const frameworks = FRAMEWORKS.filter((f) => opts.only === undefined || f.id === opts.only)
  const started = Date.now()
  console.log(
    `bench: ${frameworks.map((f) => f.label).join(', ')} x ${VARIANTS.join(', ')}; ${opts.rounds} rounds of ` +
      `${opts.warmup} warm-up + ${opts.requests} measured requests at concurrency ${opts.concurrency}`,
  )
  const servers = []
  try {
    for (const framework of frameworks) {
      for (const variant of VARIANTS) servers.push(await startServer(framework, variant))
    }
    for (let round = 0; round < opts.rounds; round++) {
      // Round-robin, starting one further each round, so drift and position effects spread evenly.
      for (let i = 0; i < servers.length; i++) {
        const server = servers[(i + round) % servers.length]
        const result = await measure(server, opts)
        server.rounds.push(result)
        process.stdout.write(
          `  round ${round + 1}/${opts.rounds} ${server.framework.id}/${server.variant}`.padEnd(36) +
            `${result.cpuPerRequest.toFixed(1)} µs/req (user ${result.userPerRequest.toFixed(1)})  ` +
            `${Math.round(result.requestsPerSecond)} req/s\n`,
        )
      }
    }
  } finally {
    for (const server of servers) server.child.kill()
  }

  let sampling
  try {
    const { runSamplingBench } = await import('./sampling-decisions.mjs')
    sampling = { results: runSamplingBench() }
  } catch (error) {
    sampling = { error: error instanceof Error ? error.message : String(error) }
  }

  const report = buildReport(frameworks, servers, sampling, opts, Date.now() - started)
  console.log(`\n${report.table}\n`)
  console.log(report.verdicts.join('\n'))
  if (sampling.error) console.log(`sampling bench failed: ${sampling.error}`)
  if (opts.write) {
    // The analysis (what was measured and changed, where the rest goes) is written by hand in
    // ANALYSIS.md and carried under the generated tables.
    const analysis = join(HERE, 'ANALYSIS.md')
    const notes = existsSync(analysis) ? `\n${readFileSync(analysis, 'utf8')}` : ''
    writeFileSync(RESULTS, report.markdown + notes)
    console.log(`\nwritten to ${RESULTS}`)
  }
}

function startServer(framework, variant, execArgv = []) {
  return new Promise((resolve, reject) => {
    const child = fork(SERVER, [framework.id, variant], { cwd: HERE, execArgv, stdio: 'inherit' })
    const onExit = (code) =>
      reject(new Error(`${framework.id}/${variant} server exited (${code}) before ready`))
    child.once('exit', onExit)
    child.once('message', (message) => {
      if (message.type !== 'ready') return reject(new Error(`unexpected message ${JSON.stringify(message)}`))
      child.off('exit', onExit)
      const agent = new http.Agent({ keepAlive: true, maxSockets: 64 })
      resolve({ framework, variant, child, port: message.port, agent, rounds: [] })
    })
  })
}

function request(child, message, expected) {
  return new Promise((resolve, reject) => {
    const onExit = (code) => reject(new Error(`server exited (${code}) while waiting for '${expected}'`))
    child.once('exit', onExit)
    child.once('message', (reply) => {
      child.off('exit', onExit)
      if (reply.type === expected) resolve(reply)
      else reject(new Error(`expected '${expected}', got ${JSON.stringify(reply)}`))
    })
    child.send(message)
  })
}

async function measure(server, opts) {
  await load(server, opts.warmup, opts.concurrency)
  await request(server.child, { type: 'start' }, 'started')
  const t0 = process.hrtime.bigint()
  await load(server, opts.requests, opts.concurrency)
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  const stats = await request(server.child, { type: 'stop' }, 'stopped')
  if (stats.requests !== opts.requests) {
    throw new Error(
      `${server.framework.id}/${server.variant}: server counted ${stats.requests} of ${opts.requests}`,
    )
  }
  return {
    cpuPerRequest: (stats.userMicros + stats.systemMicros) / stats.requests,
    userPerRequest: stats.userMicros / stats.requests,
    systemPerRequest: stats.systemMicros / stats.requests,
    requestsPerSecond: opts.requests / seconds,
    spansPerRequest: stats.spans / stats.requests,
    droppedSpans: stats.droppedSpans,
    rssBytes: stats.rssBytes,
  }
}

// The load generator: `concurrency` loops over keep-alive sockets, each waiting for its response
// before sending the next, until `total` responses arrived. Every response must be a 200.
function load(server, total, concurrency) {
  let sent = 0
  let inFlight = 0
  return new Promise((resolve, reject) => {
    let failed = false
    const fail = (error) => {
      if (failed) return
      failed = true
      reject(error)
    }
    const next = () => {
      if (failed) return
      if (sent === total) {
        if (inFlight === 0) resolve()
        return
      }
      const n = sent++
      inFlight++
      const req = http.request(
        {
          host: '127.0.0.1',
          port: server.port,
          path: `/users/${n % 1000}`,
          agent: server.agent,
          headers: { 'x-session-id': `bench-session-${n % SESSIONS}`, 'user-agent': 'traceweave-bench' },
        },
        (res) => {
          if (res.statusCode !== 200)
            fail(new Error(`${server.framework.id}/${server.variant}: HTTP ${res.statusCode}`))
          res.resume()
          res.on('end', () => {
            inFlight--
            next()
          })
        },
      )
      req.on('error', fail)
      req.end()
    }
    for (let i = 0; i < Math.min(concurrency, total); i++) next()
  })
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

function buildReport(frameworks, servers, sampling, opts, elapsedMs) {
  const rows = []
  const verdicts = []
  for (const framework of frameworks) {
    const of = (variant) => servers.find((s) => s.framework === framework && s.variant === variant)
    const bare = median(of('bare').rounds.map((r) => r.cpuPerRequest))
    // The resources variants are the traceweave one plus an option: their price is read against it.
    const overTraceweave = (variant) => {
      const base = of('traceweave')
      if (base === undefined) return ''
      const delta =
        median(of(variant).rounds.map((r) => r.cpuPerRequest)) -
        median(base.rounds.map((r) => r.cpuPerRequest))
      return `${delta >= 0 ? '+' : ''}${delta.toFixed(1)}`
    }
    for (const variant of VARIANTS) {
      const rounds = of(variant).rounds
      const cpu = rounds.map((r) => r.cpuPerRequest)
      const value = median(cpu)
      const delta = value - bare
      let bar = ''
      if (variant === 'traceweave')
        bar = delta <= framework.bar ? `<= +${framework.bar}: met` : `<= +${framework.bar}: MISSED`
      const reference = GUIDE_REFERENCE[framework.id][variant]
      rows.push([
        framework.label,
        variant,
        value.toFixed(1),
        `${Math.min(...cpu).toFixed(1)}-${Math.max(...cpu).toFixed(1)}`,
        median(rounds.map((r) => r.userPerRequest)).toFixed(1),
        median(rounds.map((r) => r.systemPerRequest)).toFixed(1),
        variant === 'bare' ? '' : `${delta >= 0 ? '+' : ''}${delta.toFixed(1)}`,
        variant === 'bare' ? '' : `x${(value / bare).toFixed(2)}`,
        String(Math.round(median(rounds.map((r) => r.requestsPerSecond)))),
        median(rounds.map((r) => r.spansPerRequest)).toFixed(2),
        bar ||
          (reference !== undefined
            ? `guide: +${reference}`
            : variant === 'resources' || variant === 'attributed' || variant === 'outcome'
              ? `${overTraceweave(variant)} over traceweave`
              : ''),
      ])
      if (variant === 'resources' || variant === 'attributed') {
        verdicts.push(
          `${framework.label}: resources: ${variant === 'resources' ? 'true' : "'attributed'"} costs ` +
            `${overTraceweave(variant)} µs/req over traceweave without it (${(value / bare).toFixed(2)}x bare)`,
        )
      }
      if (variant === 'traceweave') {
        const dropped = rounds.reduce((sum, r) => sum + r.droppedSpans, 0)
        verdicts.push(
          `${framework.label}: traceweave +${delta.toFixed(1)} µs/req over bare (bar +${framework.bar}): ` +
            `${delta <= framework.bar ? 'MET' : 'MISSED'}${dropped > 0 ? ` (${dropped} spans dropped!)` : ''}`,
        )
      }
    }
  }
  const header = [
    'framework',
    'variant',
    'CPU µs/req',
    'min-max',
    'user',
    'system',
    'over bare',
    'ratio',
    'req/s',
    'spans/req',
    'bar / guide',
  ]
  const table = formatTable(header, rows)
  const cpus = os.cpus()
  const samplingLines = sampling.error
    ? [`The sampling micro-benchmark failed: ${sampling.error}`]
    : [
        '| sampler configuration | ns / decision |',
        '|---|---:|',
        ...sampling.results.map((r) => `| ${r.name} | ${r.nsPerDecision} |`),
      ]
  const markdown = [
    '# Benchmark results',
    '',
    'Generated by `pnpm bench` (`node bench/run.mjs`); do not edit by hand, run it again.',
    '',
    `- Date: ${new Date().toISOString()}`,
    `- Node ${process.version} on ${os.platform()} ${os.arch()}, ${cpus.length} cores (${cpus[0]?.model?.trim() ?? 'unknown CPU'})`,
    `- Frameworks: ${frameworks.map((f) => `${f.label} (${f.version})`).join(', ')}`,
    `- ${opts.rounds} rounds x (${opts.warmup} warm-up + ${opts.requests} measured requests) per variant, concurrency ${opts.concurrency}, run took ${Math.round(elapsedMs / 1000)} s`,
    '',
    '## Server CPU per request',
    '',
    markdownTable(header, rows),
    '',
    ...verdicts.map((v) => `- ${v}`),
    '',
    "**The bar** (developers' guide): server CPU µs per request over bare, 100% sampled, request IDs on:",
    'Express 5 <= +15, Koa 3 <= +6. The guide quotes OpenTelemetry auto-instrumentation at +54 / +27 and a',
    'lean one-span middleware at +22 / +9 on its reference machine ("guide" column).',
    '',
    '## How to read this',
    '',
    '"CPU µs/req" is the server process\'s own CPU time (user + system, every thread: JIT, GC and the span',
    'batch processor included) during the measured phase, divided by the requests it served: the median of',
    'the rounds, with the spread of the rounds beside it. "over bare" is what the instrumentation adds to the',
    'same app; that difference, not the absolute number, is what carries from this machine to yours.',
    '"req/s" is only a sanity figure: the load generator shares the machine, so it measures both.',
    '"spans/req" checks that each variant really traced every request (auto-instrumentation also opens',
    'middleware and router spans). When min-max ranges of two rows overlap, their difference is noise.',
    '',
    '## Method',
    '',
    '- Each variant runs in its own server process (`bench/server.cjs`), so auto-instrumentation patches',
    '  before the framework is required; all on 127.0.0.1, an ephemeral port, one route `GET /users/:id`',
    "  through the framework's router (@koa/router for Koa) returning a small JSON body.",
    `- The load generator (in \`bench/run.mjs\`) uses node:http keep-alive agents; every request carries an`,
    `  \`x-session-id\` (${SESSIONS} sessions, so traceweave's session counting runs) and no trace headers, so`,
    '  every request starts a new, sampled trace.',
    '- The server reads `process.cpuUsage()` when the parent says "start" and "stop" over IPC (after each',
    '  warm-up); every response must be a 200 and the server must have served exactly the measured count.',
    '- Rounds are interleaved round-robin across all variants, starting one further each round, to spread',
    '  machine drift evenly; the table shows medians.',
    '- Variants: `bare` is the app alone. `traceweave` is `setupTracing({ exporter, sampling: { ratio: 1 } })`',
    '  from @traceweave/node plus `app.use(traceweave())` with defaults (request IDs, session header,',
    '  correlation processor, duration metric through the API). `lean` is a hand-written middleware: one',
    '  SERVER span via the OpenTelemetry API, W3C extract, 4 attributes at start, route and status at',
    '  `finish`. `otel-auto` is `registerInstrumentations` with HttpInstrumentation and',
    '  ExpressInstrumentation / KoaInstrumentation. `lean` and `otel-auto` use a plain `NodeTracerProvider`',
    '  (ParentBased(AlwaysOn), AsyncLocalStorage context, W3C propagators) registered with `register()`.',
    "  `outcome` is `traceweave` with `sampling: { decide: 'deferred', ratio: 0, rules: [{ status: 'error' },",
    '  { minDurationMs: 1000 }] }` and `traceResponse: true`: every request recorded and held, judged when',
    '  its head is written, then dropped (outcome rules, issue 16).',
    "- Every tracing variant exports through the SDK's BatchSpanProcessor into an exporter that does no",
    '  I/O (its `export` just reports success), so the measurement is the instrumentation, not the network.',
    '',
    '## Sampling decisions',
    '',
    '`bench/sampling-decisions.mjs`: ns per `TraceweaveSampler.shouldSample()` call as the SDK makes it.',
    '',
    ...samplingLines,
    '',
  ].join('\n')
  return { table, verdicts, markdown }
}

function formatTable(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  const line = (cells) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}

function markdownTable(header, rows) {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n')
}

// --profile=<framework>/<variant>: one long measured phase under the V8 sampling profiler, then the
// frames with the most self time, ours marked, to find where the CPU goes.
async function profile(opts) {
  const [frameworkId, variant] = opts.profile.split('/')
  const framework = FRAMEWORKS.find((f) => f.id === frameworkId)
  if (framework === undefined || !VARIANTS.includes(variant)) {
    throw new RangeError(
      `--profile must be <${FRAMEWORKS.map((f) => f.id).join('|')}>/<${VARIANTS.join('|')}>`,
    )
  }
  const dir = mkdtempSync(join(os.tmpdir(), 'traceweave-prof-'))
  const server = await startServer(framework, variant, [
    '--cpu-prof',
    '--cpu-prof-interval=200',
    `--cpu-prof-dir=${dir}`,
  ])
  try {
    const result = await measure(server, { ...opts, requests: opts.requests })
    console.log(
      `${frameworkId}/${variant}: ${result.cpuPerRequest.toFixed(1)} µs/req over ${opts.requests} requests`,
    )
    server.child.disconnect()
    await new Promise((resolve) => server.child.once('exit', resolve))
    const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'))
    const prof = JSON.parse(readFileSync(join(dir, file), 'utf8'))
    printTopFrames(prof, opts.top)
  } finally {
    server.child.kill()
    rmSync(dir, { recursive: true, force: true })
  }
}

function printTopFrames(prof, top) {
  const interval = (prof.endTime - prof.startTime) / prof.samples.length
  const self = new Map()
  const hits = new Map(prof.nodes.map((n) => [n.id, 0]))
  for (const id of prof.samples) hits.set(id, hits.get(id) + 1)
  let total = 0
  for (const node of prof.nodes) {
    const { functionName, url, lineNumber } = node.callFrame
    const where = url ? `${shortUrl(url)}:${lineNumber + 1}` : ''
    const key = `${functionName || '(anonymous)'} ${where}`
    const count = hits.get(node.id)
    self.set(key, (self.get(key) ?? 0) + count)
    if (functionName !== '(idle)') total += count
  }
  const sorted = [...self].filter(([key]) => !key.startsWith('(idle)')).sort((a, b) => b[1] - a[1])
  console.log(
    `\ntop ${top} self-time frames (${Math.round(interval)} µs samples, % of busy samples; * = traceweave):`,
  )
  for (const [key, count] of sorted.slice(0, top)) {
    const ours = key.includes('packages/') ? '*' : ' '
    console.log(`${ours} ${((100 * count) / total).toFixed(1).padStart(5)}%  ${key}`)
  }
  // Inclusive time of our functions (their callees included), counted once per sample stack.
  const byId = new Map(prof.nodes.map((n) => [n.id, n]))
  const parent = new Map()
  for (const n of prof.nodes) for (const child of n.children ?? []) parent.set(child, n.id)
  const inclusive = new Map()
  for (const id of prof.samples) {
    const seen = new Set()
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const { functionName, url, lineNumber } = byId.get(at).callFrame
      if (!url.includes('/packages/')) continue
      const key = `${functionName || '(anonymous)'} ${shortUrl(url)}:${lineNumber + 1}`
      if (seen.has(key)) continue
      seen.add(key)
      inclusive.set(key, (inclusive.get(key) ?? 0) + 1)
    }
  }
  console.log('\ntraceweave functions by inclusive time (callees included):')
  for (const [key, count] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
    console.log(`  ${((100 * count) / total).toFixed(1).padStart(5)}%  ${key}`)
  }
  const oursTotal = sorted.filter(([key]) => key.includes('packages/')).reduce((sum, [, c]) => sum + c, 0)
  console.log(
    `\ntraceweave frames in total: ${((100 * oursTotal) / total).toFixed(1)}% of busy samples (self time)`,
  )
}

function shortUrl(url) {
  const path = url.replace(/^file:\/\//, '')
  const packages = path.indexOf('/packages/')
  if (packages !== -1) return path.slice(packages + 1)
  const modules = path.lastIndexOf('/node_modules/')
  return modules === -1 ? path : path.slice(modules + '/node_modules/'.length)
}

function parseArgs(args) {
  const result = {
    rounds: 5,
    requests: 20_000,
    warmup: 3_000,
    concurrency: 16,
    only: undefined,
    write: true,
    profile: undefined,
    variants: undefined,
    top: 40,
  }
  for (const arg of args) {
    const [key, value] = arg.replace(/^--/, '').split('=')
    if (key === 'no-write') result.write = false
    else if (key === 'only' || key === 'profile') result[key] = value
    else if (key === 'variants' && value?.split(',').every((v) => ALL_VARIANTS.includes(v)))
      result.variants = value.split(',')
    else if (key in result && /^[1-9][0-9]*$/.test(value ?? '')) result[key] = Number(value)
    else {
      console.error(`bench: unknown or invalid argument ${arg}`)
      process.exit(2)
    }
  }
  if (result.profile && !args.some((a) => a.startsWith('--requests'))) result.requests = 200_000
  if (result.only !== undefined && !FRAMEWORKS.some((f) => f.id === result.only)) {
    console.error(`bench: --only must be one of ${FRAMEWORKS.map((f) => f.id).join(', ')}`)
    process.exit(2)
  }
  return result
}
