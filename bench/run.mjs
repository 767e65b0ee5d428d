// `pnpm bench` (after `pnpm build`): server CPU per request of Express 5 and Koa 3, bare, with
// traceweave, with a lean one-span middleware and with OpenTelemetry auto-instrumentation, side by
// side in one run per Node version, plus micro-benchmarks and memory. Prints tables and writes
// bench/RESULTS.md (with bench/ANALYSIS.md, written by hand, carried under the tables).
//
//   node bench/run.mjs [--node=26,24,20|current] [--rounds=5] [--requests=10000] [--warmup=2000]
//                      [--concurrency=16] [--only=express|koa] [--variants=all|core|a,b,...]
//                      [--burst=100] [--no-pin] [--quick] [--no-write] [--write]
//   --quick: a smoke run (1 round of a few hundred requests, short micro-benchmarks, current Node,
//            nothing written unless --write): checks that everything starts and prints a table.
//   node bench/run.mjs --report=bench/results-raw.json: rebuilds RESULTS.md from a run's saved figures.
//   node bench/run.mjs --rejoin: carries an edited bench/ANALYSIS.md into RESULTS.md without measuring.
//   node bench/run.mjs --profile=express/traceweave [--node=24] [--requests=200000]
//       runs one variant under `node --cpu-prof` and prints the top self-time frames (--keep keeps
//       the .cpuprofile file).
import { execFileSync, fork } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const HERE = dirname(fileURLToPath(import.meta.url))
const SERVER = join(HERE, 'server.cjs')
const MICRO = join(HERE, 'micro.mjs')
const RESULTS = join(HERE, 'RESULTS.md')
const RAW = join(HERE, 'results-raw.json')
const FRAMEWORKS = [
  { id: 'express', label: 'Express 5', version: 'express@5.3.0' },
  { id: 'koa', label: 'Koa 3', version: 'koa@3.2.1 + @koa/router@15.7.0' },
]
// Every variant is one server process per framework (bench/server.cjs). `otel` names the OpenTelemetry
// row the variant is compared with; `unsampled` makes the load send a parent that says no.
const VARIANTS = [
  { id: 'bare', core: true, about: 'the app alone' },
  { id: 'traceweave', core: true, about: 'every default feature, 100% sampled' },
  { id: 'lean', core: true, about: 'hand-written one-span middleware' },
  { id: 'otel-auto', core: true, about: 'OTel http + framework auto-instrumentation' },
  { id: 'traceweave-unsampled', core: true, unsampled: true, about: 'parent says no (flags 00)' },
  { id: 'lean-unsampled', core: true, unsampled: true, about: 'parent says no (flags 00)' },
  { id: 'traceweave-10pct', about: 'sampling ratio 0.1' },
  { id: 'traceweave-rules1', about: '1 sampling rule (none matches)' },
  { id: 'traceweave-rules10', about: '10 sampling rules (none matches)' },
  { id: 'traceweave-rules100', about: '100 sampling rules (none matches)' },
  { id: 'traceweave-otlp', otel: 'otel-auto-otlp', about: 'real OTLP exporter to a local receiver' },
  { id: 'otel-auto-otlp', otel: 'otel-auto-otlp', about: 'OTel auto + real OTLP exporter' },
  { id: 'resources', overTraceweave: true, about: 'traceweave with `resources: true`' },
  { id: 'attributed', overTraceweave: true, about: "traceweave with `resources: 'attributed'`" },
  {
    id: 'outcome',
    overTraceweave: true,
    about:
      "traceweave with outcome rules (`decide: 'deferred'`, `status` / `minDurationMs` rules matching nothing, `traceResponse: true`)",
  },
  // Default features switched off one at a time: what each costs on the real server (traceweave minus it).
  {
    id: 'no-request-id',
    withoutFeature: 'the request ID (`requestId: false`)',
    about: 'traceweave, `requestId: false`',
  },
  {
    id: 'no-session',
    withoutFeature: 'session counting (`session: false`)',
    about: 'traceweave, `session: false`',
  },
  {
    id: 'no-correlation',
    withoutFeature: 'request ID and session together',
    about: 'traceweave, `requestId: false, session: false`',
  },
]
const SESSIONS = 64
const ANALYSIS_MARK =
  '\n<!-- Below: bench/ANALYSIS.md, written by hand (node bench/run.mjs --rejoin after editing it). -->\n'
