/**
 * Mistakes caught where they are made, on Express 4/5 and Koa 2/3: `traceweave()` mounted after the
 * routes (matched routes never reach it, so only the process-wide response observer can tell), and
 * the Express middleware in a Koa app or the reverse. Each is one `traceweave:` line on stderr, once,
 * naming the fix; the requests themselves go on unharmed. Child processes: stderr and the process-wide
 * observer are what is under test.
 */
import { cleanUpChildScripts, runScript, traceweaveLines } from './support/child-script'

afterAll(() => cleanUpChildScripts())

type Framework = 'express4' | 'express5' | 'koa2' | 'koa3'
const FRAMEWORKS: Framework[] = ['express4', 'express5', 'koa2', 'koa3']
const isKoa = (framework: Framework) => framework.startsWith('koa')

/**
 * An app of `framework` with one route, `/users/:id`, and `middleware` (an expression) mounted
 * `before` or after it; two requests, each printing its status, body and X-Request-Id.
 */
function app(
  framework: Framework,
  middleware: string,
  position: 'first' | 'after routes',
  beforeRequests = '',
): string {
  const build = isKoa(framework)
    ? `
const Koa = require(M.${framework})
const { Router } = require(M.router)
const app = new Koa()
const router = new Router()
router.get('/users/:id', (ctx) => { ctx.body = { id: ctx.params.id } })
const mountMiddleware = () => app.use(${middleware})
const mountRoutes = () => app.use(router.routes())`
    : `
const express = require(M.${framework})
const app = express()
const mountMiddleware = () => app.use(${middleware})
const mountRoutes = () => app.get('/users/:id', (req, res) => res.json({ id: req.params.id }))`
  return `
const { setupTracing } = require(M.node)
const expressAdapter = require(M.express)
const koaAdapter = require(M.koa)
setupTracing({ exporter: 'none' })
${build}
${position === 'first' ? 'mountMiddleware(); mountRoutes()' : 'mountRoutes(); mountMiddleware()'}
const server = app.listen(0, '127.0.0.1', async () => {
  ${beforeRequests}
  for (let i = 0; i < 2; i++) {
    const res = await fetch('http://127.0.0.1:' + server.address().port + '/users/' + i)
    console.log(res.status + ' ' + (await res.text()) + ' request-id:' + (res.headers.get('x-request-id') ? 'yes' : 'no'))
  }
  // The mount-order observer is gone once traceweave() has seen a request: later requests pay nothing.
  const observed = require('node:diagnostics_channel').channel('http.server.response.finish').hasSubscribers
  console.log('observer:' + (observed ? 'subscribed' : 'gone'))
  server.close()
})`
}

const own = (framework: Framework) =>
  isKoa(framework) ? 'koaAdapter.traceweave()' : 'expressAdapter.traceweave()'
const other = (framework: Framework) =>
  isKoa(framework) ? 'expressAdapter.traceweave()' : 'koaAdapter.traceweave()'

