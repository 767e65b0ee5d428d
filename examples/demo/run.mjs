// The multi-service demo on traceweave-view. Starts the viewer's OTLP receiver in this process and four
// traced services as child processes on 127.0.0.1 (ephemeral ports), each exporting with the real OTLP
// exporter:
//
//   gateway (Express 5) --fetch--> orders (Koa 3) --axios--> inventory (Express 5)
//                                                 --fetch in tracedRetry--> payments (Express 5)
//           --fetch--> partner (untraced, outside propagateTo: gets no trace headers)
//
// Sends checkouts from several users and sessions under adaptive sampling (one user always kept),
// then prints a waterfall or two, a sampling-stats table per service and the path of an HTML report.
// Exits non-zero if a kept trace did not join up across the services, or the partner got a trace header.
//
//   node examples/demo/run.mjs [--keep] [--html FILE] [--requests N]
//   --keep   leave the viewer running (web page) until Ctrl-C
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import { fileURLToPath } from 'node:url'
import { dirname, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { startViewer } from '@traceweave/view'
import { formatWaterfall, shouldColor } from '@traceweave/view/render'

const here = dirname(fileURLToPath(import.meta.url))
const SERVICES = ['gateway', 'orders', 'inventory', 'payments']
const USERS = ['alice', 'bob', 'carol', 'dave', 'erin']
const ALWAYS_KEPT_USER = 'carol'
// A demo that hangs is a broken promise: past this, stop everything and fail.
const WATCHDOG_MS = 75_000

const { values: args } = parseArgs({
  options: {
    keep: { type: 'boolean', default: false },
    html: { type: 'string', default: join(tmpdir(), 'traceweave-demo-report.html') },
    requests: { type: 'string', default: '60' },
  },
})
const requestCount = Number(args.requests)
if (!Number.isInteger(requestCount) || requestCount < 1) {
  console.error(`--requests must be an integer >= 1, got ${args.requests}`)
  process.exit(2)
}
const htmlPath = resolve(args.html)
const color = shouldColor(process.stdout)
const children = []

async function startService(name, env) {
  const child = fork(join(here, 'services', `${name}.mjs`), [], {
    env: {
      ...process.env,
      ...env,
      OTEL_SERVICE_NAME: name,
      // Export every 100 ms instead of every 5 s, so the demo (and the viewer's grace) stay short.
      OTEL_BSP_SCHEDULE_DELAY: '100',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '',
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  children.push(child)
  const message = await reply(child, 'listening', `${name} exited before listening`)
  return { name, child, url: `http://127.0.0.1:${message.port}` }
}

function reply(child, type, exitMessage) {
  return new Promise((done, fail) => {
    const onMessage = (message) => {
      if (message?.type !== type) return
      child.off('exit', onExit)
      child.off('message', onMessage)
      done(message)
    }
    const onExit = () => fail(new Error(exitMessage))
    child.on('message', onMessage)
    child.once('exit', onExit)
  })
}

async function stopServices() {
  // SIGTERM: each service flushes its spans (setupTracing's exit flush), then exits.
  await Promise.all(
    children.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = once(child, 'exit')
      child.kill('SIGTERM')
      await exited
    }),
  )
}

/** Checkouts from several users and sessions, about 25 a second, at most 8 in flight. */
async function sendTraffic(gatewayUrl, progress) {
  const statuses = new Map()
  let sent = 0
  let done = 0
  const inFlight = new Set()
  for (let i = 0; i < requestCount; i++) {
    const user = USERS[i % USERS.length]
    const session = `${user}-s${1 + (Math.floor(i / USERS.length) % 2)}`
    const call = fetch(`${gatewayUrl}/checkout/${100 + i}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${user}`, 'x-session-id': session },
    })
      .then(async (response) => {
        await response.arrayBuffer()
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
      })
      .catch(() => statuses.set('network error', (statuses.get('network error') ?? 0) + 1))
      .finally(() => {
        done++
        inFlight.delete(call)
        progress(sent, done)
      })
    sent++
    inFlight.add(call)
    progress(sent, done)
    if (inFlight.size >= 8) await Promise.race(inFlight)
    await new Promise((resolve) => setTimeout(resolve, 40))
  }
  await Promise.all(inFlight)
  return statuses
}

