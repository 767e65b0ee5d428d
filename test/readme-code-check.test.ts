import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'

// scripts/check-readme-code.mjs compiles the docs' code blocks against the built packages (dist/),
// so this test needs `pnpm build` first, like module-formats.test.ts.
const root = join(__dirname, '..')
const built = existsSync(join(root, 'packages', 'express', 'dist', 'index.d.ts'))

function check(fixture: string): Promise<{ code: number; stdout: string; stderr: string }> {
  if (!built) throw new Error('packages/*/dist is missing: run `pnpm build` before this test')
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(root, 'scripts', 'check-readme-code.mjs'), `test/fixtures/readme-code/${fixture}`],
      { cwd: root },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    )
  })
}

describe('scripts/check-readme-code.mjs', () => {
  test('fails on a broken block, naming the Markdown file and line of each problem', async () => {
    const { code, stderr } = await check('broken.md')
    expect(code).toBe(1)
    const file = 'test/fixtures/readme-code/broken.md'
    // The Koa quick start's old mistake: a router used but never declared.
    expect(stderr).toContain(`${file}:13: TS2304 Cannot find name 'router'.`)
    // A typo in an option callback: the request is Express's own type.
    expect(stderr).toContain(`${file}:21: TS2551 Property 'gett' does not exist`)
    // A mismatch after a code-check context.
    expect(stderr).toContain(`${file}:29: TS2322`)
    // Imports of packages the install command does not list.
    expect(stderr).toContain(`${file}:16: the ts block imports @traceweave/core, which no install command`)
    expect(stderr).toContain(`${file}:16: the ts block imports @traceweave/express, which no install command`)
    expect(stderr).toContain(`${file}:32: code-check skip needs a reason`)
    expect(stderr).toMatch(/check-readme-code: 6 problem\(s\) in 3 code blocks in 1 files, 1 skipped/)
  }, 60_000)

  test('passes blocks that compile, with a context for fragments, a skipped block and a js block', async () => {
    const { code, stdout, stderr } = await check('fine.md')
    expect(stderr).toBe('')
    expect(code).toBe(0)
    expect(stdout).toContain('check-readme-code: 3 code blocks in 1 files, 1 skipped type-check')
  }, 60_000)
})
