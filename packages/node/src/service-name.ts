import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

/** The name OpenTelemetry uses when a Node service names itself nowhere. */
export const UNKNOWN_SERVICE_NAME = 'unknown_service:node'

// Walking past this many directories means a pathological cwd; stop rather than loop.
const MAX_DEPTH = 64

/**
 * The `name` of the nearest package.json at or above `startDir`, or `undefined`. Synchronous file
 * reads: called once at setup, never on the request path. A package.json that cannot be parsed or has
 * no string `name` ends the search (it marks the project root even when nameless).
 */
export function findPackageName(startDir: string = process.cwd()): string | undefined {
  let dir = startDir
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const file = join(dir, 'package.json')
    if (existsSync(file)) {
      try {
        const { name } = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown }
        return typeof name === 'string' && name.trim() !== '' ? name : undefined
      } catch {
        return undefined
      }
    }
    const parent = dirname(dir)
    if (parent === dir) return undefined
    dir = parent
  }
  return undefined
}

/**
 * The fallback service name when neither the option, `OTEL_SERVICE_NAME` nor `service.name` in
 * `OTEL_RESOURCE_ATTRIBUTES` names the service: the nearest package.json's name, else
 * `unknown_service:node`.
 */
export function detectServiceName(startDir: string = process.cwd()): string {
  return findPackageName(startDir) ?? UNKNOWN_SERVICE_NAME
}
