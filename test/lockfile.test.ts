import { readFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * One copy of each OpenTelemetry package in the workspace lockfile: two copies of `@opentelemetry/api`
 * or of the SDK's `core` mean two registries of globals, and spans silently go nowhere.
 * (The OTel 3.x compatibility suite in test/otel3 has a lockfile of its own, outside this one.)
 */
function versionsByPackage(lockfile: string): Map<string, Set<string>> {
  const section = lockfile.slice(lockfile.indexOf('\npackages:\n'), lockfile.indexOf('\nsnapshots:\n'))
  const versions = new Map<string, Set<string>>()
  // Entries look like `  '@opentelemetry/core@2.12.0':` or `  express@5.3.0:`
  for (const match of section.matchAll(/^ {2}'?((?:@[^@/\s]+\/)?[^@\s']+)@([^'(:\s]+)/gm)) {
    const [, name, version] = match
    if (!versions.has(name!)) versions.set(name!, new Set())
    versions.get(name!)!.add(version!)
  }
  return versions
}

describe('pnpm-lock.yaml', () => {
  const versions = versionsByPackage(readFileSync(join(__dirname, '..', 'pnpm-lock.yaml'), 'utf8'))
  const otel = [...versions].filter(([name]) => name.startsWith('@opentelemetry/'))

  it('lists the pinned OpenTelemetry SDK packages', () => {
    for (const name of [
      'api',
      'core',
      'sdk-trace-base',
      'sdk-trace-node',
      'resources',
      'context-async-hooks',
    ]) {
      expect(versions.get(`@opentelemetry/${name}`)).toBeDefined()
    }
    expect([...versions.get('@opentelemetry/api')!]).toEqual(['1.9.0'])
    expect([...versions.get('@opentelemetry/sdk-trace-node')!]).toEqual(['2.12.0'])
    expect([...versions.get('@opentelemetry/exporter-trace-otlp-http')!]).toEqual(['0.223.0'])
  })

  it.each(otel.map(([name, set]) => [name, [...set]] as const))('has one copy of %s', (_name, found) => {
    expect(found).toHaveLength(1)
  })
})
