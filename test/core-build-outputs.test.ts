import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { TRACER_VERSION } from '../packages/core/src/internal/tracer'

// What the core build produces from its package.json, and what it leaves out (run `pnpm build` first).
const core = join(__dirname, '..', 'packages', 'core')

test('the instrumentation scope version is the version in @traceweave/core package.json', () => {
  const { version } = JSON.parse(readFileSync(join(core, 'package.json'), 'utf8')) as { version: string }
  expect(TRACER_VERSION).toBe(version)
  const built = require(join(core, 'dist', 'internal', 'tracer.js')) as { TRACER_VERSION: string }
  expect(built.TRACER_VERSION).toBe(version)
})

test('the seeded test trace IDs (sampling/test-ids) are not shipped, in dist or src', () => {
  const output = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: core,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  })
  const [packed] = JSON.parse(output) as Array<{ files: Array<{ path: string }> }>
  const paths = packed!.files.map((file) => file.path)
  expect(paths).toContain('dist/sampling/sampler.js')
  expect(paths.filter((path) => path.includes('test-ids'))).toEqual([])
})
