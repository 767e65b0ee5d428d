/**
 * Child processes for tests: a CommonJS script in a new Node process against the built packages, as an
 * app runs them, and what a person would see of it: stdout, stderr, the exit. For tests of what
 * traceweave prints, of signals and exits, and of the OTLP exporter (which does not run in jest's
 * sandbox). `startScript`/`runScript` do it all; a test that needs its own spawn (a closed stdout pipe,
 * timings) builds on `writeChildScript`, `childEnv` and `MODULES`.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

/** The workspace's packages folder. */
export const PACKAGES = resolve(__dirname, '..', '..', 'packages')

/** The built entry points of the packages in `packages` (another checkout's, to check a fix there). */
export function builtPackages(packages = PACKAGES) {
  return {
    node: join(packages, 'node', 'dist', 'index.js'),
    core: join(packages, 'core', 'dist', 'index.js'),
    express: join(packages, 'express', 'dist', 'index.js'),
    koa: join(packages, 'koa', 'dist', 'index.js'),
    client: join(packages, 'client', 'dist', 'index.js'),
  }
}

/** Absolute paths a child script can `require()`: the built packages and the test's framework aliases. */
export const MODULES = {
  ...builtPackages(),
  api: require.resolve('@opentelemetry/api'),
  express4: require.resolve('express4'),
  express5: require.resolve('express5'),
  koa2: require.resolve('koa2'),
  koa3: require.resolve('koa3'),
  router: require.resolve('@koa/router'),
} as const

/**
 * The parent's environment without `OTEL_*` (and without `without`), then `env`: a child configured
 * only by what the test says.
 */
export function childEnv(
  env: Record<string, string> = {},
  without: readonly string[] = [],
): NodeJS.ProcessEnv {
  const clean = Object.entries(process.env).filter(
    ([key]) => !key.startsWith('OTEL_') && !without.includes(key),
  )
  return { ...Object.fromEntries(clean), ...env }
}

export interface ChildResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export interface RunningChild {
  /** What the child printed so far. */
  stdout(): string
  stderr(): string
  /** Writes to the child's stdin (started with `stdin: true`). */
  send(text: string): void
  /** Resolves when stdout has a line equal to `line`. */
  printed(line: string): Promise<void>
  /** Resolves with stderr once it has `count` complete lines (rejects if the child exits first). */
  stderrLines(count: number): Promise<string[]>
  kill(signal: NodeJS.Signals): void
  exited: Promise<ChildResult>
}

let workDir: string | undefined

/** Removes the scripts written so far (by `startScript` and `writeChildScript`); call it in `afterAll`. */
export function cleanUpChildScripts(): void {
  if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true })
  workDir = undefined
}

// Ends a child that hangs (a test that fails must not hold the suite for jest's whole timeout).
const watchdog = (ms: number) =>
  `setTimeout(() => { console.error('watchdog: still running after ${ms} ms'); process.exit(9) }, ${ms}).unref()`

export interface ScriptOptions {
  /** The child ends itself (exit code 9) after this long; default 20 s. */
  watchdogMillis?: number
  /** Give the child a stdin pipe for {@link RunningChild.send}; default: no stdin. */
  stdin?: boolean
}

/**
 * Writes `body` to a new .cjs file, after a watchdog that ends the child after `watchdogMillis` and
 * `const M =` {@link MODULES}, and returns its path.
 */
export function writeChildScript(body: string, watchdogMillis = 20000): string {
  workDir ??= mkdtempSync(join(tmpdir(), 'traceweave-child-'))
  const file = join(workDir, `child-${Math.random().toString(36).slice(2)}.cjs`)
  writeFileSync(file, `const M = ${JSON.stringify(MODULES)}\n${watchdog(watchdogMillis)}\n${body}\n`)
  return file
}

/**
 * Starts `body` in a new Node process with `env` over a clean environment (no `OTEL_*` from the
 * parent). `M` in the script holds {@link MODULES}.
 */
export function startScript(
  body: string,
  env: Record<string, string> = {},
  { watchdogMillis = 20000, stdin = false }: ScriptOptions = {},
): RunningChild {
  const file = writeChildScript(body, watchdogMillis)
  const stdio: ['pipe' | 'ignore', 'pipe', 'pipe'] = [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe']
  const child = spawn(process.execPath, [file], { env: childEnv(env), stdio })
  let stdout = ''
  let stderr = ''
  const waiters: Array<[string, () => void]> = []
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString()
    for (const [line, done] of waiters) if (stdout.split('\n').includes(line)) done()
  })
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const exited = new Promise<ChildResult>((done) =>
    child.on('close', (code, signal) => done({ code, signal, stdout, stderr })),
  )
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    send: (text) => void child.stdin?.write(text),
    printed: (line) =>
      new Promise<void>((done, fail) => {
        if (stdout.split('\n').includes(line)) return done()
        waiters.push([line, done])
        void exited.then(() => fail(new Error(`child exited before printing "${line}"; stderr:\n${stderr}`)))
      }),
    stderrLines: (count) =>
      new Promise<string[]>((done, fail) => {
        const check = (): boolean => {
          const lines = stderr.split('\n').slice(0, -1)
          if (lines.length < count) return false
          done(lines)
          return true
        }
        if (check()) return
        child.stderr!.on('data', check)
        void exited.then(() => check() || fail(new Error(`child exited with stderr:\n${stderr}`)))
      }),
    kill: (signal) => child.kill(signal),
    exited,
  }
}

/** Runs `body` to its end. */
export function runScript(body: string, env: Record<string, string> = {}): Promise<ChildResult> {
  return startScript(body, env).exited
}

/** The lines traceweave printed on stderr. */
export function traceweaveLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.startsWith('traceweave: '))
}

/**
 * Script prelude that installs an app diag logger printing `APPLOG <level> <args>` on stdout, the way an
 * app routes OpenTelemetry's diagnostics into its own logs.
 */
export const APP_DIAG_LOGGER = `
{
  const { diag, DiagLogLevel } = require(M.api)
  const log = (level) => (...args) => console.log('APPLOG ' + level + ' ' + args.map(String).join(' '))
  diag.setLogger(
    { error: log('error'), warn: log('warn'), info: log('info'), debug: log('debug'), verbose: log('verbose') },
    { logLevel: DiagLogLevel.INFO, suppressOverrideMessage: true },
  )
}`
