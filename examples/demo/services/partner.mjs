// partner: a third-party API stand-in (plain node:http, not traced). It reports which trace headers it got.
import { createServer } from 'node:http'
import { listen } from './listen.mjs'

listen(
  createServer((req, res) => {
    const sawTraceHeaders = ['traceparent', 'tracestate', 'baggage', 'x-request-id'].filter(
      (h) => h in req.headers,
    )
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ price: 42, sawTraceHeaders }))
  }),
)
