/**
 * Issue 10, two lifetimes that a collector which never answers used to stretch:
 * - a request's objects (`req`, `res`, the parsed body) must not live as long as its spans wait for
 *   export, whatever the sampling mode ("Cut the link when the decision is made or the request ends;
 *   a finished span must never keep its request");
 * - `shutdown()` resolves within `exitTimeoutMillis`, and the spans it gave up are counted.
 * The service runs in a child process (test/fixtures/lifetimes/hung-collector-app.cjs) with the built
 * packages and `--expose-gc`: the OTLP exporter cannot run in jest's sandbox (see node-otlp.test.ts),
 * and a heap figure needs a process of its own. The collector is a server on 127.0.0.1 that accepts
 * every connection and never answers, the worst a network can do to an exporter.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { childEnv, MODULES } from './support/child-script'
import { listen, type ListeningServer } from './support/servers'

const APP = resolve(__dirname, 'fixtures', 'lifetimes', 'hung-collector-app.cjs')
const BUILT = MODULES.node

let collector: ListeningServer
let hungUrl: string
let answeringUrl: string

beforeAll(async () => {
  if (!existsSync(BUILT))
    throw new Error(`${BUILT} is missing: these tests run the built packages; run pnpm build`)
  // `/hung` reads the export and never answers; `/ok` answers like a collector that accepted it.
  collector = await listen((req, res) => {
    req.resume()
    if (req.url === '/ok')
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'))
  })
  hungUrl = `${collector.url}/hung`
  answeringUrl = `${collector.url}/ok`
})
afterAll(async () => {
  await collector.close()
})

/** What the app prints: the figures of one scenario (see the fixture's header). */
interface AppResult {
  decide?: string
  requests?: number
  heapGrowthMB?: number
  reqCollected?: number
  droppedSpans?: number
  shutdownMillis?: number
  stats?: { droppedSpans: number; exportedSpans: number; unflushedSpans: number }
}

/** Runs one scenario of the app in a new process and returns the JSON line it prints. */
function runApp(scenario: string, url: string, options: object): Promise<AppResult> {
  const env = childEnv()
  return new Promise((done, fail) => {
    execFile(
      process.execPath,
      ['--expose-gc', APP, scenario, url, JSON.stringify(options)],
      { env, timeout: 40_000 },
      (error, stdout, stderr) => {
        if (error) return fail(new Error(`${scenario} failed: ${error.message}\n${stderr}`))
        done(JSON.parse(stdout.trim().split('\n').pop()!) as AppResult)
      },
    )
  })
}

// 2,000 POSTs of 56 KiB JSON through Express 4 with traceweave(), every trace kept, every span stuck in
// the export queue (2,048 spans) or in the export the collector never answers. Measured: before the
// fix, `decide: 'deferred'` grew the heap by ~255 MB and no `req` was collected; after it, ~7 MB and
// all but a few were, as `decide: 'start'` did all along (~3 MB). The bound sits far from both.
const REQUESTS = 2000
const HEAP_GROWTH_BOUND_MB = 40
// A few requests may still be referenced by the server's sockets when the heap is measured.
const MIN_COLLECTED = REQUESTS - 40

describe('a request is collected while its spans wait for a collector that never answers', () => {
  it.each(['deferred', 'start'])(
    "decide: '%s' keeps no request alive once answered: its req objects are collected and the heap stays bounded",
    async (decide) => {
      const result = await runApp('retention', hungUrl, { decide, requests: REQUESTS, bodyKiB: 56 })
      expect(result).toMatchObject({ decide, requests: REQUESTS, droppedSpans: 0 })
      expect(result.reqCollected).toBeGreaterThanOrEqual(MIN_COLLECTED)
      expect(result.heapGrowthMB).toBeLessThan(HEAP_GROWTH_BOUND_MB)
    },
    60_000,
  )
})

describe('shutdown() is bounded by exitTimeoutMillis', () => {
  // The OTLP exporter's own request timeout is 10 s: before the fix shutdown() waited for it (~10 s).
  const EXIT_TIMEOUT = 2000
  // Generous for a loaded machine, and far below the 10 s the exporter would wait.
  const LATEST = EXIT_TIMEOUT + 2000

  it('resolves within exitTimeoutMillis when the collector never answers, and counts the spans it gave up', async () => {
    const result = await runApp('shutdown', hungUrl, { spans: 20, exitTimeoutMillis: EXIT_TIMEOUT })
    expect(result.shutdownMillis).toBeGreaterThanOrEqual(EXIT_TIMEOUT - 50)
    expect(result.shutdownMillis).toBeLessThan(LATEST)
    expect(result.stats).toMatchObject({ droppedSpans: 0, exportedSpans: 0, unflushedSpans: 20 })
  })

  it('counts nothing unflushed when the collector answers in time', async () => {
    const result = await runApp('shutdown', answeringUrl, { spans: 20, exitTimeoutMillis: EXIT_TIMEOUT })
    expect(result.shutdownMillis).toBeLessThan(LATEST)
    expect(result.stats).toMatchObject({ droppedSpans: 0, exportedSpans: 20, unflushedSpans: 0 })
  })
})
