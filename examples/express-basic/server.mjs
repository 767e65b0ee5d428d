// Express 5 with traceweave: one SERVER span per request named after its route, a request ID (read
// from x-request-id or made up, echoed back), and the route's own span from trace().
//
//   node examples/express-basic/server.mjs          serves on http://127.0.0.1:3000 (PORT to change)
//   node examples/express-basic/server.mjs --once   sends itself three requests, prints the spans, exits
import { setupTracing } from '@traceweave/node'
import express from 'express'
import { traceweave, traceweaveErrors } from '@traceweave/express'
import { getRequestId, trace } from '@traceweave/core'

const once = process.argv.includes('--once')
// Spans go over OTLP to localhost:4318 (run `npx @traceweave/view` there); --once prints them instead.
const tracing = setupTracing({ serviceName: 'express-basic', exporter: once ? 'console' : 'otlp' })

const app = express()
app.use(traceweave())

app.get('/hello/:name', async (req, res) => {
  const greeting = await trace('compose greeting', async () => `hello, ${req.params.name}`)
  res.json({ greeting, requestId: getRequestId() })
})
app.get('/boom', () => {
  throw new Error('something broke') // the span records the exception and status ERROR
})
app.use(traceweaveErrors())
// Your own error handler still answers (here without printing the stack).
app.use((error, _req, res, _next) => res.status(500).json({ error: error.message }))

const server = app.listen(once ? 0 : Number(process.env.PORT ?? 3000), '127.0.0.1', async () => {
  const base = `http://127.0.0.1:${server.address().port}`
  if (!once) return console.log(`express-basic on ${base}: try ${base}/hello/ada`)
  for (const [path, headers] of [
    ['/hello/ada', {}],
    ['/hello/grace', { 'x-request-id': 'my-request-42' }],
    ['/boom', {}],
  ]) {
    const response = await fetch(base + path, { headers })
    await response.arrayBuffer()
    console.log(`GET ${path} -> ${response.status}, x-request-id ${response.headers.get('x-request-id')}`)
  }
  server.close()
  await tracing.shutdown() // flushes the spans to the console
})