const NODE_VERSIONS = ['26', '24', '20']
// Parents that say no: valid W3C traceparents with the sampled flag off, fresh IDs per request.
const UNSAMPLED_PARENTS = Array.from(
  { length: 1024 },
  () => `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-00`,
)

const options = parseArgs(process.argv.slice(2))
// The whole run stops by itself: past this, servers are killed and the run fails.
const HARD_LIMIT_MS = (options.quick ? 3 : 60) * 60_000
const hardLimit = setTimeout(() => {
  console.error(`bench: still running after ${HARD_LIMIT_MS / 60_000} minutes; giving up`)
  process.exit(1)
}, HARD_LIMIT_MS)
hardLimit.unref()

if (options.profile) await profile(options)
else if (options.rejoin) rejoin()
else if (options.report) reportFrom(options.report)
else await benchmarkAll(options)
clearTimeout(hardLimit)

async function benchmarkAll(opts) {
  const started = Date.now()
  const loadBefore = os.loadavg()
  const receiver = await startOtlpReceiver()
  const runs = []
  try {
    for (const version of opts.node) {
      const execPath = resolveNode(version)
      const run = await benchmark(execPath, opts, receiver)
      run.micro = runMicro(execPath, opts)
      runs.push(run)
      console.log(`\n${run.table}\n\n${run.verdicts.join('\n')}\n`)
      if (run.micro.error) console.log(`micro-benchmarks failed: ${run.micro.error}`)
    }
  } finally {
    receiver.server.close()
  }
  const conditions = { elapsedMs: Date.now() - started, loadBefore, loadAfter: os.loadavg() }
  const report = buildReport(runs, opts, conditions)
  console.log(report.microTable)
  if (opts.write) {
    // The analysis (what was measured and changed, where the rest goes) is written by hand in
    // ANALYSIS.md and carried under the generated tables.
    writeFileSync(RESULTS, report.markdown + ANALYSIS_MARK + analysisNotes())
    // Every round's raw figures, so the tables can be rebuilt (--report) without measuring again.
    const saved = runs.map(({ nodeVersion, raw, micro }) => ({ nodeVersion, raw, micro }))
    writeFileSync(
      RAW,
      `${JSON.stringify({ date: new Date().toISOString(), opts, conditions, runs: saved })}\n`,
    )
    console.log(`\nwritten to ${RESULTS} and ${RAW}`)
  }
}

function analysisNotes() {
  const analysis = join(HERE, 'ANALYSIS.md')
  return existsSync(analysis) ? `\n${readFileSync(analysis, 'utf8')}` : ''
}

/** --report=<raw.json>: rebuilds RESULTS.md from saved raw figures (after a change to the tables). */
function reportFrom(file) {
  const saved = JSON.parse(readFileSync(file, 'utf8'))
  const runs = saved.runs.map(({ nodeVersion, raw, micro }) => {
    const servers = raw.map((s) => ({
      framework: FRAMEWORKS.find((f) => f.id === s.framework),
      variant: VARIANTS.find((v) => v.id === s.variant),
      rounds: s.rounds,
    }))
    const frameworks = FRAMEWORKS.filter((f) => servers.some((s) => s.framework === f))
    const variants = VARIANTS.filter((v) => servers.some((s) => s.variant === v))
    return { nodeVersion, raw, micro, ...summarize(frameworks, variants, servers, saved.opts) }
  })
  const report = buildReport(runs, saved.opts, saved.conditions, saved.date)
  for (const run of runs) console.log(`\n${run.table}\n\n${run.verdicts.join('\n')}`)
  writeFileSync(RESULTS, report.markdown + ANALYSIS_MARK + analysisNotes())
  console.log(`\nrebuilt ${RESULTS} from ${file}`)
}

/** --rejoin: keeps RESULTS.md's measured part and carries the current ANALYSIS.md under it. */
function rejoin() {
  const results = readFileSync(RESULTS, 'utf8')
  const at = results.indexOf(ANALYSIS_MARK)
  if (at === -1) throw new Error('bench/RESULTS.md has no analysis mark: run the bench to regenerate it')
  writeFileSync(RESULTS, results.slice(0, at) + ANALYSIS_MARK + analysisNotes())
  console.log(`ANALYSIS.md carried into ${RESULTS}`)
}