function progressLine(viewer) {
  let last = 0
  return (sent, done) => {
    const { traces, spans } = viewer.store.stats
    const line = `checkouts ${done}/${requestCount} done (${sent} sent) | viewer holds ${traces} traces, ${spans} spans`
    if (process.stdout.isTTY) process.stdout.write(`\r${line}\u001b[K`)
    else if (done === requestCount || done - last >= Math.ceil(requestCount / 4)) {
      last = done
      console.log(line)
    }
  }
}

/** Whether one kept trace joined up: root, no orphan, all four services, one request ID. */
function checkTrace(trace, summary) {
  const problems = []
  if (!summary.hasRoot) problems.push('no root span')
  if (summary.orphanCount > 0) problems.push(`${summary.orphanCount} spans whose parent is missing`)
  const missing = SERVICES.filter((service) => !summary.services.includes(service))
  if (missing.length > 0) problems.push(`no spans from ${missing.join(', ')}`)
  if (summary.requestIds.length !== 1) problems.push(`request IDs ${JSON.stringify(summary.requestIds)}`)
  return problems
}

function samplingTable(stats) {
  const rows = [['service', 'decisions', 'kept', 'rate', 'by reason']]
  for (const service of SERVICES) {
    const sampling = stats[service]?.sampling
    if (!sampling) {
      rows.push([service, '-', '-', '-', 'no answer'])
      continue
    }
    const reasons = Object.entries(sampling.byReason)
      .map(([reason, count]) => `${reason} ${count}`)
      .join(', ')
    rows.push([
      service,
      String(sampling.total),
      String(sampling.sampled),
      `${(sampling.rate * 100).toFixed(0)}%`,
      reasons,
    ])
  }
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)))
  return rows
    .map((row) => row.map((cell, column) => (column < 4 ? cell.padEnd(widths[column]) : cell)).join('  '))
    .join('\n')
}

