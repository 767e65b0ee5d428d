/**
 * What a person sees when something is wrong: each of traceweave's own warnings reaches stderr as one
 * `traceweave:` line, once per cause; `OTEL_LOG_LEVEL=none` silences it; an app that installed its own
 * OpenTelemetry diag logger gets it there instead (and nothing on stderr). Child processes, because
 * stderr and the process-wide "once" are what is under test.
 */
import { existsSync } from 'node:fs'
import {
  APP_DIAG_LOGGER,
  cleanUpChildScripts,
  MODULES,
  runScript,
  traceweaveLines,
} from './support/child-script'
import { listen, type ListeningServer } from './support/servers'

let server: ListeningServer
let base: string

beforeAll(async () => {
  for (const path of [MODULES.node, MODULES.express, MODULES.client]) {
    if (!existsSync(path))
      throw new Error(`${path} is missing: these tests run the built packages; run pnpm build`)
  }
  server = await listen((_req, res) => res.end('ok'))
  base = server.url
})
afterAll(async () => {
  cleanUpChildScripts()
  await server.close()
})

interface Diagnostic {
  /** What the person did wrong. */
  cause: string
  /** A script that makes the same mistake twice (so "once" is tested), then ends. */
  script: () => string
  env?: Record<string, string>
  /** The line traceweave must print (a part of it). */
  expected: string | RegExp
}

// An Express 5 app without setupTracing(): the route answers with the request ID it sees.
const NO_PROVIDER_APP = `
const express = require(M.express5)
const { traceweave } = require(M.express)
const { getRequestId } = require(M.core)
const app = express()
app.use(traceweave())
app.get('/id', (req, res) => res.json({ id: getRequestId() ?? null }))
const server = app.listen(0, '127.0.0.1', async () => {
  const url = 'http://127.0.0.1:' + server.address().port + '/id'
  for (let i = 0; i < 2; i++) {
    const res = await fetch(url, { headers: { 'x-request-id': 'req-' + i } })
    console.log('id ' + (await res.json()).id + ' header ' + res.headers.get('x-request-id'))
  }
  server.close()
})`

// Environment values that are not valid: each is named with its fallback, then ignored (OTel spec).
const SETUP_TWICE = `
const { setupTracing } = require(M.node)
;(async () => {
  for (let i = 0; i < 2; i++) await setupTracing({ batch: { scheduledDelayMillis: 600000 } }).shutdown()
})()`