/** The `node` binary of a major version: this one, or the one `npx -y node@<major>` installs. */
function resolveNode(version) {
  if (version === 'current' || process.versions.node.split('.')[0] === version) return process.execPath
  return execFileSync('npx', ['-y', `node@${version}`, '-p', 'process.execPath'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim()
}

async function benchmark(execPath, opts, receiver) {
  const frameworks = FRAMEWORKS.filter((f) => opts.only === undefined || f.id === opts.only)
  const variants = VARIANTS.filter((v) => opts.variants.includes(v.id))
  const nodeVersion = execFileSync(execPath, ['-p', 'process.version'], { encoding: 'utf8' }).trim()
  console.log(
    `bench on Node ${nodeVersion}: ${frameworks.map((f) => f.label).join(', ')} x ${variants.length} variants; ` +
      `${opts.rounds} rounds of ${opts.warmup} warm-up + ${opts.requests} measured requests at concurrency ${opts.concurrency}`,
  )
  // One record per framework and variant; its server process is started afresh every round.
  const servers = frameworks.flatMap((framework) =>
    variants.map((variant) => ({ framework, variant, rounds: [] })),
  )
  for (let round = 0; round < opts.rounds; round++) {
    for (const framework of frameworks) {
      // A framework's variants are measured together: the load goes to each in turn, in bursts, so
      // every variant runs under the same machine conditions and drift cancels out of the ratios.
      // Fresh processes each round: one process of a variant can stay far dearer than another of the
      // same code for its whole life (JIT decisions, memory layout; measured: traceweave and
      // traceweave-rules1, one never-matching rule apart, at 0.77 and 1.60 x lean in one run), so a
      // round must sample the process too, not only the moment.
      const group = servers.filter((s) => s.framework === framework)
      // The order rotates each round, so no variant always follows the same one.
      const order = group.map((_, i) => group[(i + round) % group.length])
      const running = await Promise.all(
        order.map((s) =>
          startServer(execPath, framework, s.variant, [], otlpEnv(receiver, framework, s.variant)),
        ),
      )
      try {
        if (opts.pin) pinProcesses(running)
        const results = await measureGroup(running, opts, receiver)
        order.forEach((server, i) => {
          server.rounds[round] = results[i]
          process.stdout.write(
            `  ${nodeVersion} round ${round + 1}/${opts.rounds} ${server.framework.id}/${server.variant.id}`.padEnd(
              50,
            ) + `${results[i].cpuPerRequest.toFixed(1)} µs/req\n`,
          )
        })
      } finally {
        for (const server of running) server.child.kill()
      }
    }
  }
  const raw = servers.map((s) => ({ framework: s.framework.id, variant: s.variant.id, rounds: s.rounds }))
  return { nodeVersion, raw, ...summarize(frameworks, variants, servers, opts) }
}

/**
 * Two cores or more: every server on the last core, this process (the load generator and the OTLP
 * receiver) on the first, so the server's CPU is not shared with the load it is measured under. Only
 * one server is busy at a time (the others wait on their sockets).
 */
function pinProcesses(servers) {
  const last = os.cpus().length - 1
  for (const server of servers)
    execFileSync('taskset', ['-a', '-p', '-c', String(last), String(server.child.pid)], { stdio: 'ignore' })
  execFileSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' })
}

/** Pinning needs `taskset` (util-linux) and two cores; without them the run is unpinned and says so. */
function canPin() {
  if (os.cpus().length < 2) return false
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

function startServer(execPath, framework, variant, execArgv = [], env = {}) {
  return new Promise((resolve, reject) => {
    const child = fork(SERVER, [framework.id, variant.id], {
      cwd: HERE,
      execPath,
      execArgv,
      env: { ...process.env, ...env },
      stdio: 'inherit',
    })
    const onExit = (code) =>
      reject(new Error(`${framework.id}/${variant.id} server exited (${code}) before ready`))
    child.once('exit', onExit)
    child.once('message', (message) => {
      if (message.type !== 'ready') return reject(new Error(`unexpected message ${JSON.stringify(message)}`))
      child.off('exit', onExit)
      const agent = new http.Agent({ keepAlive: true, maxSockets: 64 })
      resolve({
        framework,
        variant,
        child,
        port: message.port,
        agent,
        otlpPath: otlpPath(framework, variant),
        rounds: [],
      })
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

/**
 * One round of a group of servers measured together: a warm-up, then `opts.requests` requests to each,
 * sent in bursts of `opts.burst` to one server after another (a burst keeps the server's caches warm;
 * alternating keeps all of them under the same conditions). Each server reads its own CPU time.
 */
async function measureGroup(group, opts, receiver) {
  await loadGroup(group, opts.warmup, opts)
  await Promise.all(group.map((server) => request(server.child, { type: 'start' }, 'started')))
  const receivedBefore = group.map((server) => receiver?.spansBy.get(server.otlpPath) ?? 0)
  await loadGroup(group, opts.requests, opts)
  const stops = await Promise.all(group.map((server) => request(server.child, { type: 'stop' }, 'stopped')))
  return group.map((server, i) => {
    const stats = stops[i]
    if (stats.requests !== opts.requests) {
      throw new Error(
        `${server.framework.id}/${server.variant.id}: server counted ${stats.requests} of ${opts.requests}`,
      )
    }
    const spans = stats.spans ?? (receiver?.spansBy.get(server.otlpPath) ?? 0) - receivedBefore[i]
    return {
      cpuPerRequest: (stats.userMicros + stats.systemMicros) / stats.requests,
      userPerRequest: stats.userMicros / stats.requests,
      systemPerRequest: stats.systemMicros / stats.requests,
      spansPerRequest: spans / stats.requests,
      droppedSpans: stats.droppedSpans,
      rssBytes: stats.rssBytes,
    }
  })
}

/** One server alone (the profiler's run). */
async function measure(server, opts, receiver) {
  const [result] = await measureGroup([server], opts, receiver)
  return result
}

// The load generator: `concurrency` loops over keep-alive sockets, each waiting for its response
// before sending the next, until `perServer` responses per server arrived. Request n goes to server
// floor(n / burst) mod group size. Every response must be a 200.
function loadGroup(group, perServer, opts) {
  const total = perServer * group.length
  const burst = Math.min(opts.burst, perServer)
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
      const server = group[Math.floor(n / burst) % group.length]
      const headers = { 'x-session-id': `bench-session-${n % SESSIONS}`, 'user-agent': 'traceweave-bench' }
      if (server.variant.unsampled === true) headers.traceparent = UNSAMPLED_PARENTS[n & 1023]
      const req = http.request(
        { host: '127.0.0.1', port: server.port, path: `/users/${n % 1000}`, agent: server.agent, headers },
        (res) => {
          if (res.statusCode !== 200)
            fail(new Error(`${server.framework.id}/${server.variant.id}: HTTP ${res.statusCode}`))
          res.on('error', fail)
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
    for (let i = 0; i < Math.min(opts.concurrency, total); i++) next()
  })
}

/**
 * A local OTLP/HTTP receiver on 127.0.0.1 for the `-otlp` variants: it reads every export, counts its
 * spans (JSON bodies) and answers 200, as a collector would. It runs in this (the load) process, so its
 * CPU is not the server's.
 */
function startOtlpReceiver() {
  // Spans counted per URL path: each -otlp server exports to its own path, as servers run together.
  const receiver = { spansBy: new Map(), url: '', server: undefined }
  const SPAN_ID = Buffer.from('"spanId"')
  receiver.server = http.createServer((req, res) => {
    const chunks = []
    req.on('data', (chunk) => chunks.push(chunk))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      let spans = 0
      for (let at = body.indexOf(SPAN_ID); at !== -1; at = body.indexOf(SPAN_ID, at + 1)) spans++
      receiver.spansBy.set(req.url, (receiver.spansBy.get(req.url) ?? 0) + spans)
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{}')
    })
  })
  return new Promise((resolve) => {
    receiver.server.listen(0, '127.0.0.1', () => {
      receiver.url = `http://127.0.0.1:${receiver.server.address().port}`
      resolve(receiver)
    })
  })
}

/**
 * Where the `-otlp` variants export: the local receiver, as OTLP/JSON on both sides (OpenTelemetry's
 * exporter-trace-otlp-http sends JSON; traceweave defaults to protobuf, so it is told to send JSON
 * too): the same wire format, so the row compares the instrumentation, not the encodings.
 */
function otlpEnv(receiver, framework, variant) {
  return {
    BENCH_OTLP_URL: `${receiver.url}${otlpPath(framework, variant)}`,
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
  }
}

/** Each server's own path on the receiver, so its spans are counted apart from the others'. */
function otlpPath(framework, variant) {
  return `/${framework.id}/${variant.id}/v1/traces`
}

/** Micro-benchmarks and memory (bench/micro.mjs), in a child process on the Node under test. */
function runMicro(execPath, opts) {
  try {
    const out = execFileSync(execPath, ['--expose-gc', MICRO, '--json', ...(opts.quick ? ['--quick'] : [])], {
      cwd: HERE,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    return JSON.parse(out.trim().split('\n').pop())
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) }
  }
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** A figure and its leave-one-round-out range, e.g. `0.82 (0.70-0.95)`. */
function shown({ central, leftOut }, digits = 2) {
  if (!Number.isFinite(central)) return 'n/a'
  const finite = leftOut.filter(Number.isFinite)
  if (finite.length === 0) return central.toFixed(digits)
  const low = Math.min(central, ...finite)
  const high = Math.max(central, ...finite)
  return `${central.toFixed(digits)} (${low.toFixed(digits)}-${high.toFixed(digits)})`
}

// Each figure is computed from the medians over the rounds of the variants it compares (robust to one
// disturbed round), and its range is the spread of the same figure with each round left out in turn
// (how much one round moves it). Absolute µs move with the machine's load; ratios within one run carry.
function summarize(frameworks, variants, servers, opts) {
  const rows = []
  const verdicts = []
  const figures = {}
  for (const framework of frameworks) {
    const of = (id) => servers.find((s) => s.framework === framework && s.variant.id === id)
    const cpu = (id, round) => of(id)?.rounds[round]?.cpuPerRequest ?? NaN
    const rounds = [...Array(opts.rounds).keys()]
    const medianOf = (id, subset) => median(subset.map((r) => cpu(id, r)).filter(Number.isFinite))
    // Paired: each round's figure against bare's of the same round (measured together), then the median.
    const over = (id, subset) =>
      median(subset.map((r) => cpu(id, r) - cpu('bare', r)).filter(Number.isFinite))
    const estimate = (fn) => ({
      central: fn(rounds),
      leftOut: rounds.length > 2 ? rounds.map((left) => fn(rounds.filter((r) => r !== left))) : [],
    })
    for (const variant of variants) {
      const server = of(variant.id)
      const id = variant.id
      const otelId = variant.otel ?? 'otel-auto'
      const toLean = estimate((subset) => over(id, subset) / over('lean', subset))
      const toOtel = estimate((subset) => over(id, subset) / over(otelId, subset))
      const toBare = estimate((subset) =>
        median(subset.map((r) => cpu(id, r) / cpu('bare', r)).filter(Number.isFinite)),
      )
      const overBare = estimate((subset) => over(id, subset))
      const isBare = id === 'bare'
      figures[`${framework.id}/${id}`] = { toLean: toLean.central }
      rows.push([
        framework.label,
        id,
        isBare ? '' : shown(toLean),
        isBare ? '' : variant.otel ? `${shown(toOtel)} ⁺` : shown(toOtel),
        isBare ? '1' : shown(toBare),
        isBare ? '' : shown(overBare, 1),
        medianOf(id, rounds).toFixed(1),
        median(server.rounds.map((r) => r.spansPerRequest)).toFixed(2),
      ])
      if (variant.withoutFeature && of('traceweave') !== undefined) {
        const saved = median(rounds.map((r) => cpu('traceweave', r) - cpu(id, r)).filter(Number.isFinite))
        verdicts.push(
          `${framework.label}: ${variant.withoutFeature} costs ${saved >= 0 ? '+' : ''}${saved.toFixed(1)} µs/req ` +
            `(traceweave minus the same server without it)`,
        )
      }
      if (variant.overTraceweave && of('traceweave') !== undefined) {
        const extra = median(rounds.map((r) => cpu(id, r) - cpu('traceweave', r)).filter(Number.isFinite))
        verdicts.push(
          `${framework.label}: ${variant.about} costs ${extra >= 0 ? '+' : ''}${extra.toFixed(1)} µs/req over traceweave without it`,
        )
      }
      const dropped = server.rounds.reduce((sum, r) => sum + r.droppedSpans, 0)
      if (dropped > 0) verdicts.push(`${framework.label} ${variant.id}: ${dropped} spans dropped!`)
    }
    const goal = (id, bar, what) => {
      const value = figures[`${framework.id}/${id}`]?.toLean
      if (value === undefined || !Number.isFinite(value)) return
      verdicts.push(
        `${framework.label}: ${what} overhead = ${value.toFixed(2)}x the lean middleware's (goal <= ${bar}): ` +
          (value <= bar ? 'MET' : 'MISSED'),
      )
    }
    goal('traceweave', 1.0, 'traceweave (100% sampled)')
    goal('traceweave-unsampled', 0.5, 'traceweave unsampled')
  }
  const header = [
    'framework',
    'variant',
    'overhead ÷ lean',
    'overhead ÷ OTel auto',
    'CPU ÷ bare',
    'µs over bare',
    'CPU µs/req',
    'spans/req',
  ]
  return { header, rows, verdicts, table: formatTable(header, rows) }
}

function buildReport(runs, opts, { elapsedMs, loadBefore, loadAfter }, date = new Date().toISOString()) {
  const cpus = os.cpus()
  const load = (l) => l.map((x) => x.toFixed(1)).join(' / ')
  const lines = [
    '# Benchmark results',
    '',
    'Generated by `pnpm bench` (`node bench/run.mjs`); do not edit by hand, run it again.',
    '',
    `- Date: ${date}; run took ${Math.round(elapsedMs / 1000)} s`,
    `- ${os.platform()} ${os.arch()}, ${cpus.length} cores (${cpus[0]?.model?.trim() ?? 'unknown CPU'}); load average (1/5/15 min) ${load(loadBefore)} before, ${load(loadAfter)} after`,
    `- Node versions: ${runs.map((r) => r.nodeVersion).join(', ')} (servers and micro-benchmarks; the load generator runs on ${process.version})`,
    `- Frameworks: ${FRAMEWORKS.map((f) => `${f.label} (${f.version})`).join(', ')}`,
    `- ${opts.rounds} rounds x (${opts.warmup} warm-up + ${opts.requests} measured requests) per variant, concurrency ${opts.concurrency}`,
    '',
    '## Overhead ratios (the headline)',
    '',
    'Each cell: the figure computed from the medians over the rounds, and in brackets its range with each',
    'round left out in turn. "overhead" is server CPU per request minus bare\'s. **÷ lean** <= 1.0 means',
    'traceweave adds no more than the hand-written',
    'one-span middleware. ⁺ compared with OTel auto + the same OTLP exporter (what a user pays, export included).',
    '',
  ]
  for (const run of runs) {
    lines.push(`### Node ${run.nodeVersion}`, '', markdownTable(run.header, run.rows), '')
    lines.push(...run.verdicts.map((v) => `- ${v}`), '')
  }
  lines.push('Variants:', '')
  for (const v of VARIANTS) lines.push(`- \`${v.id}\`: ${v.about}`)
  lines.push('')

  // Micro-benchmarks and memory, one column per Node version.
  const microHeader = ['micro-benchmark (ns/op)', ...runs.map((r) => `Node ${r.nodeVersion}`)]
  const microNames = [...new Set(runs.flatMap((r) => (r.micro.micro ?? []).map((m) => m.name)))]
  const microRows = microNames.map((name) => [
    name,
    ...runs.map((r) => String(r.micro.micro?.find((m) => m.name === name)?.nsPerOp ?? 'n/a')),
  ])
  const samplingNames = [...new Set(runs.flatMap((r) => (r.micro.sampling ?? []).map((m) => m.name)))]
  for (const name of samplingNames)
    microRows.push([
      `sampler: ${name}`,
      ...runs.map((r) => String(r.micro.sampling?.find((m) => m.name === name)?.nsPerDecision ?? 'n/a')),
    ])
  const memoryHeader = ['sessions', 'maxSessions', ...runs.map((r) => `heap KiB, Node ${r.nodeVersion}`)]
  const memoryKeys = runs[0]?.micro.memory?.rows?.map((m) => [m.sessions, m.maxSessions]) ?? []
  const memoryRows = memoryKeys.map(([sessions, max]) => [
    String(sessions),
    String(max),
    ...runs.map((r) => {
      const row = r.micro.memory?.rows?.find((m) => m.sessions === sessions && m.maxSessions === max)
      return row === undefined ? 'n/a' : (row.heapBytes / 1024).toFixed(0)
    }),
  ])
  const failures = runs.filter((r) => r.micro.error).map((r) => `- Node ${r.nodeVersion}: ${r.micro.error}`)
  lines.push(
    '## Micro-benchmarks',
    '',
    '`bench/micro.mjs` (tinybench, mean ns per operation, in-process, no network). The lifecycle rows run one',
    'request through the server lifecycle on real `IncomingMessage`/`ServerResponse` objects without a socket;',
    "the lean rows do the lean middleware's work on the same TracerProvider. Sampler rows: `bench/sampling-decisions.mjs`.",
    '',
    markdownTable(microHeader, microRows, 1),
    '',
    ...failures,
    '## Memory',
    '',
    'Heap growth (after GC) once N distinct sessions went through one lifecycle: with the default bound of the',
    'session counters (10000, least recently used evicted), and with the bound raised to N.',
    '',
    markdownTable(memoryHeader, memoryRows),
    '',
    '## Method',
    '',
    '- Each variant runs in its own server process (`bench/server.cjs`) on the Node version under test, so',
    '  auto-instrumentation patches before the framework is required; all on 127.0.0.1, one route',
    "  `GET /users/:id` through the framework's router (@koa/router for Koa) returning a small JSON body.",
    `- The load generator (\`bench/run.mjs\`) uses node:http keep-alive agents; every request carries an`,
    `  \`x-session-id\` (${SESSIONS} sessions); the \`-unsampled\` variants also a \`traceparent\` with flags 00.`,
    '- The server reads `process.cpuUsage()` (user + system, all threads: GC and the batch processor included)',
    '  when the parent says "start" and "stop" over IPC, after each warm-up; every response must be a 200 and',
    '  the server must have served exactly the measured count. "spans/req" checks each variant traced.',
    `- A framework's variants are measured together: each round sends every server its requests in bursts of ${opts.burst},`,
    '  one server after another, so all run under the same machine conditions (this machine drifts up to 3x',
    "  within minutes); the server order rotates each round. Ratios pair each server's figure with bare's",
    "  and lean's of the same round.",
    opts.pin
      ? `- Pinned (\`taskset\`): every server on core ${os.cpus().length - 1}, the load generator on core 0 (\`--no-pin\` to turn off).`
      : '- Not pinned (no `taskset`, one core, or `--no-pin`): servers and the load generator share the cores.',
    '- `traceweave` is `setupTracing({ exporter, sampling })` from @traceweave/node plus `app.use(traceweave())`',
    '  with defaults (request IDs echoed, session counting, correlation processor, duration metric through the',
    '  API). `lean` is a hand-written middleware: one SERVER span via the OpenTelemetry API, W3C extract, 4',
    '  attributes at start, route and status at `finish`. `otel-auto` is HttpInstrumentation with',
    '  ExpressInstrumentation / KoaInstrumentation. `lean` and `otel-auto` use a plain `NodeTracerProvider`',
    '  (ParentBased(AlwaysOn), AsyncLocalStorage context, W3C propagators) registered with `register()`.',
    '- Tracing variants export through a BatchSpanProcessor into an exporter that does no I/O, except the',
    '  `-otlp` ones: the real OTLP/HTTP exporters (JSON on both sides) to a receiver in the load process.',
    '',
  )
  return {
    markdown: lines.join('\n'),
    microTable: `${formatTable(microHeader, microRows, 1)}\n\n${formatTable(memoryHeader, memoryRows, 0)}`,
  }
}

function formatTable(header, rows, textColumns = 2) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  const line = (cells) =>
    cells.map((c, i) => (i < textColumns ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}

function markdownTable(header, rows, textColumns = 2) {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map((_, i) => (i < textColumns ? '---' : '---:')).join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n')
}

// --profile=<framework>/<variant>: one long measured phase under the V8 sampling profiler, then the
// frames with the most self time, ours marked, to find where the CPU goes.
async function profile(opts) {
  const [frameworkId, variantId] = opts.profile.split('/')
  const framework = FRAMEWORKS.find((f) => f.id === frameworkId)
  const variant = VARIANTS.find((v) => v.id === variantId)
  if (framework === undefined || variant === undefined) {
    throw new RangeError(
      `--profile must be <${FRAMEWORKS.map((f) => f.id).join('|')}>/<${VARIANTS.map((v) => v.id).join('|')}>`,
    )
  }
  const execPath = resolveNode(opts.node[0])
  const receiver = await startOtlpReceiver()
  const dir = mkdtempSync(join(os.tmpdir(), 'traceweave-prof-'))
  const server = await startServer(
    execPath,
    framework,
    variant,
    ['--cpu-prof', '--cpu-prof-interval=200', `--cpu-prof-dir=${dir}`],
    otlpEnv(receiver, framework, variant),
  )
  try {
    const result = await measure(server, opts, receiver)
    console.log(
      `${frameworkId}/${variantId} on ${execPath}: ${result.cpuPerRequest.toFixed(1)} µs/req over ${opts.requests} requests`,
    )
    server.child.disconnect()
    await new Promise((resolve) => server.child.once('exit', resolve))
    const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'))
    const prof = JSON.parse(readFileSync(join(dir, file), 'utf8'))
    printTopFrames(prof, opts.top)
    if (opts.keep) console.log(`\nprofile kept: ${join(dir, file)} (open it in Chrome DevTools)`)
  } finally {
    server.child.kill()
    receiver.server.close()
    if (!opts.keep) rmSync(dir, { recursive: true, force: true })
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
    node: NODE_VERSIONS,
    rounds: 5,
    requests: 10_000,
    warmup: 2_000,
    concurrency: 16,
    burst: 100,
    only: undefined,
    variants: VARIANTS.map((v) => v.id),
    quick: false,
    pin: undefined,
    keep: false,
    rejoin: false,
    report: undefined,
    write: undefined,
    profile: undefined,
    top: 40,
  }
  const given = new Set()
  for (const arg of args) {
    const [key, value] = arg.replace(/^--/, '').split('=')
    given.add(key)
    if (key === 'no-write') result.write = false
    else if (key === 'write') result.write = true
    else if (key === 'quick') result.quick = true
    else if (key === 'pin') result.pin = true
    else if (key === 'no-pin') result.pin = false
    else if (key === 'keep') result.keep = true
    else if (key === 'rejoin') result.rejoin = true
    else if (key === 'only' || key === 'profile' || key === 'report') result[key] = value
    else if (key === 'node' && value) result.node = value.split(',')
    else if (key === 'variants' && value) {
      if (value === 'core') result.variants = VARIANTS.filter((v) => v.core).map((v) => v.id)
      else if (value !== 'all') result.variants = value.split(',')
    } else if (key in result && /^[1-9][0-9]*$/.test(value ?? '')) result[key] = Number(value)
    else {
      console.error(`bench: unknown or invalid argument ${arg}`)
      process.exit(2)
    }
  }
  if (result.quick) {
    // A smoke run: everything starts, answers and prints; the figures mean nothing.
    if (!given.has('node')) result.node = ['current']
    if (!given.has('rounds')) result.rounds = 1
    if (!given.has('requests')) result.requests = 200
    if (!given.has('warmup')) result.warmup = 20
  }
  result.write ??= !result.quick
  result.pin ??= canPin()
  if (result.profile && !given.has('requests')) result.requests = 200_000
  if (result.only !== undefined && !FRAMEWORKS.some((f) => f.id === result.only)) {
    console.error(`bench: --only must be one of ${FRAMEWORKS.map((f) => f.id).join(', ')}`)
    process.exit(2)
  }
  const unknown = result.variants.filter((id) => !VARIANTS.some((v) => v.id === id))
  if (unknown.length > 0) {
    console.error(
      `bench: unknown variants ${unknown.join(', ')}; known: ${VARIANTS.map((v) => v.id).join(', ')}`,
    )
    process.exit(2)
  }
  // Ratios need their references in the same run.
  for (const id of ['bare', 'lean', 'otel-auto'])
    if (!result.variants.includes(id)) result.variants.unshift(id)
  if (result.variants.includes('traceweave-otlp') && !result.variants.includes('otel-auto-otlp'))
    result.variants.push('otel-auto-otlp')
  const bad = result.node.filter((v) => v !== 'current' && !/^[1-9][0-9]*$/.test(v))
  if (bad.length > 0) {
    console.error(`bench: --node takes major versions (26,24,20) or current, got ${bad.join(', ')}`)
    process.exit(2)
  }
  return result
}
