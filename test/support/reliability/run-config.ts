/**
 * The reliability suite's sizes, seed and figures. Sizes scale with `RELIABILITY_SCALE` (default 1, the
 * CI size that meets issue 14's minimums); the fast-check seed comes from `RELIABILITY_SEED` or is drawn
 * once per file and printed with every failure. Each file adds its figures to one summary per Node major,
 * `.test-results/reliability-node<major>.json`, which docs/reliability.md quotes.
 */
import { mkdirSync, readFileSync, renameSync, rmdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

const scaleText = process.env.RELIABILITY_SCALE
const SCALE = scaleText === undefined || scaleText === '' ? 1 : Number(scaleText)
if (!Number.isFinite(SCALE) || SCALE <= 0) {
  throw new RangeError(`RELIABILITY_SCALE must be a number > 0; got ${JSON.stringify(scaleText)}`)
}

/** `n` times RELIABILITY_SCALE, at least 1. */
export function scaled(n: number): number {
  return Math.max(1, Math.round(n * SCALE))
}

/** The scale this run uses. */
export const RELIABILITY_SCALE = SCALE

/** The fast-check seed of this run: RELIABILITY_SEED, else a fresh one. */
export const SEED =
  process.env.RELIABILITY_SEED !== undefined && process.env.RELIABILITY_SEED !== ''
    ? Number(process.env.RELIABILITY_SEED)
    : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0

const ROOT = resolve(__dirname, '..', '..', '..')
const NODE_MAJOR = process.versions.node.split('.')[0]
/** Where this Node version's figures go. */
export const SUMMARY_FILE = join(ROOT, '.test-results', `reliability-node${NODE_MAJOR}.json`)

/** Milliseconds since `start` (a `performance.now()` reading), rounded. */
export const elapsedSince = (start: number) => Math.round(performance.now() - start)

/**
 * Adds `figures` under `area` to this Node version's summary and prints them. Jest runs files in
 * parallel workers, so the read-merge-write holds a lock (a directory: mkdir is atomic).
 */
export function recordFigures(area: string, figures: Record<string, unknown>): void {
  const entry = { ...figures, node: process.version, scale: SCALE, seed: SEED, at: new Date().toISOString() }
  console.log(`reliability ${area}: ${JSON.stringify(entry)}`)
  mkdirSync(join(ROOT, '.test-results'), { recursive: true })
  const lock = `${SUMMARY_FILE}.lock`
  const deadline = Date.now() + 10000
  for (;;) {
    try {
      mkdirSync(lock)
      break
    } catch {
      if (Date.now() > deadline) rmdirSync(lock) // a lock left by a killed worker
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20)
    }
  }
  try {
    let summary: Record<string, unknown> = {}
    try {
      summary = JSON.parse(readFileSync(SUMMARY_FILE, 'utf8')) as Record<string, unknown>
    } catch {
      // first entry of this run
    }
    summary[area] = entry
    const total = Object.entries(summary)
      .filter(([name]) => name !== 'total')
      .reduce((sum, [, figures]) => sum + Number((figures as { elapsedMs?: number }).elapsedMs ?? 0), 0)
    summary.total = { areas: Object.keys(summary).filter((name) => name !== 'total'), elapsedMs: total }
    console.log(
      `reliability suite: ${(total / 1000).toFixed(1)} s so far (${Object.keys(summary).length - 1} areas)`,
    )
    writeFileSync(`${SUMMARY_FILE}.tmp`, `${JSON.stringify(summary, null, 2)}\n`)
    renameSync(`${SUMMARY_FILE}.tmp`, SUMMARY_FILE)
  } finally {
    rmdirSync(lock)
  }
}
