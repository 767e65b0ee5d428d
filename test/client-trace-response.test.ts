/**
 * The caller's side of Trace Context's "Load Balancer Deferred Sampling", with traced fetch and axios
 * in a real Express 5 service (`decide: 'deferred'`, `ratio: 0`, outcome rules) calling a real callee
 * on 127.0.0.1 that answers `traceresponse` sampled: "the downstream service may return its updated
 * sampling decision to the caller via the traceresponse header. Based on this, the caller may change
 * its sampling decision". Only destinations inside `propagateTo` are believed, judged on the final URL
 * after redirects; every retry attempt is read, and responses axios rejects too; an answer that comes
 * after the request ended (fire-and-forget) is counted, not applied.
 */
import { traceAxios, traceFetch } from '@traceweave/client'
import { getSamplingStats } from '@traceweave/core'
import axios from 'axios'
import { useMemoryTracing } from './support/memory-tracing'
import { listen, type ListeningServer } from './support/servers'
import { ServiceSet, startExpress, type RunningService } from './support/services'

const tracing = useMemoryTracing({
  sampling: {
    decide: 'deferred',
    ratio: 0,
    rules: [
      { status: 'error', sample: 1 },
      { minDurationMs: 5000, sample: 1 },
    ],
  },
})
const services = new ServiceSet()
let callee: ListeningServer
let calleePort: number
/** The trace ID of the last traceparent the callee saw: it answers for that trace. */
let lastTraceId = ''
let attempts = 0

beforeAll(async () => {
  callee = await listen((req, res) => {
    const incoming = /^00-([0-9a-f]{32})-/.exec(String(req.headers.traceparent ?? ''))
    if (incoming !== null) lastTraceId = incoming[1]!
    attempts++
    const answer = (status: number, flags: string, traceId = lastTraceId) =>
      res
        .writeHead(status, { traceresponse: `00-${traceId}-00f067aa0ba902b7-${flags}` })
        .end(JSON.stringify({ status }))
    const path = req.url ?? '/'
    if (path === '/sampled') return answer(200, '01')
    if (path === '/sampled-500') return answer(500, '01')
    if (path === '/server-timing') {
      return res
        .writeHead(200, { 'server-timing': `db;dur=2, trace;desc=00-${lastTraceId}-00f067aa0ba902b7-03` })
        .end('{}')
    }
    if (path === '/other-trace') return answer(200, '01', '4bf92f3577b34da6a3ce929d0e0e4736')
    if (path === '/unsampled') return answer(200, '00')
    if (path === '/redirect-out') {
      // To a host outside propagateTo, which answers for the trace anyway.
      return res.writeHead(302, { location: `http://localhost:${calleePort}/sampled` }).end()
    }
    if (path === '/flaky') return attempts === 1 ? answer(503, '01') : answer(200, '00')
    if (path === '/late') return void setTimeout(() => answer(200, '01'), 150)
    answer(404, '00')
  })
  calleePort = callee.port
})
beforeEach(() => {
  attempts = 0
})
afterEach(() => services.closeAll())
afterAll(() => callee.close())

const clientOptions = {
  propagateTo: ['127.0.0.1'],
  retry: { retries: 2, minTimeout: 1, maxTimeout: 5, randomize: false },
}
const tracedFetch = traceFetch(globalThis.fetch, clientOptions)
const client = axios.create()
traceAxios(client, clientOptions)

type Call = (url: string) => Promise<unknown>
const viaFetch: Call = (url) => tracedFetch(url).then((response) => response.text())
const viaAxios: Call = (url) => client.get(url).catch((error: unknown) => error)

/** A deciding service whose GET /call?path=... calls the callee (awaited unless ?wait=0), then answers 200. */
function startCaller(call: Call): Promise<RunningService> {
  return startExpress(
    'caller',
    (app) => {
      app.get('/call', async (req, res) => {
        const url = `http://127.0.0.1:${calleePort}${String(req.query.path)}`
        if (req.query.wait === '0') void call(url)
        else await call(url)
        res.json({ ok: true })
      })
    },
    { traceResponse: true },
  )
}

async function callThrough(caller: RunningService, path: string, wait = true) {
  const response = await fetch(`${caller.url}/call?path=${encodeURIComponent(path)}${wait ? '' : '&wait=0'}`)
  expect(response.status).toBe(200)
  await services.idle()
  return response.headers.get('traceresponse')
}

const callerSpans = () => tracing.memory.getFinishedSpans()

describe.each([
  ['fetch', viaFetch],
  ['axios', viaAxios],
] as const)('traced %s', (_name, call) => {
  test('a sampled traceresponse for this trace upgrades the request; its own response says so', async () => {
    const caller = services.add(await startCaller(call))
    const answered = await callThrough(caller, '/sampled')
    expect(answered).toMatch(/-03$/)
    const spans = callerSpans()
    // SERVER, CLIENT (ended after the upgrade) and the retry policy's INTERNAL spans.
    expect(spans.map((span) => span.kind)).toEqual(expect.arrayContaining([1, 2]))
    expect(spans.every((span) => span.attributes['sampling.upgraded'] === true)).toBe(true)
    expect(getSamplingStats()).toMatchObject({ total: 1, sampled: 1, upgradedByReason: { downstream: 1 } })
  })

  test('the Server-Timing trace metric is read too', async () => {
    const caller = services.add(await startCaller(call))
    expect(await callThrough(caller, '/server-timing')).toMatch(/-03$/)
    expect(callerSpans().map((span) => span.kind)).toEqual(expect.arrayContaining([1, 2]))
  })

  test('a response the client rejects or retries is read: a 5xx answer, every attempt', async () => {
    const caller = services.add(await startCaller(call))
    await callThrough(caller, '/sampled-500') // axios rejects it (default validateStatus); fetch retries it
    expect(getSamplingStats().upgradedByReason).toEqual({ downstream: 1 })
    tracing.memory.reset()
    attempts = 0
    await callThrough(caller, '/flaky') // 503 sampled, then 200 unsampled: the first attempt's answer counts
    expect(attempts).toBe(2)
    expect(getSamplingStats().upgradedByReason).toEqual({ downstream: 2 })
    expect(callerSpans().length).toBeGreaterThanOrEqual(3) // SERVER and both attempts' CLIENT spans
  })

  test('another trace ID, or an unsampled answer, changes nothing', async () => {
    const caller = services.add(await startCaller(call))
    expect(await callThrough(caller, '/other-trace')).toMatch(/-02$/)
    expect(await callThrough(caller, '/unsampled')).toMatch(/-02$/)
    expect(callerSpans()).toEqual([])
    expect(getSamplingStats()).toMatchObject({ total: 2, sampled: 0, upgraded: 0 })
  })

  test('a response that ended outside propagateTo (after a redirect) is not believed', async () => {
    const caller = services.add(await startCaller(call))
    expect(await callThrough(caller, '/redirect-out')).toMatch(/-02$/)
    expect(callerSpans()).toEqual([])
    expect(getSamplingStats().upgraded).toBe(0)
  })

  test('a fire-and-forget call answered after the request ended is counted, not applied', async () => {
    const caller = services.add(await startCaller(call))
    expect(await callThrough(caller, '/late', false)).toMatch(/-02$/)
    await new Promise((resolve) => setTimeout(resolve, 400))
    expect(callerSpans()).toEqual([])
    expect(getSamplingStats()).toMatchObject({ upgraded: 0, upgradesMissed: 1 })
  })
})
