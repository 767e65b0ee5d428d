import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'

// traceAxios(axios.create()) without getAdapter, in an ESM app and in a CommonJS app, each a child
// process loading the BUILT packages (dist/, through the exports map), as a user's app would: run
// `pnpm build` first (the README's test command builds first). axios ships a CommonJS and an ESM
// build, each with its own AxiosError class; a traced instance's errors must keep the class the app
// imported.
const fixtures = join(__dirname, 'fixtures', 'axios-formats')
const built = existsSync(join(__dirname, '..', 'packages', 'client', 'dist', 'index.mjs'))
const runNode = (file: string) =>
  JSON.parse(execFileSync(process.execPath, [join(fixtures, file)], { encoding: 'utf8', timeout: 60_000 }))

const expectedPerAdapter = { traced: true, instanceOfAxiosError: true, isAxiosError: true, status: 404 }

describe('traceAxios(axios.create()) just works in both module formats', () => {
  beforeAll(() => {
    if (!built) throw new Error('packages/client/dist is missing: run `pnpm build` before these tests')
  })

  it('an ESM app (with the CommonJS copy loaded too): traced, and errors are its own AxiosError', () => {
    const report = runNode('esm-app.mjs')
    expect(report.twoCopies).toBe(true)
    expect(report.http).toEqual(expectedPerAdapter)
    expect(report.fetch).toEqual(expectedPerAdapter)
    // The trap the lookup avoids: the other copy's adapter makes errors of the other class.
    expect(report.otherCopy).toEqual({ instanceOfAxiosError: false })
  })

  it('a CommonJS app: traced, and errors are its own AxiosError', () => {
    const report = runNode('cjs-app.cjs')
    expect(report.http).toEqual(expectedPerAdapter)
    expect(report.fetch).toEqual(expectedPerAdapter)
  })
})
