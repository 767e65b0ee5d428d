/**
 * `exporter: 'console'` as a user runs it: a real process, its real stdout (a pipe here, so plain
 * text unless FORCE_COLOR), the real batch processor. A request's spans print as one waterfall about
 * when the request ends, not 5 s later, and the server span names the request, session and user.
 */
import { spawn } from 'node:child_process'
import { childEnv, cleanUpChildScripts, MODULES, writeChildScript } from './support/child-script'

const NODE_DIST = MODULES.node
const EXPRESS_DIST = MODULES.express
const EXPRESS5 = MODULES.express5

afterAll(() => cleanUpChildScripts())

interface Run {
  stdout: string
  stderr: string
  code: number | null
  /** Milliseconds between the child's `ENDED` line and the first waterfall header on its stdout. */
  delayMs: number | undefined
}

/**
 * Runs `body` in a new Node process (the built packages, a clean environment: no OTEL_*, NO_COLOR or
 * FORCE_COLOR from the parent, then `env`). The child prints `ENDED` right after its span ends; the
 * time until a waterfall header arrives on the same pipe is what a person waits.
 */
function run(body: string, env: Record<string, string> = {}): Promise<Run> {
  const file = writeChildScript(body, 10000)
  const child = spawn(process.execPath, [file], {
    env: childEnv(env, ['NO_COLOR', 'FORCE_COLOR']),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  let endedAt: number | undefined
  let printedAt: number | undefined
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString()
    const now = performance.now()
    if (endedAt === undefined && stdout.includes('ENDED\n')) endedAt = now
    // the header's `trace` is bold when coloured: ESC [ 1 m before it
    if (printedAt === undefined && /^(\S+\[1m)?trace [0-9a-f]{32} /m.test(stdout)) printedAt = now
  })
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  return new Promise((done) =>
    child.on('close', (code) =>
      done({
        stdout,
        stderr,
        code,
        delayMs: endedAt !== undefined && printedAt !== undefined ? printedAt - endedAt : undefined,
      }),
    ),
  )
}

// One span, then `ENDED`; the process stays up 3 s (longer than the 2 s asserted below, shorter than
// the SDK's 5 s default delay) and shuts down, so only a short batch delay prints before the flush.
const ONE_SPAN = `
const { setupTracing } = require(${JSON.stringify(NODE_DIST)})
const tracing = setupTracing({ serviceName: 'shop', exporter: 'console' })
tracing.tracer.startSpan('checkout').end()
process.stdout.write('ENDED\\n')
setTimeout(() => tracing.shutdown(), 3000)
`

describe("exporter: 'console' in a real process", () => {
  it('prints a span well within 2 s of its end (the batch delay is 200 ms, not the SDK’s 5 s), plain on a pipe', async () => {
    const result = await run(ONE_SPAN)
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    expect(result.delayMs).toBeDefined()
    expect(result.delayMs!).toBeLessThan(2000)
    expect(result.stdout).toMatch(/^ {2}shop {2}checkout {2}/m)
    expect(result.stdout).not.toContain('\u001b[')
    // printed once: the exit flush finds nothing left
    expect(result.stdout.match(/^trace /gm)).toHaveLength(1)
  })

  it('colours when forced as on a TTY, and NO_COLOR beats it (no-color.org)', async () => {
    const [forced, refused] = await Promise.all([
      run(ONE_SPAN, { FORCE_COLOR: '1' }),
      run(ONE_SPAN, { FORCE_COLOR: '1', NO_COLOR: '1' }),
    ])
    expect(forced.stdout).toContain('\u001b[')
    expect(refused.stdout).toMatch(/^trace [0-9a-f]{32} /m)
    expect(refused.stdout).not.toContain('\u001b[')
  })

  it('OTEL_BSP_SCHEDULE_DELAY still sets the delay: 5000 prints only at the exit flush, after 3 s', async () => {
    const result = await run(ONE_SPAN, { OTEL_BSP_SCHEDULE_DELAY: '5000' })
    expect(result.code).toBe(0)
    expect(result.delayMs!).toBeGreaterThanOrEqual(2000) // the child exits after 3 s; a 200 ms delay would print far earlier
  })

  it('prints an Express request as one block under its server span, naming the service, request, session and user', async () => {
    const result = await run(`
const { setupTracing } = require(${JSON.stringify(NODE_DIST)})
const tracing = setupTracing({ serviceName: 'shop', exporter: 'console' })
const express = require(${JSON.stringify(EXPRESS5)})
const { traceweave } = require(${JSON.stringify(EXPRESS_DIST)})
const app = express()
app.use(traceweave({ user: (req) => req.get('x-user-id') }))
app.get('/orders/:id', async (req, res) => {
  await tracing.tracer.startActiveSpan('load order', async (span) => {
    await new Promise((resolve) => setTimeout(resolve, 5))
    span.end()
  })
  res.json({ id: req.params.id })
})
const server = app.listen(0, '127.0.0.1', async () => {
  const headers = { 'x-request-id': 'req-42', 'x-session-id': 'sess-1', 'x-user-id': 'alice' }
  const response = await fetch('http://127.0.0.1:' + server.address().port + '/orders/7', { headers })
  await response.text()
  process.stdout.write('ENDED\\n')
  setTimeout(() => { server.close(); tracing.shutdown() }, 1500)
})
`)
    expect(result.stderr).toBe('')
    expect(result.delayMs!).toBeLessThan(2000)
    const lines = result.stdout.split('\n').filter((line) => line !== 'ENDED' && line !== '')
    expect(lines).toHaveLength(3)
    expect(lines[0]).toMatch(/^trace [0-9a-f]{32} {2}GET \/orders\/:id {2}.* 2 spans {2}1 service$/)
    expect(lines[1]).toMatch(/^ {2}shop {2}GET \/orders\/:id /)
    expect(lines[1]).toContain('request.id=req-42 session.id=sess-1')
    expect(lines[1]).toMatch(/session\.operation_number=1 user\.id=alice http\.response\.status_code=200/)
    expect(lines[2]).toMatch(/^ {2}shop {4}load order /)
  })
})
