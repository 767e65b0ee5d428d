// partner: a third-party API stand-in (plain node:http, not traced), outside the gateway's propagateTo.
// It answers which trace headers it got, and tells the demo runner every one it ever saw.
import { createServer } from 'node:http'
import { listen } from './listen.mjs'

const TRACE_HEADERS = ['traceparent', 'tracestate', 'baggage', 'x-request-id', 'x-session-id']
let calls = 0
const seen = new Set()

listen(
  createServer((req, res) => {
    calls++
    const sawTraceHeaders = TRACE_HEADERS.filter((h) => h in req.headers)
    for (const header of sawTraceHeaders) seen.add(header)
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ price: 42, sawTraceHeaders }))
  }),
  () => ({ partner: { calls, traceHeadersSeen: [...seen] } }),
)
