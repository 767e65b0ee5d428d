// One benchmark server: `node bench/server.cjs <express|koa> <variant>` (variants below).
// Started by bench/run.mjs with an IPC channel; one process per variant, because OpenTelemetry's
// auto-instrumentation only patches modules required after it is registered. CommonJS on purpose:
// require() order is what makes that patching work without loader hooks.
'use strict'

const [framework, variant] = process.argv.slice(2)
const FRAMEWORKS = ['express', 'koa']
// What each variant's server runs. The `-unsampled` variants run the same server as their base; the
// load generator sends them a parent that says no (`traceparent` flags 00).
const SERVERS = {
  bare: { kind: 'bare' },
  traceweave: { kind: 'traceweave', sampling: { ratio: 1 } },
  'traceweave-unsampled': { kind: 'traceweave', sampling: { ratio: 1 } },
  'traceweave-10pct': { kind: 'traceweave', sampling: { ratio: 0.1 } },
  'traceweave-rules1': { kind: 'traceweave', sampling: { ratio: 1, rules: neverMatchingRules(1) } },
  'traceweave-rules10': { kind: 'traceweave', sampling: { ratio: 1, rules: neverMatchingRules(10) } },
  'traceweave-rules100': { kind: 'traceweave', sampling: { ratio: 1, rules: neverMatchingRules(100) } },
  'traceweave-otlp': { kind: 'traceweave', sampling: { ratio: 1 }, otlp: true },
  lean: { kind: 'lean' },
  'lean-unsampled': { kind: 'lean' },
  'otel-auto': { kind: 'otel-auto' },
  'otel-auto-otlp': { kind: 'otel-auto', otlp: true },
  // traceweave with `resources: true` or `'attributed'` (setupTracing's default 5 s pidusage sampler too),
  // to price those options against the traceweave row.
  resources: { kind: 'traceweave', sampling: { ratio: 1 }, resources: true, middleware: { resources: true } },
  attributed: {
    kind: 'traceweave',
    sampling: { ratio: 1 },
    resources: true,
    middleware: { resources: 'attributed' },
  },
  // Deferred decisions with outcome rules none of which matches (every request recorded, held, judged
  // at the response head and dropped), and `traceResponse: true`: the per-request price of outcome
  // rules (issue 16).
  outcome: {
    kind: 'traceweave',
    sampling: {
      decide: 'deferred',
      ratio: 0,
      rules: [
        { status: 'error', sample: 1 },
        { minDurationMs: 1000, sample: 1 },
      ],
    },
    middleware: { traceResponse: true },
  },
}
// Default features switched off, one at a time, to price each on the real server.
SERVERS['no-request-id'] = { kind: 'traceweave', sampling: { ratio: 1 }, middleware: { requestId: false } }
SERVERS['no-session'] = { kind: 'traceweave', sampling: { ratio: 1 }, middleware: { session: false } }
SERVERS['no-correlation'] = {
  kind: 'traceweave',
  sampling: { ratio: 1 },
  middleware: { requestId: false, session: false },
}
const config = SERVERS[variant]
if (!FRAMEWORKS.includes(framework) || config === undefined) {
  console.error(`usage: node bench/server.cjs <${FRAMEWORKS.join('|')}> <${Object.keys(SERVERS).join('|')}>`)
  process.exit(2)
}
const OTLP_URL = process.env.BENCH_OTLP_URL
if (config.otlp && !OTLP_URL) {
  console.error(`${variant} needs BENCH_OTLP_URL (the run's local OTLP receiver)`)
  process.exit(2)
}

// Rules that match no bench request, so every decision walks all of them before the ratio decides:
// a mix of the three rule shapes available at request start (path prefix, method, header).
function neverMatchingRules(count) {
  return Array.from({ length: count }, (_, i) => {
    if (i % 3 === 0) return { pathPrefix: `/never-${i}`, sample: 0 }
    if (i % 3 === 1) return { method: 'DELETE', header: ['x-never', `v${i}`], sample: 0 }
    return { header: ['x-never', `v${i}`], sample: 0 }
  })
}

// An exporter that does no I/O: the batch processor's queueing, batching and timer are measured,
// the network is not. `code: 0` is ExportResultCode.SUCCESS (@opentelemetry/core is not a bench dependency).
let exportedSpans = 0
const noIoExporter = {
  export(spans, resultCallback) {
    exportedSpans += spans.length
    resultCallback({ code: 0 })
  },
  shutdown: () => Promise.resolve(),
  forceFlush: () => Promise.resolve(),
}

// Tracing is set up before the framework is required (auto-instrumentation needs it).
const tracing = setUpTracing()
const app = framework === 'express' ? buildExpressApp() : buildKoaApp()

