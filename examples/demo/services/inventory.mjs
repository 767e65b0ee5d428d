// inventory (Express 5): stock levels. Every fifth lookup fails with 503, so the caller's retry shows.
import { setupTracing } from '@traceweave/node'
import express from 'express'
import { traceweave, traceweaveErrors } from '@traceweave/express'
import { enrichSpan, trace } from '@traceweave/core'
import { listen } from './listen.mjs'

setupTracing({ serviceName: 'inventory', exporter: 'otlp' })

const app = express()
app.use(traceweave())
let lookups = 0

app.get('/items/:sku', async (req, res) => {
  if (++lookups % 5 === 0) return res.status(503).json({ error: 'warming up, try again' })
  const stock = await trace('db.query stock', async () => {
    await new Promise((resolve) => setTimeout(resolve, 3))
    return 7
  })
  enrichSpan({ 'inventory.sku': req.params.sku, 'inventory.stock': stock })
  res.json({ sku: req.params.sku, stock })
})
app.use(traceweaveErrors())

listen(app)
