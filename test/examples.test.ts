/**
 * The examples as a user runs them: each with its one command (`node examples/<name>/server.mjs
 * --once`) in a child process, against the built packages; and the collector example, which cannot run
 * here, checked as YAML with its pipeline cross-checked.
 */
import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, resolve } from 'node:path'

const ROOT = resolve(__dirname, '..')
const EXAMPLES = join(ROOT, 'examples')

beforeAll(() => {
  for (const name of ['node', 'express', 'koa', 'client', 'core']) {
    const dist = join(ROOT, 'packages', name, 'dist', 'index.js')
    if (!existsSync(dist))
      throw new Error(`${dist} is missing: the examples run the built packages; run pnpm build first`)
  }
})

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

function runExample(name: string): Promise<Run> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [join(EXAMPLES, name, 'server.mjs'), '--once'],
      // A hung example fails the test instead of outliving it.
      { cwd: ROOT, timeout: 30_000, env: { ...process.env, NO_COLOR: '1' } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0
        done({ code, stdout, stderr })
      },
    )
  })
}

describe('each example runs with its one command (--once), sends itself requests, prints and exits 0', () => {
  it('express-basic: request IDs made up or taken from x-request-id, a span per route, errors answered', async () => {
    const run = await runExample('express-basic')
    expect(run).toMatchObject({ code: 0 })
    expect(run.stdout).toContain('GET /hello/grace -> 200, x-request-id my-request-42')
    expect(run.stdout).toMatch(/GET \/hello\/ada -> 200, x-request-id [0-9a-f-]{36}/)
    expect(run.stdout).toContain('GET /boom -> 500')
    expect(run.stdout).toContain('GET /hello/:name')
    expect(run.stdout).toContain('compose greeting')
    expect(run.stdout).toContain('request.id=my-request-42')
  }, 40_000)

  it('koa-basic: the user identified after auth, the session operation counted, a custom span', async () => {
    const run = await runExample('koa-basic')
    expect(run).toMatchObject({ code: 0 })
    expect(run.stdout).toContain('GET /profile as nobody -> 401')
    expect(run.stdout).toContain('load profile')
    expect(run.stdout).toContain('user.id=ada')
    expect(run.stdout).toContain('session.id=session-1')
    expect(run.stdout).toContain('session.operation_number=2')
  }, 40_000)

  it('outgoing: fetch and axios carry trace headers to propagateTo only; tracedRetry retries the flaky call', async () => {
    const run = await runExample('outgoing')
    expect(run).toMatchObject({ code: 0 })
    expect(run.stdout).toContain('fetch to internal: received traceparent')
    expect(run.stdout).toContain('axios to internal: received traceparent')
    expect(run.stdout).toContain('fetch to partner (outside propagateTo): received no trace headers')
    expect(run.stdout).toContain('tracedRetry, after 2 failures: received traceparent')
    expect(run.stdout).toContain('retry.attempt=3')
  }, 40_000)

  it('logging: every pino line of a request carries trace_id, span_id and request.id; others none', async () => {
    const run = await runExample('logging')
    expect(run).toMatchObject({ code: 0 })
    const lines = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
    const listening = lines.find((line) => line.msg === 'listening')
    expect(listening).toBeDefined()
    expect(listening).not.toHaveProperty('trace_id')
    const ofRequest = lines.filter((line) => line['request.id'] === 'demo-7')
    expect(ofRequest.map((line) => line.msg)).toEqual([
      'loading order',
      'querying the database',
      'order loaded',
    ])
    for (const line of ofRequest) {
      expect(line.trace_id).toMatch(/^[0-9a-f]{32}$/)
      expect(line.span_id).toMatch(/^[0-9a-f]{16}$/)
      expect(line.trace_id).toBe(ofRequest[0]!.trace_id)
    }
    // The line inside trace('load order') names that span, not the request's.
    expect(ofRequest[1]!.span_id).not.toBe(ofRequest[0]!.span_id)
    const other = lines.find((line) => line['request.id'] === 'demo-8')
    expect(other?.trace_id).not.toBe(ofRequest[0]!.trace_id)
  }, 40_000)
})

type YamlParse = (text: string) => unknown

/**
 * A YAML parser from the workspace's own tree: `yaml` (through @changesets/cli) or `js-yaml` (through
 * eslint). Neither is a dependency of ours, so they are reached through the packages that bring them.
 */
function findYamlParser(): { name: string; parse: YamlParse } | undefined {
  const chains: Array<[string[], string, (module: Record<string, unknown>) => YamlParse]> = [
    [['@changesets/cli', '@changesets/read', '@changesets/parse'], 'yaml', (m) => m.parse as YamlParse],
    [['eslint', '@eslint/eslintrc'], 'js-yaml', (m) => m.load as YamlParse],
  ]
  for (const [path, parser, pick] of chains) {
    try {
      let from = createRequire(join(ROOT, 'package.json'))
      for (const step of path) from = createRequire(from.resolve(`${step}/package.json`))
      return { name: parser, parse: pick(from(parser) as Record<string, unknown>) }
    } catch {
      // not in this tree: try the next
    }
  }
  return undefined
}

describe('examples/collector (not run in CI: checked as YAML only)', () => {
  const yaml = findYamlParser()
  const read = (file: string) => readFileSync(join(EXAMPLES, 'collector', file), 'utf8')

  it('finds a YAML parser in the workspace tree', () => {
    expect(yaml?.name).toMatch(/^(yaml|js-yaml)$/)
  })

  it('the compose file parses and runs the collector and Jaeger, published on loopback only', () => {
    const compose = yaml!.parse(read('docker-compose.yml')) as {
      services: Record<string, { image: string; ports?: string[]; volumes?: string[] }>
    }
    expect(Object.keys(compose.services).sort()).toEqual(['jaeger', 'otel-collector'])
    const collector = compose.services['otel-collector']!
    expect(collector.image).toMatch(/^otel\/opentelemetry-collector-contrib:/)
    expect(collector.ports).toContain('127.0.0.1:4318:4318')
    expect(collector.volumes?.[0]).toMatch(/^\.\/otel-collector\.yaml:/)
    for (const service of Object.values(compose.services))
      for (const port of service.ports ?? []) expect(port).toMatch(/^127\.0\.0\.1:/)
  })

  it('the collector config parses; its pipeline names only defined parts and tail-samples before Jaeger', () => {
    const config = yaml!.parse(read('otel-collector.yaml')) as {
      receivers: Record<string, unknown>
      processors: Record<string, { policies?: Array<{ name: string; type: string }> }>
      exporters: Record<string, { endpoint?: string }>
      extensions: Record<string, unknown>
      service: {
        extensions: string[]
        pipelines: Record<string, { receivers: string[]; processors: string[]; exporters: string[] }>
      }
    }
    const traces = config.service.pipelines.traces!
    for (const name of traces.receivers) expect(config.receivers).toHaveProperty([name])
    for (const name of traces.processors) expect(config.processors).toHaveProperty([name])
    for (const name of traces.exporters) expect(config.exporters).toHaveProperty([name])
    for (const name of config.service.extensions) expect(config.extensions).toHaveProperty([name])
    // memory_limiter first, batch last: the collector's documented order.
    expect(traces.processors).toEqual(['memory_limiter', 'tail_sampling', 'batch'])
    const policies = config.processors.tail_sampling!.policies!.map((policy) => policy.type)
    expect(policies).toEqual(expect.arrayContaining(['status_code', 'latency', 'string_attribute']))
    expect(config.exporters[traces.exporters[0]!]!.endpoint).toBe('jaeger:4317')
  })
})
