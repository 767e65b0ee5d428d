import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'

// These tests load the published shape of the packages (dist/, through the exports map), so they need
// a build: `pnpm build` (the README's test command builds first).
const fixtures = join(__dirname, 'fixtures', 'module-formats')
const built = existsSync(join(__dirname, '..', 'packages', 'core', 'dist', 'index.mjs'))
const runNode = (file: string) =>
  JSON.parse(execFileSync(process.execPath, [join(fixtures, file)], { encoding: 'utf8' }))

describe('ESM and CommonJS load one copy of @traceweave/core', () => {
  beforeAll(() => {
    if (!built) throw new Error('packages/core/dist is missing: run `pnpm build` before these tests')
  })

  it('an ESM app and a CommonJS library it loads share functions and request state', () => {
    const report = runNode('esm-app.mjs')
    expect(report.sameTrace).toBe(true)
    expect(report.sameDefault).toBe(true)
    expect(report.sharedState).toBe(true)
    // Every public name of the CommonJS build is also a named ESM export.
    expect(report.namedExports).toEqual(report.cjsExports)
  })

  it('a CommonJS app gets the same module from require() and import()', () => {
    expect(runNode('cjs-app.cjs')).toEqual({ sameTrace: true, sameDefault: true })
  })
})

describe('trace() on the built package', () => {
  it('does not hide a rejection its caller never handles: Node still reports it', () => {
    if (!built) throw new Error('packages/core/dist is missing: run `pnpm build` before these tests')
    expect(runNode('unhandled-rejection.cjs')).toEqual({ unhandled: true })
  })
})
