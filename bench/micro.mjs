// Micro-benchmarks (tinybench) and memory, in one process without network I/O:
//   node --expose-gc bench/micro.mjs [--quick] [--json]
// Run by bench/run.mjs under each Node version it measures; `--json` prints one JSON line for it.
//
// - parse/format: traceparent parsing and formatting.
// - decision: TraceweaveSampler.shouldSample() with 10 rules that do not match (all are walked).
// - lifecycle: one request through the server lifecycle (start, run, response close) on real
//   IncomingMessage/ServerResponse objects without a socket, beside a lean one-span equivalent on
//   the same TracerProvider, sampled and with a parent that says no.
// - memory: heap growth after N distinct sessions through the lifecycle (default maxSessions, then
//   maxSessions = N), to show the session counters' bound.
import { ROOT_CONTEXT, SpanKind, context, trace } from '@opentelemetry/api'
import {
  TraceweaveSampler,
  createServerLifecycle,
  formatTraceParent,
  parseTraceParent,
  setRequestState,
} from '@traceweave/core'
import { setupTracing } from '@traceweave/node'
import { IncomingMessage, ServerResponse } from 'node:http'
import { Socket } from 'node:net'
import { Bench } from 'tinybench'
import lean from './lean.cjs'
import { runSamplingBench } from './sampling-decisions.mjs'

const { startLeanSpan } = lean

const args = new Set(process.argv.slice(2))
const QUICK = args.has('--quick')
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
const UNSAMPLED_PARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00'

const noIoExporter = {
  export: (spans, done) => done({ code: 0 }),
  shutdown: () => Promise.resolve(),
  forceFlush: () => Promise.resolve(),
}
const tracing = setupTracing({
  serviceName: 'bench-micro',
  exporter: noIoExporter,
  sampling: { ratio: 1 },
  flushOnExit: false,
})

export async function runMicro() {
  const bench = new Bench(QUICK ? { time: 20, warmupTime: 5 } : { time: 400, warmupTime: 100 })

  const parsed = parseTraceParent(TRACEPARENT)
  bench.add('traceparent parse', () => parseTraceParent(TRACEPARENT))
  bench.add('traceparent format', () => formatTraceParent(parsed))

  const sampler = new TraceweaveSampler({
    ratio: 1,
    rules: Array.from({ length: 10 }, (_, i) =>
      i % 2 === 0 ? { pathPrefix: `/never-${i}`, sample: 0 } : { header: ['x-never', `v${i}`], sample: 0 },
    ),
  })
  const decisionContext = setRequestState(ROOT_CONTEXT, {
    correlationAttributes: {},
    method: 'GET',
    path: '/users/7',
    headers: { 'user-agent': 'bench' },
  })
  bench.add('sampling decision, 10 rules', () =>
    sampler.shouldSample(decisionContext, '4bf92f3577b34da6a3ce929d0e0e4736', 'GET', SpanKind.SERVER, {}, []),
  )

  const lifecycle = createServerLifecycle({}, { framework: 'bench' })
  const leanTracer = trace.getTracer('lean-micro')
  bench.add('lifecycle: traceweave request, sampled', () => traceweaveRequest(lifecycle, 7, undefined))
  bench.add('lifecycle: lean one-span request, sampled', () => leanRequest(leanTracer, undefined))
  bench.add('lifecycle: traceweave request, parent says no', () =>
    traceweaveRequest(lifecycle, 7, UNSAMPLED_PARENT),
  )
  bench.add('lifecycle: lean one-span request, parent says no', () =>
    leanRequest(leanTracer, UNSAMPLED_PARENT),
  )

  await bench.run()
  const results = bench.tasks.map((task) => ({
    name: task.name,
    nsPerOp: Math.round(task.result.latency.mean * 1e6),
    rme: task.result.latency.rme,
  }))
  return results
}

// One socket for all requests, as keep-alive connections have it (a new Socket per request would
// measure its construction, not the tracing).
const SOCKET = new Socket()
function fakeRequest(sessionId, traceparent) {
  const req = new IncomingMessage(SOCKET)
  req.method = 'GET'
  req.url = '/users/7'
  req.httpVersion = '1.1'
  req.headers = { host: '127.0.0.1:3000', 'user-agent': 'traceweave-bench', 'x-session-id': sessionId }
  if (traceparent !== undefined) req.headers.traceparent = traceparent
  const res = new ServerResponse(req)
  return { req, res }
}

