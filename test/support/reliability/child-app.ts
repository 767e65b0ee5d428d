/**
 * Runs test/fixtures/reliability/app.cjs, a traced Express or Koa service, in its own Node process
 * against the built packages: the OTLP exporter only exports outside jest's sandbox, a signal test must
 * let a process die, and heap figures must not include jest. The child speaks JSON lines (see the
 * fixture); this side waits for its events and sends it commands.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { builtPackages, childEnv, PACKAGES as OWN_PACKAGES } from '../child-script'

// RELIABILITY_PACKAGES points the children at another checkout's built packages (to check a fix).
const PACKAGES = process.env.RELIABILITY_PACKAGES ?? OWN_PACKAGES
const FIXTURE = resolve(__dirname, '..', '..', 'fixtures', 'reliability', 'app.cjs')

/** What the child `require()`s: the built packages and the tests' framework aliases. */
const MODULES = {
  ...builtPackages(PACKAGES),
  api: require.resolve('@opentelemetry/api'),
  express5: require.resolve('express5'),
  koa3: require.resolve('koa3'),
  router: require.resolve('@koa/router'),
}

export interface ChildAppConfig {
  framework: 'express5' | 'koa3'
  /** setupTracing() options (JSON). */
  tracing: Record<string, unknown>
  /** traceweave() options (JSON). */
  middleware?: Record<string, unknown>
  /** Routes /g0/items/:id ... /g<n-1>/items/:id (default 1). */
  routeGroups?: number
  /** Watch every request with a FinalizationRegistry. */
  trackRequests?: boolean
  /** Start with --expose-gc, so `stats` reports the heap after a full GC. */
  exposeGc?: boolean
  watchdogMillis?: number
}

export interface ChildStats {
  heapUsed: number
  rss: number
  stats: Record<string, unknown> & { droppedSpans: number }
  finished: number
  started: number
  collected: number
}

export interface ChildApp {
  readonly port: number
  readonly stderr: () => string
  /** Resolves with the next event named `name` (or one already printed and not yet taken). */
  next<T = Record<string, unknown>>(name: string): Promise<T>
  stats(): Promise<ChildStats>
  command(line: string): void
  kill(signal: NodeJS.Signals): void
  /** Resolves when the process is gone, with how it ended and when (performance.now()). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; atMs: number }>
}

const running = new Set<{ kill(signal: NodeJS.Signals): boolean }>()

/** Kills every child app still running (call it in `afterAll`, so a failed test leaves none behind). */
export function killChildApps(): void {
  for (const child of running) child.kill('SIGKILL')
  running.clear()
}

/** Starts the service and resolves once it listens. */
export async function startChildApp(
  config: ChildAppConfig,
  env: Record<string, string> = {},
): Promise<ChildApp> {
  if (!existsSync(MODULES.node)) {
    throw new Error(
      `${MODULES.node} is missing: the reliability suite runs the built packages; run pnpm build`,
    )
  }
  const child = spawn(process.execPath, [...(config.exposeGc ? ['--expose-gc'] : []), FIXTURE], {
    env: childEnv({ ...env, RELIABILITY_APP: JSON.stringify({ ...config, modules: MODULES }) }),
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  running.add(child)
  child.on('exit', () => running.delete(child))
  let stderr = ''
  let stdout = ''
  const events: Array<Record<string, unknown>> = []
  const waiters: Array<{ name: string; done: (event: Record<string, unknown>) => void }> = []
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; atMs: number }>((done) =>
    child.on('exit', (code, signal) => done({ code, signal, atMs: performance.now() })),
  )
  const deliver = () => {
    for (let i = 0; i < waiters.length; i++) {
      const waiter = waiters[i]!
      const index = events.findIndex((event) => event.event === waiter.name)
      if (index >= 0) {
        waiters.splice(i--, 1)
        waiter.done(events.splice(index, 1)[0]!)
      }
    }
  }
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString()
    let newline
    while ((newline = stdout.indexOf('\n')) >= 0) {
      const line = stdout.slice(0, newline)
      stdout = stdout.slice(newline + 1)
      try {
        events.push(JSON.parse(line) as Record<string, unknown>)
      } catch {
        stderr += `(stdout) ${line}\n`
      }
    }
    deliver()
  })
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  child.stdin.on('error', () => {}) // the child may be gone when a command is written
  const next = <T>(name: string) =>
    new Promise<T>((done, fail) => {
      waiters.push({ name, done: done as (event: Record<string, unknown>) => void })
      deliver()
      void exited.then((how) =>
        fail(new Error(`child exited (${JSON.stringify(how)}) before "${name}"; stderr:\n${stderr}`)),
      )
    })
  const ready = await next<{ port: number }>('ready')
  return {
    port: ready.port,
    stderr: () => stderr,
    next,
    stats() {
      child.stdin.write('stats\n')
      return next<ChildStats>('stats')
    },
    command: (line) => child.stdin.write(`${line}\n`),
    kill: (signal) => child.kill(signal),
    exited,
  }
}

/** How a script run ended and what it printed. */
export interface ScriptResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/**
 * Runs test/fixtures/reliability/<name> to its end with `config` in `envName` (JSON, with the module
 * paths added as `modules`) and `nodeArgs` before the script.
 */
export function runFixture(
  name: string,
  envName: string,
  config: Record<string, unknown>,
  nodeArgs: string[] = [],
): Promise<ScriptResult> {
  const modules = { ...MODULES, axios: require.resolve('axios') }
  const child = spawn(process.execPath, [...nodeArgs, resolve(FIXTURE, '..', name)], {
    env: childEnv({ [envName]: JSON.stringify({ ...config, modules }) }),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  running.add(child)
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  return new Promise((done) =>
    child.on('close', (code, signal) => {
      running.delete(child)
      done({ code, signal, stdout, stderr })
    }),
  )
}
