import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, posix } from 'node:path'

// What `npm pack` puts in each tarball, from the built packages (run `pnpm build` first). Source maps
// are only useful if what they point at ships too: every `sources` entry of every shipped map, and
// every `sourceMappingURL` of every shipped script, must name a file of the same tarball.
const root = join(__dirname, '..')
const PACKAGES = ['core', 'node', 'express', 'koa', 'client', 'view']

function packedFiles(pkg: string): string[] {
  const dir = join(root, 'packages', pkg)
  if (!existsSync(join(dir, 'dist')))
    throw new Error(`packages/${pkg}/dist is missing: run \`pnpm build\` first`)
  const output = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  })
  const [packed] = JSON.parse(output) as Array<{ files: Array<{ path: string }> }>
  return packed!.files.map((file) => file.path)
}

describe.each(PACKAGES)('the @traceweave/%s tarball', (pkg) => {
  const files = packedFiles(pkg)
  const shipped = new Set(files)
  const read = (path: string): string => readFileSync(join(root, 'packages', pkg, path), 'utf8')

  test('ships source maps whose sources are in the tarball', () => {
    const maps = files.filter((path) => path.endsWith('.map'))
    expect(maps.length).toBeGreaterThan(0)
    const missing: string[] = []
    for (const map of maps) {
      const { sources } = JSON.parse(read(map)) as { sources: string[] }
      for (const source of sources) {
        const target = posix.normalize(posix.join(dirname(map), source))
        if (!shipped.has(target)) missing.push(`${map} -> ${target}`)
      }
    }
    expect(missing).toEqual([])
  })

  test('every sourceMappingURL of a shipped file names a shipped map', () => {
    const missing: string[] = []
    for (const path of files.filter((file) => /\.(c|m)?js$|\.d\.ts$/.test(file))) {
      const match = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(read(path))
      if (match === null) continue
      const target = posix.normalize(posix.join(dirname(path), match[1]!))
      if (!shipped.has(target)) missing.push(`${path} -> ${target}`)
    }
    expect(missing).toEqual([])
  })

  test('ships no test files and no build info', () => {
    expect(files.filter((path) => /\.test\.|\.tsbuildinfo$/.test(path))).toEqual([])
  })
})
