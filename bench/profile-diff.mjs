// Compares two .cpuprofile files (from `node bench/run.mjs --profile=... --keep`) frame by frame:
// self time per request of each function in both, sorted by the difference.
//   node bench/profile-diff.mjs <a.cpuprofile> <requestsA> <b.cpuprofile> <requestsB> [--top=40]
import { readFileSync } from 'node:fs'

const [fileA, requestsA, fileB, requestsB, ...rest] = process.argv.slice(2)
const top = Number(rest.find((a) => a.startsWith('--top='))?.slice(6) ?? 40)
if (!fileB) {
  console.error('usage: node bench/profile-diff.mjs <a.cpuprofile> <requestsA> <b.cpuprofile> <requestsB>')
  process.exit(2)
}

/** µs of self time per request, by function (name and location). */
function selfPerRequest(file, requests) {
  const prof = JSON.parse(readFileSync(file, 'utf8'))
  const byId = new Map(prof.nodes.map((n) => [n.id, n]))
  const perFrame = new Map()
  const deltas = prof.timeDeltas
  let busy = 0
  for (let i = 0; i < prof.samples.length; i++) {
    const { functionName, url, lineNumber } = byId.get(prof.samples[i]).callFrame
    if (functionName === '(idle)') continue
    const us = deltas[i + 1] ?? deltas[i]
    busy += us
    const where = url ? `${shortUrl(url)}:${lineNumber + 1}` : ''
    const key = `${functionName || '(anonymous)'} ${where}`
    perFrame.set(key, (perFrame.get(key) ?? 0) + us)
  }
  for (const [key, us] of perFrame) perFrame.set(key, us / requests)
  return { perFrame, busy: busy / requests }
}

function shortUrl(url) {
  const path = url.replace(/^file:\/\//, '')
  const packages = path.indexOf('/packages/')
  if (packages !== -1) return path.slice(packages + 1)
  const modules = path.lastIndexOf('/node_modules/')
  return modules === -1 ? path.replace(/^.*\/bench\//, 'bench/') : path.slice(modules + 14)
}

const a = selfPerRequest(fileA, Number(requestsA))
const b = selfPerRequest(fileB, Number(requestsB))
console.log(`busy main-thread µs per request: A ${a.busy.toFixed(2)}, B ${b.busy.toFixed(2)}`)
const keys = new Set([...a.perFrame.keys(), ...b.perFrame.keys()])
const rows = [...keys].map((key) => {
  const x = a.perFrame.get(key) ?? 0
  const y = b.perFrame.get(key) ?? 0
  return { key, x, y, d: x - y }
})
rows.sort((p, q) => Math.abs(q.d) - Math.abs(p.d))
console.log('     A µs    B µs   A - B  frame')
for (const r of rows.slice(0, top))
  console.log(
    `${r.x.toFixed(2).padStart(9)} ${r.y.toFixed(2).padStart(7)} ${r.d.toFixed(2).padStart(7)}  ${r.key}`,
  )