// A finished response, as the lifecycle reads it at 'close' (no socket: Node would not finish it).
function finishResponse(res) {
  res.statusCode = 200
  Object.defineProperty(res, 'writableFinished', { value: true })
  Object.defineProperty(res, 'headersSent', { value: true })
  res.emit('close')
}

const NO_PROXY = { trust: false }
function traceweaveRequest(lifecycle, session, traceparent) {
  const { req, res } = fakeRequest(`bench-session-${session}`, traceparent)
  const serverRequest = lifecycle.start(req, res, req, NO_PROXY)
  lifecycle.run(serverRequest, () => lifecycle.routeKnown(serverRequest, '/users/:id'))
  finishResponse(res)
}

function leanRequest(tracer, traceparent) {
  const { req, res } = fakeRequest('bench-session-7', traceparent)
  const { span, ctx } = startLeanSpan(tracer, req)
  res.once('close', () => {
    span.setAttribute('http.route', '/users/:id')
    span.setAttribute('http.response.status_code', res.statusCode)
    span.end()
  })
  context.with(ctx, () => {})
  finishResponse(res)
}

/** Heap growth (bytes) after `sessions` distinct sessions went through a fresh lifecycle. */
export async function runMemory() {
  const gc = globalThis.gc
  if (typeof gc !== 'function') return { error: 'run with --expose-gc' }
  const counts = QUICK ? [100, 1000] : [1_000, 10_000, 100_000]
  const rows = []
  for (const sessions of counts) {
    for (const maxSessions of [undefined, sessions]) {
      await tracing.forceFlush()
      gc()
      const before = process.memoryUsage().heapUsed
      const lifecycle = createServerLifecycle(maxSessions === undefined ? {} : { session: { maxSessions } }, {
        framework: 'bench',
      })
      for (let i = 0; i < sessions; i++) {
        traceweaveRequest(lifecycle, i, undefined)
        if (i % 2000 === 1999) await tracing.forceFlush()
      }
      await tracing.forceFlush()
      gc()
      const after = process.memoryUsage().heapUsed
      rows.push({ sessions, maxSessions: maxSessions ?? 'default (10000)', heapBytes: after - before })
      // Keep the lifecycle (and its counters) alive until measured.
      if (lifecycle === undefined) throw new Error('unreachable')
    }
  }
  return { rows }
}

if (process.argv.some((a) => a.startsWith('--loop='))) {
  // For profiling one path: node --cpu-prof bench/micro.mjs --loop=<sampled|unsampled|lean|lean-unsampled>
  const which = process.argv.find((a) => a.startsWith('--loop=')).slice(7)
  const lifecycle = createServerLifecycle({}, { framework: 'bench' })
  const tracer = trace.getTracer('lean-micro')
  const parent = which.endsWith('unsampled') ? UNSAMPLED_PARENT : undefined
  for (let i = 0; i < 300_000; i++) {
    if (which.startsWith('lean')) leanRequest(tracer, parent)
    else traceweaveRequest(lifecycle, i & 63, parent)
    if (i % 5000 === 0) await tracing.forceFlush()
  }
  await tracing.shutdown()
} else if (import.meta.url === `file://${process.argv[1]}`) {
  const micro = await runMicro()
  const memory = await runMemory()
  const sampling = runSamplingBench(QUICK ? 10_000 : 1_000_000)
  await tracing.shutdown()
  if (args.has('--json')) {
    console.log(JSON.stringify({ node: process.version, micro, sampling, memory }))
  } else {
    for (const r of micro) console.log(`${r.name.padEnd(52)} ${String(r.nsPerOp).padStart(8)} ns/op`)
    for (const r of sampling)
      console.log(`sampler: ${r.name.padEnd(43)} ${String(r.nsPerDecision).padStart(8)} ns/op`)
    if (memory.error) console.log(`memory: ${memory.error}`)
    else
      for (const r of memory.rows)
        console.log(
          `${String(r.sessions).padStart(7)} sessions, maxSessions ${String(r.maxSessions).padEnd(16)} ` +
            `heap +${(r.heapBytes / 1024).toFixed(0)} KiB`,
        )
  }
}
