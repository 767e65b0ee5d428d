import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { AxiosAdapterLike } from './axios'

/** axios's `getAdapter(adapters, config)`: resolves adapter names (`'http'`, `'fetch'`) to functions. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- axios's own signature must be assignable here
export type GetAdapter = (adapters: any, config?: any) => AxiosAdapterLike

/** What an axios module's default export (the default instance) exposes that we read. */
interface AxiosModuleLike {
  getAdapter?: unknown
  interceptors?: { request?: object }
}

/**
 * Finds `getAdapter` of the axios copy that made `instance`: an `axios.create()` instance does not
 * carry it. axios ships two copies, a CommonJS build (what `require('axios')` loads) and an ESM build
 * (what `import` loads); each has its own `AxiosError` class, so the adapter must come from the
 * instance's own copy or its errors would fail `instanceof AxiosError` and `axios.isAxiosError`.
 * A copy is recognised by the class of its interceptor managers, which every instance of it shares.
 * Looks at the CommonJS copies already loaded, then at the ESM build of the `axios` the app resolves
 * (loaded with `require(esm)`, Node 20.19+ and 22.12+, which returns the module `import` loaded).
 * Runs once, at setup. `undefined` when no copy matches (a bundled app, an older Node).
 */
export function findGetAdapter(instance: unknown): GetAdapter | undefined {
  const interceptors = (instance as AxiosModuleLike | undefined)?.interceptors?.request
  if (typeof interceptors !== 'object' || interceptors === null) return undefined
  const matches = (candidate: unknown): candidate is { getAdapter: GetAdapter } => {
    const axios = candidate as AxiosModuleLike | undefined
    return (
      typeof axios?.getAdapter === 'function' &&
      typeof axios.interceptors?.request === 'object' &&
      axios.interceptors.request !== null &&
      axios.interceptors.request.constructor === interceptors.constructor
    )
  }
  try {
    for (const candidate of loadedCommonJsCopies()) if (matches(candidate)) return candidate.getAdapter
    for (const candidate of esmCopies()) if (matches(candidate)) return candidate.getAdapter
  } catch {
    // A module whose exports throw when read: not axios. The caller reports that none was found.
  }
  return undefined
}

const AXIOS_PATH = /[\\/]axios[\\/]/

function* loadedCommonJsCopies(): Generator<unknown> {
  for (const [file, module] of Object.entries(require.cache)) {
    if (AXIOS_PATH.test(file) && module !== undefined) yield module.exports
  }
}

/** Places the app's `axios` is resolved from: its entry script, its working directory, this package. */
function resolutionBases(): string[] {
  const bases = [join(process.cwd(), 'noop.js'), __filename]
  if (typeof process.argv[1] === 'string' && process.argv[1] !== '') bases.unshift(process.argv[1])
  return bases
}

function* esmCopies(): Generator<unknown> {
  const features = process.features as { require_module?: boolean }
  if (features.require_module !== true) return
  const seen = new Set<string>()
  for (const base of resolutionBases()) {
    let entry: string | undefined
    try {
      entry = esmEntry(createRequire(base).resolve('axios'))
    } catch {
      continue // no axios resolvable from there
    }
    if (entry === undefined || seen.has(entry)) continue
    seen.add(entry)
    try {
      const namespace = createRequire(base)(entry) as { default?: unknown }
      yield namespace.default ?? namespace
    } catch {
      // not loadable synchronously (top-level await, an older Node): no candidate
    }
  }
}

/** The file `import 'axios'` loads, from the file `require('axios')` resolved to. */
function esmEntry(resolved: string): string | undefined {
  for (let dir = dirname(resolved); dir !== dirname(dir); dir = dirname(dir)) {
    let manifest: { name?: unknown; exports?: unknown; module?: unknown }
    try {
      manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
    } catch {
      continue
    }
    if (manifest.name !== 'axios') continue
    const root = (manifest.exports as Record<string, unknown> | undefined)?.['.']
    const target = importTarget(root)
    return target === undefined ? undefined : join(dir, target)
  }
  return undefined
}

// The conditions Node matches for `import` (key order in the manifest decides, as in Node).
const IMPORT_CONDITIONS = new Set(['node', 'import', 'default'])

function importTarget(target: unknown): string | undefined {
  if (typeof target === 'string') return target
  if (typeof target !== 'object' || target === null || Array.isArray(target)) return undefined
  for (const [condition, value] of Object.entries(target)) {
    if (!IMPORT_CONDITIONS.has(condition)) continue
    const found = importTarget(value)
    if (found !== undefined) return found
  }
  return undefined
}
