// inventory (Express 5): stock levels. Every fifth lookup fails with 503, so the caller's retry shows;
// a retry (the same X-Request-Id, forwarded by the traced client) is never failed again, so every
// checkout reaches payments and its trace spans all four services.
// Resources are on here: the route plans a reorder (real CPU and a 4 MB buffer), and its spans show
// what that cost (traceweave.process.* on the server span and on 'plan reorder').
import { setupTracing } from '@traceweave/node'
import express from 'express'
import { traceweave, traceweaveErrors } from '@traceweave/express'
import { enrichSpan, trace } from '@traceweave/core'
import { listen } from './listen.mjs'

setupTracing({ serviceName: 'inventory', exporter: 'otlp', resources: { sampleEveryMs: 1000 } })

const app = express()
app.use(traceweave({ resources: true }))
let lookups = 0
// Request IDs whose lookup failed once (bounded: cleared at 1,000, far more than the demo sends).
const failedOnce = new Set()

app.get('/items/:sku', async (req, res) => {
  const requestId = req.get('x-request-id') ?? ''
  if (++lookups % 5 === 0 && !failedOnce.has(requestId)) {
    if (failedOnce.size >= 1000) failedOnce.clear()
    failedOnce.add(requestId)
    return res.status(503).json({ error: 'warming up, try again' })
  }
  const stock = await trace('db.query stock', async () => {
    await new Promise((resolve) => setTimeout(resolve, 3))
    return 7
  })
  const reorder = trace('plan reorder', () => planReorder(req.params.sku), { resources: true })
  enrichSpan({ 'inventory.sku': req.params.sku, 'inventory.stock': stock, 'inventory.reorder': reorder })
  res.json({ sku: req.params.sku, stock })
})
app.use(traceweaveErrors())

// Real work for the resource figures: a 4 MB working buffer and a checksum loop over it.
function planReorder(sku) {
  const rows = Buffer.alloc(4 * 1024 * 1024, sku.length)
  let sum = 0
  for (let round = 0; round < 20; round++)
    for (let i = 0; i < rows.length; i += 16) sum = (sum + rows[i] * 31) % 65521
  return sum
}

listen(app)