const DIAGNOSTICS: Diagnostic[] = [
  {
    cause: 'no TracerProvider (no setupTracing())',
    script: () => NO_PROVIDER_APP,
    expected:
      'traceweave: no TracerProvider is registered, so requests get no spans: call setupTracing() before building the app (request IDs still work)',
  },
  {
    cause: 'trace headers withheld from a host not in propagateTo',
    script: () => `
const { setupTracing } = require(M.node)
const { traceFetch } = require(M.client)
const tracing = setupTracing({ exporter: 'none' })
const tracedFetch = traceFetch(fetch, { propagateTo: ['orders.internal.example'] })
tracing.tracer.startActiveSpan('job', async (span) => {
  for (let i = 0; i < 2; i++) await (await tracedFetch(${JSON.stringify(base)} + '/x')).text()
  span.end()
  await tracing.shutdown()
})`,
    expected: `traceweave: trace headers withheld from ${'127.0.0.1'}:`,
  },
  {
    cause: 'OTEL_TRACES_EXPORTER=consle',
    script: () => SETUP_TWICE,
    env: { OTEL_TRACES_EXPORTER: 'consle' },
    expected: `traceweave: OTEL_TRACES_EXPORTER="consle": expected one of 'otlp', 'console', 'none'; using 'otlp'`,
  },
  {
    cause: 'OTEL_PROPAGATORS with an unknown name',
    script: () => SETUP_TWICE,
    env: { OTEL_PROPAGATORS: 'tracecontext,xray' },
    expected: 'traceweave: OTEL_PROPAGATORS: unknown propagator "xray" skipped',
  },
  {
    cause: 'OTEL_TRACES_SAMPLER with an unknown name',
    script: () => SETUP_TWICE,
    env: { OTEL_TRACES_SAMPLER: 'sometimes' },
    expected: 'traceweave: OTEL_TRACES_SAMPLER: unknown sampler "sometimes"; using parentbased_always_on',
  },
  {
    cause: 'OTEL_EXPORTER_OTLP_PROTOCOL=grpc',
    script: () => SETUP_TWICE,
    env: { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' },
    expected:
      'traceweave: OTEL_EXPORTER_OTLP_PROTOCOL="grpc": traceweave has no gRPC exporter; using http/protobuf',
  },
  {
    cause: 'OTEL_EXPORTER_OTLP_PROTOCOL with an unknown value',
    script: () => SETUP_TWICE,
    env: { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/xml' },
    expected: `traceweave: OTEL_EXPORTER_OTLP_PROTOCOL="http/xml": expected 'http/protobuf' or 'http/json'; using http/protobuf`,
  },
]

const matches = (line: string, expected: string | RegExp) =>
  typeof expected === 'string' ? line.startsWith(expected) : expected.test(line)

describe.each(DIAGNOSTICS)('$cause', ({ script, env = {}, expected }) => {
  it('prints one traceweave: line on stderr, once although the mistake happens twice', async () => {
    const result = await runScript(script(), env)
    expect(result.code).toBe(0)
    const lines = traceweaveLines(result.stderr)
    expect(lines.filter((line) => matches(line, expected))).toHaveLength(1)
    // One line each: nothing else on stderr (no stack, no continuation lines).
    expect(result.stderr.trimEnd().split('\n')).toEqual(lines)
  })

  it('prints nothing with OTEL_LOG_LEVEL=none', async () => {
    const result = await runScript(script(), { ...env, OTEL_LOG_LEVEL: 'none' })
    expect(result.code).toBe(0)
    expect(result.stderr).toBe('')
  })

  it("goes to the app's diag logger instead when the app installed one", async () => {
    const result = await runScript(`${APP_DIAG_LOGGER}\n${script()}`, env)
    expect(result.code).toBe(0)
    expect(result.stderr).toBe('')
    const text = typeof expected === 'string' ? expected.replace(/^traceweave: /, '') : expected
    const logged = result.stdout
      .split('\n')
      .filter((line) => line.startsWith('APPLOG '))
      .filter((line) => (typeof text === 'string' ? line.includes(text) : text.test(line)))
    expect(logged).toHaveLength(1)
    expect(logged[0]).toMatch(/^APPLOG (warn|error) traceweave /)
  })
})

test('without setupTracing(), request IDs still work: X-Request-Id is echoed and getRequestId() returns it', async () => {
  const result = await runScript(NO_PROVIDER_APP)
  expect(result.stdout).toBe('id req-0 header req-0\nid req-1 header req-1\n')
})

describe('OTEL_LOG_LEVEL', () => {
  it('debug shows more: an export failure comes with its stack', async () => {
    const script = `
const { setupTracing } = require(M.node)
const tracing = setupTracing({ exporter: { export: (spans, done) => done({ code: 1, error: new Error('disk full') }), shutdown: async () => {} } })
tracing.tracer.startSpan('work').end()
tracing.forceFlush()`
    const quiet = await runScript(script)
    expect(traceweaveLines(quiet.stderr)).toEqual([
      'traceweave: exporting spans to your exporter failed (disk full); spans are lost until it works',
    ])
    const loud = await runScript(script, { OTEL_LOG_LEVEL: 'debug' })
    expect(loud.stderr).toContain('traceweave: exporting spans to your exporter failed (disk full)')
    expect(loud.stderr).toMatch(/traceweave: export to your exporter failed: Error: disk full at /)
  })

  it('an unknown value is named, and the default (info) applies', async () => {
    const result = await runScript(SETUP_TWICE, { OTEL_LOG_LEVEL: 'loud', OTEL_TRACES_SAMPLER: 'sometimes' })
    const lines = traceweaveLines(result.stderr)
    expect(lines[0]).toMatch(/^traceweave: OTEL_LOG_LEVEL="loud" is not one of none, error, warn, info/)
    expect(lines.some((line) => line.includes('unknown sampler "sometimes"'))).toBe(true)
  })
})
