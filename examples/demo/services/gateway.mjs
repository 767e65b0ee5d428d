// gateway (Express 5): the public entry. An auth middleware identifies the user, the middleware counts
// session operations, and sampling is adaptive here (the trace's root) with one user always kept.
// Calls orders through traced fetch, and a partner API that is NOT in propagateTo (it gets no headers).
import { setupTracing } from '@traceweave/node'
import express from 'express'
import { traceweave, traceweaveErrors, identifyUser } from '@traceweave/express'
import { traceFetch } from '@traceweave/client'
import { trace } from '@traceweave/core'
import { listen } from './listen.mjs'

setupTracing({
  serviceName: 'gateway',
  exporter: 'otlp',
  sampling: {
    decide: 'deferred', // the user is known after auth: decide when orders is called
    users: [process.env.DEMO_ALWAYS_KEEP_USER ?? 'carol'],
    targetPerSecond: Number(process.env.DEMO_TARGET_PER_SECOND ?? 4),
  },
})

const ordersUrl = process.env.ORDERS_URL
const partnerUrl = process.env.PARTNER_URL
// Trace and request-ID headers go to our own services only.
const tracedFetch = traceFetch(fetch, { propagateTo: [new URL(ordersUrl).origin] })

const app = express()
app.use(traceweave())
// Stands in for an auth middleware: once the user is known, every span of the request carries it.
app.use((req, _res, next) => {
  const user = /^Bearer (\w{1,32})$/.exec(req.get('authorization') ?? '')?.[1]
  if (user) identifyUser(user)
  next()
})

app.post('/checkout/:cartId', async (req, res) => {
  const orderResponse = await tracedFetch(`${ordersUrl}/orders/${req.params.cartId}`, { method: 'POST' })
  const order = await orderResponse.json().catch(() => ({ error: `orders answered ${orderResponse.status}` }))
  const quote = await partnerQuote()
  res.status(orderResponse.ok ? 200 : 502).json({ order, quote })
})
app.use(traceweaveErrors())

// The partner reports which trace headers it got; the span's name says it, so the row shows it.
function partnerQuote() {
  return trace('partner quote', async (span) => {
    const body = await (await tracedFetch(`${partnerUrl}/quote`)).json()
    const got = body.sawTraceHeaders
    span.updateName(
      got.length === 0
        ? 'partner quote: received no trace headers'
        : `partner quote: received ${got.join(', ')}`,
    )
    return body
  })
}

listen(app)
