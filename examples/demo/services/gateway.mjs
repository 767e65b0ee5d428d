// gateway (Express 5): the public entry. Knows the user from a header, counts session operations, calls
// orders through traced fetch, and a partner API that is NOT in propagateTo (it gets no trace headers).
import { setupTracing } from '@traceweave/node'
import express from 'express'
import { traceweave, traceweaveErrors, identifyUser } from '@traceweave/express'
import { traceFetch } from '@traceweave/client'
import { listen } from './listen.mjs'

setupTracing({ serviceName: 'gateway', sampling: { ratio: 1 } })

const ordersUrl = process.env.ORDERS_URL
const partnerUrl = process.env.PARTNER_URL
// Trace headers go to our own orders service only; the partner gets a CLIENT span but no headers.
const tracedFetch = traceFetch(fetch, { propagateTo: [new URL(ordersUrl).origin] })

const app = express()
app.use(traceweave())
// Stands in for an auth middleware: once the user is known, every span of the request carries it.
app.use((req, _res, next) => {
  const user = req.get('x-demo-user')
  if (user) identifyUser(user)
  next()
})

app.get('/checkout/:cartId', async (req, res) => {
  const order = await (await tracedFetch(`${ordersUrl}/orders/${req.params.cartId}`)).json()
  const partner = await (await tracedFetch(`${partnerUrl}/quote`)).json()
  res.json({ order, partnerSawTraceHeaders: partner.sawTraceHeaders })
})
app.use(traceweaveErrors())

listen(app)
