/**
 * `exporter: 'console'` when stdout's reader has gone (`node server.mjs | head -3`): a write fails with
 * EPIPE. Fail open: the app lives on, the failure is told once on stderr, spans are lost. Only our own
 * write is covered: an EPIPE from the app's own stdout write reaches the app as it would without us.
 */
import { spawn } from 'node:child_process'
import { childEnv, cleanUpChildScripts, MODULES, writeChildScript } from './support/child-script'

const NODE_DIST = MODULES.node

afterAll(() => cleanUpChildScripts())

/**
 * Runs `body` in a new Node process whose stdout pipe the parent has closed before the body runs: the
 * child waits for a line on stdin, which the parent sends only after destroying its end of stdout.
 */
function runWithClosedStdout(body: string): Promise<{ stderr: string; code: number | null }> {
  const file = writeChildScript(
    `process.stdin.once('data', () => { process.stdin.destroy(); ${body} })`,
    15000,
  )
  const child = spawn(process.execPath, [file], { env: childEnv(), stdio: ['pipe', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  child.stdout.destroy()
  child.stdin.write('go\n')
  return new Promise((done) => child.on('close', (code) => done({ stderr, code })))
}

// Three batches (the batch delay is 200 ms), then a clean exit with a line on stderr.
const THREE_BATCHES = `
const { setupTracing } = require(${JSON.stringify(NODE_DIST)})
const tracing = setupTracing({ serviceName: 'shop', exporter: 'console' })
let batches = 0
const tick = setInterval(() => {
  tracing.tracer.startSpan('checkout').end()
  if (++batches < 3) return
  clearInterval(tick)
  setTimeout(async () => {
    await tracing.shutdown()
    process.stderr.write('STILL ALIVE ' + JSON.stringify(tracing.stats()) + '\\n')
  }, 500)
}, 400)
`

describe("exporter: 'console' with a closed stdout (EPIPE)", () => {
  it('does not crash the app: the failure is reported once on stderr and the exports fail', async () => {
    const result = await runWithClosedStdout(THREE_BATCHES)
    expect(result.code).toBe(0)
    expect(result.stderr).toContain('STILL ALIVE')
    const reports = result.stderr.split('\n').filter((line) => line.startsWith('traceweave:'))
    expect(reports).toEqual([expect.stringMatching(/console.*cannot write to stdout \(EPIPE/)])
    const stats = JSON.parse(/STILL ALIVE (.*)/.exec(result.stderr)![1]!) as {
      exportedSpans: number
      failedExports: number
    }
    expect(stats.exportedSpans).toBe(0)
    expect(stats.failedExports).toBeGreaterThanOrEqual(1)
  })

  it("leaves the app's own stdout errors to the app: its EPIPE still ends a listener-less app, as without traceweave", async () => {
    const result = await runWithClosedStdout(`
const { setupTracing } = require(${JSON.stringify(NODE_DIST)})
setupTracing({ serviceName: 'shop', exporter: 'console' })
process.stdout.write('the app writes first\\n')
setTimeout(() => process.stderr.write('STILL ALIVE\\n'), 1000)
`)
    expect(result.stderr).toContain('EPIPE')
    expect(result.stderr).not.toContain('STILL ALIVE')
    expect(result.code).not.toBe(0)
  })
})
