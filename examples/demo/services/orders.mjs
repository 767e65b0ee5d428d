// orders (Koa 3 + @koa/router): reads an order and asks inventory through a traced axios instance that
// retries idempotent calls on 5xx.
import { setupTracing } from '@traceweave/node'
import Koa from 'koa'
import { Router } from '@koa/router'
import axios from 'axios'
import { traceweave } from '@traceweave/koa'
import { traceAxios } from '@traceweave/client'
import { getRequestId } from '@traceweave/core'
import { listen } from './listen.mjs'

setupTracing({ serviceName: 'orders' })

const inventory = axios.create({ baseURL: process.env.INVENTORY_URL })
traceAxios(inventory, { getAdapter: axios.getAdapter, retry: { retries: 2, minTimeout: 20 } })

const router = new Router({ prefix: '/orders' })
router.get('/:id', async (ctx) => {
  const { data: item } = await inventory.get(`/items/sku-${ctx.params.id}`)
  ctx.body = { order: ctx.params.id, item, requestId: getRequestId() }
})

const app = new Koa()
app.use(traceweave())
app.use(router.routes())

listen(app.callback())
