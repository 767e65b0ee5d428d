/**
 * The `traceweave-view` command as a user runs it (the built bin in a child process): banner, a
 * waterfall per trace, the HTML file on exit, and one-line errors for a taken port or a bad flag.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { checkoutTrace, otlpJson, testTraceId } from './support/otlp-json'
import { listen } from './support/servers'

const BIN = resolve(__dirname, '..', 'packages', 'view', 'bin', 'traceweave-view.js')
const DIST = resolve(__dirname, '..', 'packages', 'view', 'dist', 'cli.js')

let workDir: string
beforeAll(() => {
  if (!existsSync(DIST))
    throw new Error(`${DIST} is missing: these tests run the built package; run pnpm build first`)
  workDir = mkdtempSync(join(tmpdir(), 'traceweave-view-cli-'))
})
afterAll(() => rmSync(workDir, { recursive: true, force: true }))

interface Run {
  proc: ChildProcessWithoutNullStreams
  stdout: () => string
  stderr: () => string
  waitFor: (pattern: RegExp) => Promise<RegExpMatchArray>
  exited: Promise<number | null>
}

function run(args: string[], env: Record<string, string> = {}): Run {
  const proc = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } })
  let stdout = ''
  let stderr = ''
  const waiters: Array<() => void> = []
  proc.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString()
    waiters.forEach((check) => check())
  })
  proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const exited = new Promise<number | null>((done) => proc.on('exit', (code) => done(code)))
  // A watchdog: a child that hangs fails the test instead of outliving it.
  const watchdog = setTimeout(() => proc.kill('SIGKILL'), 15_000)
  void exited.then(() => clearTimeout(watchdog))
  return {
    proc,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    waitFor: (pattern) =>
      new Promise((done, fail) => {
        const check = () => {
          const match = stdout.match(pattern)
          if (match) done(match)
        }
        waiters.push(check)
        check()
        void exited.then(() => fail(new Error(`exited before printing ${pattern}; stderr: ${stderr}`)))
      }),
  }
}

describe('traceweave-view (the command)', () => {
  it('prints where it listens, a waterfall per trace (no colour with NO_COLOR), and writes --html on SIGTERM', async () => {
    const html = join(workDir, 'traces.html')
    const cli = run(['--port', '0', '--ui-port', '0', '--grace', '100', '--html', html], {
      NO_COLOR: '1',
      FORCE_COLOR: '1',
    })
    const [, otlpUrl] = await cli.waitFor(/receiving OTLP\/HTTP at (http:\/\/127\.0\.0\.1:\d+)\/v1\/traces/)
    const [, uiUrl] = await cli.waitFor(/traces on (http:\/\/127\.0\.0\.1:\d+\/)/)
    expect((await fetch(uiUrl!)).status).toBe(200)
    const traceId = testTraceId()
    const response = await fetch(`${otlpUrl}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: otlpJson(checkoutTrace(traceId, 'req-cli')),
    })
    expect(response.status).toBe(200)
    await cli.waitFor(new RegExp(`trace ${traceId}  POST /checkout[^\\n]*\\n(.*\\n){4}`))
    expect(cli.stdout()).toContain('request.id=req-cli')
    expect(cli.stdout()).not.toContain('\u001b[')
    cli.proc.kill('SIGTERM')
    expect(await cli.exited).toBe(0)
    expect(cli.stdout()).toContain(
      `SIGTERM: 1 traces held, 0 dropped (--max-traces), 0 requests rejected; wrote ${html}`,
    )
    expect(readFileSync(html, 'utf8')).toContain(traceId)
    expect(cli.stderr()).toBe('')
  })

  it('exits 1 with one line when the port is taken', async () => {
    const blocker = await listen()
    const { port } = blocker
    try {
      const cli = run(['--port', String(port), '--no-ui'])
      expect(await cli.exited).toBe(1)
      expect(cli.stderr()).toBe(
        `traceweave-view: cannot listen for OTLP on 127.0.0.1:${port}: the port is already in use (another collector or viewer?); choose another with --port\n`,
      )
    } finally {
      await blocker.close()
    }
  })

  it('exits 2 naming a bad flag, and prints usage on --help', async () => {
    const bad = run(['--max-traces', '0'])
    expect(await bad.exited).toBe(2)
    expect(bad.stderr().split('\n')[0]).toBe(
      'traceweave-view: --max-traces must be an integer within 1..any, got "0"',
    )
    const help = run(['--help'])
    expect(await help.exited).toBe(0)
    expect(help.stdout()).toContain('--max-traces N')
  })
})
