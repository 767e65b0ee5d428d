// Koa 3 with traceweave: a request ID, a session (x-session-id, operations counted per session), the
// user identified after an auth middleware (every later span carries user.id), and a custom trace() span.
//
//   node examples/koa-basic/server.mjs          serves on http://127.0.0.1:3000 (PORT to change)
//   node examples/koa-basic/server.mjs --once   sends itself three requests, prints the spans, exits
import { setupTracing } from '@traceweave/node'
import Koa from 'koa'
import { Router } from '@koa/router'
import { traceweave, identifyUser } from '@traceweave/koa'
import { getRequestId, trace } from '@traceweave/core'

const once = process.argv.includes('--once')
// Spans go over OTLP to localhost:4318 (run `npx @traceweave/view` there); --once prints them instead.
const tracing = setupTracing({ serviceName: 'koa-basic', exporter: once ? 'console' : 'otlp' })

const TOKENS = { 'token-ada': 'ada', 'token-grace': 'grace' } // stands in for your user store

const app = new Koa()
app.use(traceweave()) // session from x-session-id by default: session.id, session.operation_number
// The auth middleware: once it knows the user, identifyUser() puts user.id on the request's spans.
app.use(async (ctx, next) => {
  const user = TOKENS[ctx.get('authorization').replace(/^Bearer /, '')]
  if (user === undefined) ctx.throw(401, 'who are you?')
  identifyUser(user)
  await next()
})

const router = new Router()
router.get('/profile', async (ctx) => {
  // A span of your own, with attributes; it ends when the promise settles.
  const profile = await trace(
    'load profile',
    async () => {
      await new Promise((resolve) => setTimeout(resolve, 5)) // a database call, say
      return { plan: 'pro' }
    },
    { attributes: { 'profile.source': 'db' } },
  )
  ctx.body = { profile, requestId: getRequestId() }
})
app.use(router.routes())

const server = app.listen(once ? 0 : Number(process.env.PORT ?? 3000), '127.0.0.1', async () => {
  const base = `http://127.0.0.1:${server.address().port}`
  if (!once) {
    console.log(
      `koa-basic on ${base}: curl -H 'authorization: Bearer token-ada' -H 'x-session-id: s1' ${base}/profile`,
    )
    return
  }
  for (const token of ['token-ada', 'token-ada', 'nobody']) {
    const response = await fetch(`${base}/profile`, {
      headers: { authorization: `Bearer ${token}`, 'x-session-id': 'session-1' },
    })
    await response.arrayBuffer()
    console.log(
      `GET /profile as ${token} -> ${response.status}, x-request-id ${response.headers.get('x-request-id')}`,
    )
  }
  server.close()
  await tracing.shutdown() // flushes the spans to the console
})