function setUpTracing() {
  if (config.kind === 'bare') return undefined
  if (config.kind === 'traceweave') {
    const { setupTracing } = require('@traceweave/node')
    // Request IDs and session counting are on by default in the middleware.
    const handle = setupTracing({
      serviceName: 'bench',
      ...(config.otlp ? { exporter: 'otlp', otlp: { url: OTLP_URL } } : { exporter: noIoExporter }),
      sampling: config.sampling,
      flushOnExit: false,
      resources: config.resources === true,
    })
    return { forceFlush: () => handle.forceFlush(), dropped: () => handle.stats().droppedSpans }
  }
  // lean and otel-auto: the plain OpenTelemetry SDK, as a team without traceweave would set it up
  // (AlwaysOn sampler under ParentBased, AsyncLocalStorage context, W3C propagators, batch processor).
  const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node')
  const { BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base')
  let exporter = noIoExporter
  if (config.otlp) {
    const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http')
    exporter = new OTLPTraceExporter({ url: OTLP_URL })
  }
  const provider = new NodeTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] })
  provider.register()
  if (config.kind === 'otel-auto') {
    const { registerInstrumentations } = require('@opentelemetry/instrumentation')
    const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http')
    const frameworkInstrumentation =
      framework === 'express'
        ? new (require('@opentelemetry/instrumentation-express').ExpressInstrumentation)()
        : new (require('@opentelemetry/instrumentation-koa').KoaInstrumentation)()
    registerInstrumentations({
      tracerProvider: provider,
      instrumentations: [new HttpInstrumentation(), frameworkInstrumentation],
    })
  }
  return { forceFlush: () => provider.forceFlush(), dropped: () => 0 }
}

// The lean variant: one SERVER span per request (bench/lean.cjs), route and status added and the span
// ended on 'finish'.
function leanParts() {
  const { context, trace } = require('@opentelemetry/api')
  const { startLeanSpan } = require('./lean.cjs')
  const tracer = trace.getTracer('lean-bench')
  return { context, startSpan: (req) => startLeanSpan(tracer, req) }
}

function buildExpressApp() {
  const express = require('express')
  const app = express()
  if (config.kind === 'traceweave') app.use(require('@traceweave/express').traceweave(config.middleware))
  if (config.kind === 'lean') {
    const { context, startSpan } = leanParts()
    app.use(function leanTracing(req, res, next) {
      const { span, ctx } = startSpan(req)
      res.once('finish', () => {
        if (req.route) span.setAttribute('http.route', req.route.path)
        span.setAttribute('http.response.status_code', res.statusCode)
        span.end()
      })
      context.with(ctx, next)
    })
  }
  app.get('/users/:id', function getUser(req, res) {
    countRequest()
    res.json({ id: req.params.id, name: 'Ada Lovelace' })
  })
  return app
}

function buildKoaApp() {
  const Koa = require('koa')
  const Router = require('@koa/router')
  const app = new Koa()
  if (config.kind === 'traceweave') app.use(require('@traceweave/koa').traceweave(config.middleware))
  if (config.kind === 'lean') {
    const { context, startSpan } = leanParts()
    app.use(async function leanTracing(ctx, next) {
      const { span, ctx: spanContext } = startSpan(ctx.req)
      ctx.res.once('finish', () => {
        if (typeof ctx._matchedRoute === 'string') span.setAttribute('http.route', ctx._matchedRoute)
        span.setAttribute('http.response.status_code', ctx.res.statusCode)
        span.end()
      })
      await context.with(spanContext, next)
    })
  }
  const router = new Router()
  router.get('/users/:id', function getUser(ctx) {
    countRequest()
    ctx.body = { id: ctx.params.id, name: 'Ada Lovelace' }
  })
  app.use(router.routes())
  return app
}

let handled = 0
function countRequest() {
  handled++
}

// The measured phase is bracketed by IPC messages from the parent, so the server's own CPU
// (user + system, all threads: GC and the batch processor included) is all that is counted.
let phase
process.on('message', (message) => {
  if (message.type === 'start') {
    // Warm-up spans are exported first, so the phase's span count is its own.
    Promise.resolve(tracing?.forceFlush()).then(() => {
      phase = { cpu: process.cpuUsage(), handled, exported: exportedSpans, dropped: droppedSpans() }
      process.send({ type: 'started' })
    })
  } else if (message.type === 'stop') {
    const cpu = process.cpuUsage(phase.cpu)
    const requests = handled - phase.handled
    // Flushed after the CPU reading, only to count the spans this phase produced.
    Promise.resolve(tracing?.forceFlush()).then(() => {
      process.send({
        type: 'stopped',
        userMicros: cpu.user,
        systemMicros: cpu.system,
        requests,
        // The OTLP variants' spans are counted by the receiver, in the parent.
        spans: config.otlp ? undefined : exportedSpans - phase.exported,
        droppedSpans: droppedSpans() - phase.dropped,
        rssBytes: process.memoryUsage().rss,
      })
    })
  }
})

function droppedSpans() {
  return tracing === undefined ? 0 : tracing.dropped()
}

// The parent going away (finished, crashed or killed) ends this server too.
process.on('disconnect', () => process.exit(0))

const http = require('node:http')
const handler = framework === 'express' ? app : app.callback()
const server = http.createServer(handler)
// Never close an idle keep-alive connection: with many variants, a server waits minutes between its
// measurements, and a socket closed as the load generator reuses it would fail the run (ECONNRESET).
server.keepAliveTimeout = 0
server.listen(0, '127.0.0.1', () => {
  process.send({ type: 'ready', port: server.address().port })
})
