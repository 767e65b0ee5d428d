// orders (Koa 3 + @koa/router): checks stock in inventory through a traced axios instance (retries
// idempotent calls on 5xx), then charges payments through traced fetch inside tracedRetry.
import { setupTracing } from '@traceweave/node'
import Koa from 'koa'
import { Router } from '@koa/router'
import axios from 'axios'
import { traceweave } from '@traceweave/koa'
import { traceAxios, traceFetch } from '@traceweave/client'
import { getRequestId, tracedRetry } from '@traceweave/core'
import { listen } from './listen.mjs'

setupTracing({ serviceName: 'orders', exporter: 'otlp' })

const inventory = axios.create({ baseURL: process.env.INVENTORY_URL })
traceAxios(inventory, { getAdapter: axios.getAdapter, retry: { retries: 2, minTimeout: 20 } })
const paymentsUrl = process.env.PAYMENTS_URL
const tracedFetch = traceFetch(fetch, { propagateTo: [new URL(paymentsUrl).origin] })

// A POST is not idempotent, so the client does not retry it on its own: the charge carries an
// idempotency key and tracedRetry retries it, one span per attempt.
function charge(orderId) {
  return tracedRetry(
    async () => {
      const response = await tracedFetch(`${paymentsUrl}/charges`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': `order-${orderId}` },
        body: JSON.stringify({ orderId, amount: 42 }),
      })
      if (!response.ok) throw new Error(`payments answered ${response.status}`)
      return response.json()
    },
    { name: 'charge', retries: 3, minTimeout: 10 },
  )
}

const router = new Router({ prefix: '/orders' })
router.post('/:id', async (ctx) => {
  const { data: item } = await inventory.get(`/items/sku-${ctx.params.id}`)
  try {
    const payment = await charge(ctx.params.id)
    ctx.body = { order: ctx.params.id, item, payment, requestId: getRequestId() }
  } catch (error) {
    // Every attempt failed: the charge span says so (retry.all_failed); the caller gets a 502.
    ctx.status = 502
    ctx.body = { order: ctx.params.id, error: error.message, requestId: getRequestId() }
  }
})

const app = new Koa()
app.use(traceweave())
app.use(router.routes())

listen(app.callback())
