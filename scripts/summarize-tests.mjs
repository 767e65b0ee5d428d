// Adds up jest --json result files and prints the plain closing line CI reads: "N passed, M failed".
// A result file that is missing (a run that crashed) or a failed setup step counts as a failure.
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

const [dir, setupFailuresArg = '0'] = process.argv.slice(2)
const expected = ['node20.json', 'node24.json', 'node26.json']
let passed = 0
let failed = Number(setupFailuresArg)
const present = new Set(readdirSync(dir))
// The reliability suite's figures (test/support/reliability/run-config.ts): printed, not counted.
for (const file of [...present].filter((name) => /^reliability-node\d+\.json$/.test(name)).sort()) {
  const summary = JSON.parse(readFileSync(join(dir, file), 'utf8'))
  const areas = Object.entries(summary).filter(([name]) => name !== 'total')
  console.log(
    `${file}: reliability suite ${(Number(summary.total?.elapsedMs ?? 0) / 1000).toFixed(1)} s over ${areas.length} areas`,
  )
  for (const [area, figures] of areas) {
    const { node: _node, at: _at, ...shown } = figures
    console.log(`  ${area}: ${JSON.stringify(shown)}`)
  }
}
for (const file of new Set([...expected, ...present])) {
  if (!file.endsWith('.json') || file.startsWith('reliability-')) continue
  if (!present.has(file)) {
    console.log(`${file}: no results (the run crashed before reporting)`)
    failed += 1
    continue
  }
  const report = JSON.parse(readFileSync(join(dir, file), 'utf8'))
  const suiteErrors = report.numRuntimeErrorTestSuites ?? 0
  console.log(
    `${file}: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${suiteErrors} suites failed to run`,
  )
  passed += report.numPassedTests
  failed += report.numFailedTests + suiteErrors
  if (report.numTotalTests === 0) failed += 1 // a run that executed nothing is a failure, not a pass
}
if (Number(setupFailuresArg) > 0)
  console.log(`${setupFailuresArg} setup step(s) failed (install, build or lint)`)
console.log(`${passed} passed, ${failed} failed`)
process.exit(failed > 0 ? 1 : 0)
