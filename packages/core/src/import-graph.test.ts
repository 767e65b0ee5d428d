import { readdirSync, readFileSync } from 'node:fs'
import { join, relative, resolve, dirname, sep } from 'node:path'

// Core's folders import one way, from the concerns that build on others down to the ones they use
// (LAYERS, lowest first: helpers use only internal; the server lifecycle may use every other folder):
// a lower folder never imports a higher one (type-only imports included: they couple as much).
// The request record (correlation/request-state.ts) is the one shared contract: every folder may
// import it, and the layers above reach lower ones through its typed hooks, never by import.
const LAYERS = ['internal', 'helpers', 'propagation', 'correlation', 'sampling', 'server'] as const
const SHARED_RECORD = 'correlation/request-state.ts'
const SRC = __dirname

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(path)
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : []
  })
}

/** Relative imports of a file (static, `import type`, re-exports and dynamic `import()`), as files under src. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const specifiers = [...text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)'(\.{1,2}\/[^']+)'/g)].map(
    (m) => m[1]!,
  )
  return specifiers.map((specifier) => {
    const target = relative(SRC, resolve(dirname(file), specifier))
      .split(sep)
      .join('/')
    return target.endsWith('.ts') ? target : `${target}.ts`
  })
}

function layerOf(path: string): number | undefined {
  const folder = path.includes('/') ? path.slice(0, path.indexOf('/')) : undefined
  if (folder === undefined) return undefined // index.ts, internal-api.ts: the package's entry points
  const index = (LAYERS as readonly string[]).indexOf(folder)
  if (index === -1) throw new Error(`core/src/${folder} is in no layer: add it to LAYERS`)
  return index
}

/** Why `from` must not import `to`, or `undefined` when it may. */
function violation(from: string, to: string): string | undefined {
  if (to === SHARED_RECORD) return undefined
  const a = layerOf(from)
  const b = layerOf(to)
  if (a === undefined) return undefined
  if (b === undefined) return `${from} imports the package entry ${to}`
  return b > a ? `${from} imports ${to} (${LAYERS[a]} is below ${LAYERS[b]})` : undefined
}

test("core's folders import one way: no folder imports one above it, only the request record is shared", () => {
  const edges = sourceFiles(SRC).flatMap((file) => {
    const from = relative(SRC, file).split(sep).join('/')
    return importsOf(file).map((to) => [from, to] as const)
  })
  // The graph was read: cross-folder edges exist (a parser that finds nothing would pass anything).
  expect(edges.filter(([from, to]) => from.split('/')[0] !== to.split('/')[0]).length).toBeGreaterThan(30)
  expect(edges.map(([from, to]) => violation(from, to)).filter((v) => v !== undefined)).toEqual([])
})

test('the rule flags the imports the record hooks replaced', () => {
  expect(violation('propagation/propagator.ts', 'sampling/deferred.ts')).toMatch(
    /propagation is below sampling/,
  )
  expect(violation('propagation/propagator.ts', 'server/registry.ts')).toMatch(/below server/)
  expect(violation('correlation/user.ts', 'server/registry.ts')).toMatch(/correlation is below server/)
  expect(violation('propagation/propagator.ts', SHARED_RECORD)).toBeUndefined()
  expect(violation('server/lifecycle.ts', 'correlation/session.ts')).toBeUndefined()
})
