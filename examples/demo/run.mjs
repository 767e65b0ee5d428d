// The multi-service demo: gateway (Express) -> orders (Koa) -> inventory (Express), plus a partner API
// outside propagateTo. Starts each service as its own process on 127.0.0.1, sends a few requests as two
// users, then prints every trace as one tree across the services, as a tracing backend would show it.
//
// Spans go to a small OTLP/HTTP receiver in this process, unless OTEL_EXPORTER_OTLP_ENDPOINT is set:
// then they go to your collector (Jaeger, Tempo, an OpenTelemetry Collector) and the demo says where.
import { fork } from 'node:child_process'
import { createServer } from 'node:http'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'

const here = dirname(fileURLToPath(import.meta.url))
const userCollector = process.env.OTEL_EXPORTER_OTLP_ENDPOINT
const spans = []

async function startReceiver() {
  const receiver = createServer((req, res) => {
    const chunks = []
    req.on('data', (chunk) => chunks.push(chunk))
    req.on('end', () => {
      try {
        collect(JSON.parse(Buffer.concat(chunks).toString('utf8')))
      } catch {
        // not JSON: ignore, the demo only reads OTLP/JSON
      }
      res.setHeader('content-type', 'application/json')
      res.end('{}')
    })
  })
  receiver.listen(0, '127.0.0.1')
  await once(receiver, 'listening')
  return receiver
}

function collect(body) {
  for (const resourceSpans of body.resourceSpans ?? []) {
    const service = attributeValue(resourceSpans.resource?.attributes, 'service.name')
    for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
      for (const span of scopeSpans.spans ?? []) spans.push({ ...span, service })
    }
  }
}

function attributeValue(attributes = [], key) {
  const value = attributes.find((attribute) => attribute.key === key)?.value
  return value === undefined
    ? undefined
    : (value.stringValue ?? value.intValue ?? value.doubleValue ?? value.boolValue)
}

async function startService(name, env) {
  const child = fork(join(here, 'services', `${name}.mjs`), [], {
    env: { ...process.env, ...env, OTEL_SERVICE_NAME: name, OTEL_BSP_SCHEDULE_DELAY: '100' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const [message] = await Promise.race([
    once(child, 'message'),
    once(child, 'exit').then(() => {
      throw new Error(`${name} exited before listening`)
    }),
  ])
  return { name, child, url: `http://127.0.0.1:${message.port}` }
}

function printTrace(traceId, traceSpans) {
  const byParent = new Map()
  const ids = new Set(traceSpans.map((span) => span.spanId))
  for (const span of traceSpans) {
    const parent = ids.has(span.parentSpanId) ? span.parentSpanId : 'root'
    if (!byParent.has(parent)) byParent.set(parent, [])
    byParent.get(parent).push(span)
  }
  console.log(`\ntrace ${traceId}`)
  const kinds = ['', 'internal', 'server', 'client', 'producer', 'consumer']
  const show = [
    'http.route',
    'http.response.status_code',
    'request.id',
    'user.id',
    'session.operation_number',
    'http.request.resend_count',
    'retry.attempt',
    'inventory.stock',
    'url.full',
  ]
  const walk = (parent, depth) => {
    const children = (byParent.get(parent) ?? []).sort((a, b) =>
      Number(BigInt(a.startTimeUnixNano) - BigInt(b.startTimeUnixNano)),
    )
    for (const span of children) {
      const ms = Number(BigInt(span.endTimeUnixNano) - BigInt(span.startTimeUnixNano)) / 1e6
      const details = show
        .map((key) => [key, attributeValue(span.attributes, key)])
        .filter(([, value]) => value !== undefined)
        .map(([key, value]) => `${key}=${value}`)
        .join(' ')
      const error = span.status?.code === 2 ? ' ERROR' : ''
      console.log(
        `${'  '.repeat(depth)}[${span.service}] ${span.name} (${kinds[span.kind] ?? span.kind}, ${ms.toFixed(1)} ms${error}) ${details}`,
      )
      walk(span.spanId, depth + 1)
    }
  }
  walk('root', 1)
}

async function main() {
  const receiver = userCollector ? undefined : await startReceiver()
  const endpoint = userCollector ?? `http://127.0.0.1:${receiver.address().port}`
  // The in-process receiver reads OTLP/JSON; a real collector takes the default, http/protobuf.
  const otlp = {
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    OTEL_TRACES_EXPORTER: 'otlp',
    ...(userCollector ? {} : { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }),
  }
  const services = []
  try {
    const partner = await startService('partner', {})
    const inventory = await startService('inventory', otlp)
    const orders = await startService('orders', { ...otlp, INVENTORY_URL: inventory.url })
    const gateway = await startService('gateway', {
      ...otlp,
      ORDERS_URL: orders.url,
      PARTNER_URL: partner.url,
    })
    services.push(partner, inventory, orders, gateway)
    console.log(`services up: ${services.map((s) => `${s.name} ${s.url}`).join(', ')}`)

    const calls = [
      { user: 'alice', session: 'sess-alice', cart: '17' },
      { user: 'alice', session: 'sess-alice', cart: '18' },
      { user: 'bob', session: 'sess-bob', cart: '19' },
    ]
    for (const call of calls) {
      const response = await fetch(`${gateway.url}/checkout/${call.cart}`, {
        headers: { 'x-demo-user': call.user, 'x-session-id': call.session },
      })
      const body = await response.json()
      console.log(
        `GET /checkout/${call.cart} as ${call.user}: ${response.status}, x-request-id ${response.headers.get('x-request-id')}, ` +
          `partner saw trace headers: ${JSON.stringify(body.partnerSawTraceHeaders)}`,
      )
    }
  } finally {
    // SIGTERM: each service flushes its spans (setupTracing's exit flush), then exits.
    await Promise.all(
      services.map(async ({ child }) => {
        if (child.exitCode !== null) return
        child.kill('SIGTERM')
        await once(child, 'exit')
      }),
    )
  }

  if (userCollector) {
    console.log(
      `\nspans were sent to ${userCollector}: open your tracing UI and search for service "gateway".`,
    )
    return
  }
  receiver.close()
  const traces = new Map()
  for (const span of spans) {
    if (!traces.has(span.traceId)) traces.set(span.traceId, [])
    traces.get(span.traceId).push(span)
  }
  for (const [traceId, traceSpans] of traces) printTrace(traceId, traceSpans)
  const services_ = new Set(spans.map((span) => span.service))
  console.log(
    `\n${traces.size} traces, ${spans.length} spans from ${[...services_].sort().join(', ')}: one trace per request, across all services.`,
  )
  if (traces.size !== 3 || services_.size !== 3) process.exitCode = 1
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
