// payments (Express 5): charges. Fails now and then (every third charge answers 503), so the caller's
// tracedRetry shows its attempts.
import { setupTracing } from '@traceweave/node'
import express from 'express'
import { traceweave, traceweaveErrors } from '@traceweave/express'
import { enrichSpan } from '@traceweave/core'
import { listen } from './listen.mjs'

setupTracing({ serviceName: 'payments', exporter: 'otlp' })

const app = express()
app.use(traceweave())
app.use(express.json())
let charges = 0

app.post('/charges', (req, res) => {
  if (++charges % 3 === 0) return res.status(503).json({ error: 'card network busy' })
  enrichSpan({ 'payment.amount': req.body.amount })
  res.status(201).json({ charge: `ch_${charges}`, orderId: req.body.orderId })
})
app.use(traceweaveErrors())

listen(app)