describe.each(FRAMEWORKS)('%s', (framework) => {
  it('traceweave() mounted after the routes: one warning naming the fix (mount it first)', async () => {
    const result = await runScript(app(framework, own(framework), 'after routes'))
    expect(result.code).toBe(0)
    // What the user saw before: the routes work, but no request ID (and no span).
    expect(result.stdout).toBe('200 {"id":"0"} request-id:no\n200 {"id":"1"} request-id:no\nobserver:gone\n')
    const lines = traceweaveLines(result.stderr)
    expect(lines).toHaveLength(1)
    expect(result.stderr).toBe(`${lines[0]}\n`)
    const fix = isKoa(framework)
      ? 'Mount it first: app.use(traceweave()) before app.use(router.routes())'
      : 'Mount it first: app.use(traceweave()) before your routes'
    expect(lines[0]).toMatch(
      new RegExp(
        `^traceweave: traceweave\\(\\) is mounted but has seen none of the requests of the server on port \\d+, ` +
          `which just answered one \\(status 200\\): in this ${isKoa(framework) ? 'Koa' : 'Express'} app the routes ` +
          `are mounted before traceweave\\(\\), so they get no span and no X-Request-Id\\. `,
      ),
    )
    expect(lines[0]!.endsWith(fix)).toBe(true)
  })

  it('traceweave() mounted first: no warning, and every response has its request ID', async () => {
    const result = await runScript(app(framework, own(framework), 'first'))
    expect(result.stdout).toBe(
      '200 {"id":"0"} request-id:yes\n200 {"id":"1"} request-id:yes\nobserver:gone\n',
    )
    expect(result.stderr).toBe('')
  })

  it('another server of the process answering first (a metrics endpoint, an app without traceweave()) is not mistaken for it', async () => {
    const otherApp = isKoa(framework)
      ? `const other = new Koa(); other.use((ctx) => { ctx.body = 'other' }); const otherServer = other.listen(0, '127.0.0.1')`
      : `const other = express(); other.get('/', (req, res) => res.send('other')); const otherServer = other.listen(0, '127.0.0.1')`
    const askOthers = `
  const metrics = require('node:http').createServer((req, res) => res.end('metrics')).listen(0, '127.0.0.1')
  await require('node:events').once(metrics, 'listening')
  ${isKoa(framework) ? '' : otherApp + "\n  await require('node:events').once(otherServer, 'listening')"}
  for (const s of [metrics${isKoa(framework) ? '' : ', otherServer'}]) {
    await (await fetch('http://127.0.0.1:' + s.address().port + '/')).text()
    s.close()
  }`
    const result = await runScript(app(framework, own(framework), 'first', askOthers))
    expect(result.stdout).toBe(
      '200 {"id":"0"} request-id:yes\n200 {"id":"1"} request-id:yes\nobserver:gone\n',
    )
    expect(result.stderr).toBe('')
  })

  if (!isKoa(framework)) {
    it('an app whose traceweave() already saw requests, served anew per test (supertest), while another app waits: no warning', async () => {
      // A second app, traceweave() mounted first, whose first request has not come yet.
      const waitingApp = `const waiting = express(); waiting.use(expressAdapter.traceweave()); waiting.get('/', (req, res) => res.end())`
      const freshServers = `
  ${waitingApp}
  for (let i = 0; i < 2; i++) {
    const fresh = require('node:http').createServer(app).listen(0, '127.0.0.1')
    await require('node:events').once(fresh, 'listening')
    await (await fetch('http://127.0.0.1:' + fresh.address().port + '/users/9')).text()
    fresh.close()
  }`
      const result = await runScript(app(framework, own(framework), 'first', freshServers))
      expect(result.stdout).toBe(
        '200 {"id":"0"} request-id:yes\n200 {"id":"1"} request-id:yes\nobserver:subscribed\n',
      )
      expect(result.stderr).toBe('')
    })
  }

  const [ours, theirs] = isKoa(framework) ? ['express', 'koa'] : ['koa', 'express']
  it(`the @traceweave/${ours} middleware in this app: requests go on, one error naming @traceweave/${theirs}`, async () => {
    const result = await runScript(app(framework, other(framework), 'first'))
    expect(result.code).toBe(0)
    // Before: a 500 "next is not a function". Now the request passes through untraced.
    expect(result.stdout).toBe('200 {"id":"0"} request-id:no\n200 {"id":"1"} request-id:no\nobserver:gone\n')
    const call = ours === 'koa' ? '(req, res, next)' : '(ctx, next)'
    expect(result.stderr).toBe(
      `traceweave: traceweave() from @traceweave/${ours} was called as ${call}: this is a ` +
        `${theirs === 'koa' ? 'Koa' : 'Express'} app. Import it from @traceweave/${theirs} instead ` +
        `(import { traceweave } from '@traceweave/${theirs}'); until then requests pass through untraced\n`,
    )
  })
})