async function main() {
  const watchdog = setTimeout(() => {
    console.error(`\ndemo: still running after ${WATCHDOG_MS / 1000} s, giving up`)
    for (const child of children) child.kill('SIGKILL')
    process.exit(1)
  }, WATCHDOG_MS)
  watchdog.unref()

  const started = Date.now()
  // quiet: the demo prints chosen waterfalls itself at the end instead of one per trace as they land.
  const viewer = await startViewer({ port: 0, uiPort: 0, quiet: true, graceMs: 500 })
  const exporting = { OTEL_EXPORTER_OTLP_ENDPOINT: viewer.otlpUrl }
  console.log(`viewer: receiving OTLP at ${viewer.tracesUrl}, page on ${viewer.uiUrl}`)

  const failures = []
  const stats = {}
  let statuses
  try {
    const [partner, payments, inventory] = await Promise.all([
      startService('partner', {}),
      startService('payments', exporting),
      startService('inventory', exporting),
    ])
    const orders = await startService('orders', {
      ...exporting,
      INVENTORY_URL: inventory.url,
      PAYMENTS_URL: payments.url,
    })
    const gateway = await startService('gateway', {
      ...exporting,
      ORDERS_URL: orders.url,
      PARTNER_URL: partner.url,
      DEMO_ALWAYS_KEEP_USER: ALWAYS_KEPT_USER,
    })
    const all = [gateway, orders, inventory, payments, partner]
    console.log(`services: ${all.map((s) => `${s.name} ${s.url}`).join(', ')}`)
    console.log(
      `sending ${requestCount} checkouts as ${USERS.join(', ')} (two sessions each); gateway samples adaptively (about 4 traces/s) and always keeps ${ALWAYS_KEPT_USER}`,
    )
    statuses = await sendTraffic(gateway.url, progressLine(viewer))
    if (process.stdout.isTTY) process.stdout.write('\n')
    const answers = await Promise.all(
      all.map(({ child }) => (child.send({ type: 'stats' }), reply(child, 'stats', 'exited'))),
    )
    all.forEach((service, i) => (stats[service.name] = answers[i]))
  } finally {
    await stopServices()
  }
  // Every service has flushed its spans on exit: report the traces still in their grace now.
  viewer.store.flush()

  const traces = viewer.store.all().reverse() // oldest first
  const kept = stats.gateway.sampling.sampled
  const joined = []
  for (const trace of traces) {
    const problems = checkTrace(trace, viewer.store.summary(trace))
    if (problems.length === 0) joined.push(trace)
    else failures.push(`trace ${trace.traceId} did not join up: ${problems.join('; ')}`)
  }
  if (traces.length !== kept) {
    failures.push(
      `gateway kept ${kept} traces but the viewer holds ${traces.length}: spans went to separate traces or were lost`,
    )
  }
  const partner = stats.partner.partner
  if (partner.traceHeadersSeen.length > 0) {
    failures.push(`the partner received trace headers: ${partner.traceHeadersSeen.join(', ')}`)
  }

  // Two traces in the terminal: one kept for the allowlisted user, one kept adaptively with a retry.
  const userOf = (trace) => trace.spans.find((span) => span.attributes['user.id'])?.attributes['user.id']
  const retried = (trace) => trace.spans.some((span) => Number(span.attributes['retry.attempt']) > 1)
  const shown = [
    joined.find((trace) => userOf(trace) === ALWAYS_KEPT_USER),
    joined.find((trace) => userOf(trace) !== ALWAYS_KEPT_USER && retried(trace)) ??
      joined.find((trace) => userOf(trace) !== ALWAYS_KEPT_USER),
  ].filter(Boolean)
  for (const trace of shown) {
    const why =
      userOf(trace) === ALWAYS_KEPT_USER
        ? `${ALWAYS_KEPT_USER} is on the users allowlist`
        : 'kept by adaptive sampling'
    console.log(`\n${why}:`)
    process.stdout.write(formatWaterfall(trace.spans, { color }))
  }

  console.log(
    '\nsampling decisions per service (one per request where the service decides; "parent" follows the gateway):',
  )
  console.log(samplingTable(stats))
  const statusText = [...statuses].map(([status, count]) => `${count}x ${status}`).join(', ')
  console.log(`\ncheckouts answered: ${statusText}`)
  console.log(
    `partner (outside propagateTo): ${partner.calls} calls, trace headers received: ${partner.traceHeadersSeen.join(', ') || 'none'}`,
  )
  console.log(
    `${traces.length} traces kept of ${requestCount} requests; ${joined.length} joined up across ${SERVICES.join(', ')} under one trace ID and one request.id`,
  )
  await viewer.writeHtml(htmlPath)
  console.log(`HTML report: ${htmlPath}`)
  for (const failure of failures.slice(0, 10)) console.error(`FAILED: ${failure}`)
  if (failures.length > 10) console.error(`FAILED: ... and ${failures.length - 10} more`)
  console.log(`demo took ${((Date.now() - started) / 1000).toFixed(1)} s`)
  if (failures.length > 0 || joined.length === 0) process.exitCode = 1

  if (args.keep) {
    clearTimeout(watchdog)
    console.log(`\nthe viewer keeps running: open ${viewer.uiUrl} (Ctrl-C to stop)`)
    process.once('SIGINT', () => void viewer.close().then(() => process.exit()))
    return
  }
  await viewer.close()
}

main().catch(async (error) => {
  console.error(error)
  process.exitCode = 1
  await stopServices()
  process.exit()
})
