// Outgoing calls with @traceweave/client: traced fetch and axios (a CLIENT span each, trace and
// request-ID headers injected), propagateTo (only our own services get those headers, a third party
// gets none), axios's built-in retry for idempotent calls, and tracedRetry around a flaky fetch.
//
//   node examples/outgoing/server.mjs          serves on http://127.0.0.1:3000 (PORT to change)
//   node examples/outgoing/server.mjs --once   calls itself once, prints what each callee saw, exits
import { setupTracing } from '@traceweave/node'
import { createServer } from 'node:http'
import { once as eventOnce } from 'node:events'
import express from 'express'
import axios from 'axios'
import { traceweave, traceweaveErrors } from '@traceweave/express'
import { traceAxios, traceFetch } from '@traceweave/client'
import { tracedRetry } from '@traceweave/core'

const once = process.argv.includes('--once')
// Spans go over OTLP to localhost:4318 (run `npx @traceweave/view` there); --once prints them instead.
const tracing = setupTracing({ serviceName: 'outgoing', exporter: once ? 'console' : 'otlp' })

// Two plain servers stand in for the services we call: "internal" (ours) and "partner" (a third party).
// Each answers with the trace headers it received. internal's /flaky fails twice, then works.
let flakyCalls = 0
const internal = await startCallee((req, res) => {
  if (req.url === '/flaky' && ++flakyCalls <= 2) return reply(res, 503, { error: 'try again' })
  reply(res, 200, { sawTraceHeaders: traceHeaders(req) })
})
const partner = await startCallee((req, res) => reply(res, 200, { sawTraceHeaders: traceHeaders(req) }))

// Without propagateTo, loopback and private addresses all get the headers: name your services.
const propagateTo = [internal.origin]
const tracedFetch = traceFetch(fetch, { propagateTo })
const api = axios.create({ baseURL: internal.origin })
traceAxios(api, { getAdapter: axios.getAdapter, propagateTo, retry: { retries: 2, minTimeout: 50 } })

const app = express()
app.use(traceweave())
app.get('/checkout', async (_req, res) => {
  const stock = await (await tracedFetch(`${internal.origin}/stock`)).json()
  const { data: price } = await api.get('/price')
  const rates = await (await tracedFetch(`${partner.origin}/rates`)).json()
  // tracedRetry: one span for the operation, one per attempt (retry.attempt), backoff in between.
  const flaky = await tracedRetry(
    async () => {
      const response = await tracedFetch(`${internal.origin}/flaky`)
      if (!response.ok) throw new Error(`flaky answered ${response.status}`)
      return response.json()
    },
    { name: 'flaky', retries: 3, minTimeout: 20 },
  )
  res.json({
    'fetch to internal': stock.sawTraceHeaders,
    'axios to internal': price.sawTraceHeaders,
    'fetch to partner (outside propagateTo)': rates.sawTraceHeaders,
    'tracedRetry, after 2 failures': flaky.sawTraceHeaders,
  })
})
app.use(traceweaveErrors())

const server = app.listen(once ? 0 : Number(process.env.PORT ?? 3000), '127.0.0.1', async () => {
  const base = `http://127.0.0.1:${server.address().port}`
  if (!once) return console.log(`outgoing on ${base}: try ${base}/checkout`)
  const response = await fetch(`${base}/checkout`)
  for (const [call, headers] of Object.entries(await response.json())) {
    console.log(`${call}: received ${headers.length > 0 ? headers.join(', ') : 'no trace headers'}`)
  }
  server.close()
  internal.server.close()
  partner.server.close()
  await tracing.shutdown() // flushes the spans to the console
})

function traceHeaders(req) {
  return ['traceparent', 'tracestate', 'baggage', 'x-request-id'].filter((name) => name in req.headers)
}

function reply(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
}

async function startCallee(handler) {
  const server = createServer(handler).listen(0, '127.0.0.1')
  await eventOnce(server, 'listening')
  return { server, origin: `http://127.0.0.1:${server.address().port}` }
}
