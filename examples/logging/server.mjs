// Log lines you can jump from to their trace: a pino mixin adds trace_id, span_id and request.id to
// every line logged during a request (the field names OpenTelemetry's log data model and our span
// attributes use), so searching your logs by request ID or trace ID finds the whole request.
//
//   node examples/logging/server.mjs          serves on http://127.0.0.1:3000 (PORT to change)
//   node examples/logging/server.mjs --once   sends itself two requests, prints the log lines, exits
import { setupTracing } from '@traceweave/node'
import express from 'express'
import pino from 'pino'
import { traceweave, traceweaveErrors } from '@traceweave/express'
import { getActiveTraceIds, getRequestId, trace } from '@traceweave/core'

const once = process.argv.includes('--once')
// Spans go over OTLP to localhost:4318 (run `npx @traceweave/view` there); with --once, nowhere: the
// point here is the log lines.
const tracing = setupTracing({ serviceName: 'logging', exporter: once ? 'none' : 'otlp' })

const logger = pino({
  // Called for every line: outside a request it adds nothing.
  mixin() {
    const ids = getActiveTraceIds()
    const requestId = getRequestId()
    return {
      ...(ids && { trace_id: ids.traceId, span_id: ids.spanId, trace_flags: ids.traceFlags }),
      ...(requestId && { 'request.id': requestId }),
    }
  },
})

const app = express()
app.use(traceweave())
app.get('/orders/:id', async (req, res) => {
  logger.info({ order: req.params.id }, 'loading order')
  const order = await trace('load order', async () => {
    logger.info('querying the database') // span_id of "load order", same trace_id and request.id
    return { id: req.params.id, total: 42 }
  })
  logger.info({ total: order.total }, 'order loaded')
  res.json(order)
})
app.use(traceweaveErrors())

const server = app.listen(once ? 0 : Number(process.env.PORT ?? 3000), '127.0.0.1', async () => {
  const base = `http://127.0.0.1:${server.address().port}`
  logger.info({ url: base }, 'listening') // outside a request: no trace fields
  if (!once) return
  for (const id of ['7', '8']) {
    const response = await fetch(`${base}/orders/${id}`, { headers: { 'x-request-id': `demo-${id}` } })
    await response.arrayBuffer()
  }
  server.close()
  await tracing.shutdown()
})
