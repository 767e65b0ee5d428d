/**
 * One table of requests, run against Express 4, Express 5, Koa 2 and Koa 3 apps with the same routes:
 * every framework must give the same span names, attributes, statuses and headers.
 */
import { SpanStatusCode } from '@opentelemetry/api'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import request from 'supertest'
import {
  buildApp,
  FRAMEWORKS,
  serverSpans,
  useMiddlewareTracing,
  waitForSpans,
  type Framework,
} from './support/middleware-apps'

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c'
const PARENT = `00-${TRACE_ID}-b7ad6b7169203331-01`

interface Row {
  title: string
  method: 'get' | 'post'
  path: string
  headers?: Record<string, string>
  body?: unknown
  status: number
  name: string
  route?: string
  error?: boolean
  exception?: boolean
  /** Names of spans expected as children of the server span. */
  children?: string[]
  /** Only these frameworks have the shape (Koa has no path-mounted middleware that answers). */
  frameworks?: Framework[]
}

const EXPRESS: Framework[] = ['express4', 'express5']
const KOA: Framework[] = ['koa2', 'koa3']

const TABLE: Row[] = [
  {
    title: 'a route with a parameter',
    method: 'get',
    path: '/users/7?token=secret',
    status: 200,
    name: 'GET /users/:id',
    route: '/users/:id',
  },
  {
    title: 'nested routers with a mount parameter',
    method: 'get',
    path: '/api/teams/42/users/7',
    status: 200,
    name: 'GET /api/teams/:teamId/users/:id',
    route: '/api/teams/:teamId/users/:id',
  },
  {
    title: 'the root route of a nested router',
    method: 'get',
    path: '/api/teams/42',
    status: 200,
    name: 'GET /api/teams/:teamId',
    route: '/api/teams/:teamId',
  },
  {
    title: "mount patterns, not the URL's spelling (routing ignores case)",
    method: 'get',
    path: '/API/Teams/42/users/7',
    status: 200,
    name: 'GET /api/teams/:teamId/users/:id',
    route: '/api/teams/:teamId/users/:id',
  },
  { title: 'no route (404)', method: 'get', path: '/nowhere/at/all', status: 404, name: 'GET' },
  {
    title: 'a thrown error (500)',
    method: 'get',
    path: '/fail',
    status: 500,
    name: 'GET /fail',
    route: '/fail',
    error: true,
    exception: true,
  },
  {
    title: 'a client error (400)',
    method: 'get',
    path: '/bad',
    status: 400,
    name: 'GET /bad',
    route: '/bad',
  },
  {
    title: 'an async handler with a child span',
    method: 'get',
    path: '/async/9',
    status: 200,
    name: 'GET /async/:id',
    route: '/async/:id',
    children: ['load user'],
  },
  {
    title: 'a JSON body parsed before the handler',
    method: 'post',
    path: '/echo',
    body: { a: 1 },
    status: 200,
    name: 'POST /echo',
    route: '/echo',
    children: ['store body'],
  },
  {
    title: 'a RegExp route is named by the RegExp',
    method: 'get',
    path: '/test/regex',
    status: 200,
    name: 'GET /\\/test\\/regex/',
    route: '/\\/test\\/regex/',
  },
  {
    title: 'no route under a mounted router (404) stays METHOD',
    method: 'get',
    path: '/api/nothing/here',
    status: 404,
    name: 'GET',
  },
  {
    title: 'an array of paths is named by its members joined with a comma',
    frameworks: EXPRESS,
    method: 'get',
    path: '/array/two/5',
    status: 200,
    name: 'GET /array/one,/array/two/:id',
    route: '/array/one,/array/two/:id',
  },
  {
    title: '@koa/router registers one route per member of an array: the member that matched',
    frameworks: KOA,
    method: 'get',
    path: '/array/two/5',
    status: 200,
    name: 'GET /array/two/:id',
    route: '/array/two/:id',
  },
  {
    title: 'middleware mounted at a path that answers is named by the path',
    frameworks: EXPRESS,
    method: 'get',
    path: '/bare_middleware/deeper/3',
    status: 200,
    name: 'GET /bare_middleware',
    route: '/bare_middleware',
  },
  {
    title: 'middleware at a path that passes the request on does not name it',
    frameworks: EXPRESS,
    method: 'get',
    path: '/passing/through',
    status: 200,
    name: 'GET /passing/through',
    route: '/passing/through',
  },
  {
    title: 'a 404 after middleware at a path passed it on stays METHOD',
    frameworks: EXPRESS,
    method: 'get',
    path: '/passing/nowhere',
    status: 404,
    name: 'GET',
  },
  {
    title: "a router's middleware at a path that answers: mount and path",
    frameworks: EXPRESS,
    method: 'get',
    path: '/router/x',
    status: 200,
    name: 'GET /router/x',
    route: '/router/x',
  },
  {
    title: 'a RegExp route in a mounted router: mount and RegExp',
    frameworks: EXPRESS,
    method: 'get',
    path: '/router/inner/regex',
    status: 200,
    name: 'GET /router/\\/inner\\/regex/',
    route: '/router/\\/inner\\/regex/',
  },
  {
    title: 'a router mounted with a RegExp: the RegExp and the route',
    frameworks: EXPRESS,
    method: 'get',
    path: '/regex_router/inner/8',
    status: 200,
    name: 'GET /\\/regex_router/inner/:id',
    route: '/\\/regex_router/inner/:id',
  },
  {
    title: 'a router mounted with an array: the members joined and the route',
    frameworks: EXPRESS,
    method: 'get',
    path: '/arr_router_b/9/inner',
    status: 200,
    name: 'GET /arr_router_a,/arr_router_b/:b/inner',
    route: '/arr_router_a,/arr_router_b/:b/inner',
  },
  {
    title: 'a sub-app: its mount path and its route',
    frameworks: EXPRESS,
    method: 'get',
    path: '/sub/users/4',
    status: 200,
    name: 'GET /sub/users/:id',
    route: '/sub/users/:id',
  },
  {
    title: 'a router inside a sub-app: every mount and the route',
    frameworks: EXPRESS,
    method: 'get',
    path: '/sub/nested/6',
    status: 200,
    name: 'GET /sub/nested/:id',
    route: '/sub/nested/:id',
  },
  {
    title: 'no route inside a sub-app (404) stays METHOD',
    frameworks: EXPRESS,
    method: 'get',
    path: '/sub/nothing',
    status: 404,
    name: 'GET',
  },
  {
    title: 'hostile headers are ignored, never an error',
    method: 'get',
    path: '/users/1',
    headers: {
      traceparent: 'ff-zzzz-nope',
      tracestate: '=,=,='.repeat(200),
      'x-request-id': 'bad id with spaces',
      'x-session-id': 'a;b',
      'user-agent': 'x'.repeat(5000),
    },
    status: 200,
    name: 'GET /users/:id',
    route: '/users/:id',
  },
]

/** What a user would compare: the server span's shape with per-run values normalized. */
function describeServerSpan(spans: ReadableSpan[]): Record<string, unknown> {
  const [server] = serverSpans(spans)
  const attributes = { ...server.attributes }
  expect(typeof attributes['server.port']).toBe('number')
  delete attributes['server.port']
  // IDs are random per request; their presence and shape are checked in the tests below.
  delete attributes['request.id']
  const children = spans
    .filter((span) => span.parentSpanContext?.spanId === server.spanContext().spanId)
    .map((span) => span.name)
    .sort()
  return {
    name: server.name,
    attributes,
    status: server.status.code,
    events: server.events.map((event) => event.name),
    children,
  }
}

// One provider for the file: the API registers a global provider once.
const tracing = useMiddlewareTracing()

describe.each(FRAMEWORKS)('%s', (framework: Framework) => {
  const app = buildApp(framework)

  test.each(TABLE.filter((row) => row.frameworks?.includes(framework) ?? true))('$title', async (row) => {
    let call = request(app)[row.method](row.path)
    for (const [name, value] of Object.entries(row.headers ?? {})) call = call.set(name, value)
    const response = await (row.body === undefined ? call : call.send(row.body as object))
    expect(response.status).toBe(row.status)

    const spans = await waitForSpans(tracing, (all) => serverSpans(all).length === 1)
    const [server] = serverSpans(spans)
    expect(server.name).toBe(row.name)
    expect(server.attributes['http.route']).toBe(row.route)
    expect(server.attributes['http.request.method']).toBe(row.method.toUpperCase())
    expect(server.attributes['url.path']).toBe(row.path.split('?')[0])
    expect(server.attributes['url.scheme']).toBe('http')
    expect(server.attributes['http.response.status_code']).toBe(row.status)
    expect(server.attributes['server.address']).toBe('127.0.0.1')
    expect(server.attributes['network.protocol.version']).toBe('1.1')
    expect(String(server.attributes['client.address'])).toMatch(/127\.0\.0\.1$/)
    expect(server.status.code).toBe(row.error ? SpanStatusCode.ERROR : SpanStatusCode.UNSET)
    expect(server.events.some((event) => event.name === 'exception')).toBe(row.exception === true)
    // No query strings and no headers unless listed.
    expect(JSON.stringify(server.attributes)).not.toContain('secret')
    expect(Object.keys(server.attributes).filter((key) => key.includes('.header.'))).toEqual([])

    // The request ID: generated when the caller's is invalid, echoed, on the span, on every child.
    const requestId = response.headers['x-request-id']
    expect(requestId).toMatch(/^[A-Za-z0-9._:-]{1,128}$/)
    expect(server.attributes['request.id']).toBe(requestId)
    for (const child of spans.filter((span) => span !== server)) {
      expect(child.attributes['request.id']).toBe(requestId)
      expect(child.spanContext().traceId).toBe(server.spanContext().traceId)
    }
    expect(describeServerSpan(spans).children).toEqual(row.children ?? [])
    expect(server.attributes['session.id']).toBeUndefined()
    expect(response.headers['traceresponse']).toBeUndefined()
  })

  test('a catch-all RegExp route names the requests it answers by the RegExp, never by their URL', async () => {
    const catchAll = buildApp(framework, {}, { catchAll: true })
    await request(catchAll).get('/nowhere/at/all').expect(200)
    const [server] = serverSpans(await waitForSpans(tracing, (all) => serverSpans(all).length === 1))
    expect(server.name).toBe('GET /.*/')
    expect(server.attributes['http.route']).toBe('/.*/')
  })

  test('continues a trusted caller trace and echoes a valid request ID', async () => {
    const response = await request(app)
      .get('/users/3')
      .set('traceparent', PARENT)
      .set('x-request-id', 'req-abc.1:2')
      .expect(200)
    expect(response.headers['x-request-id']).toBe('req-abc.1:2')
    expect(response.body.requestId).toBe('req-abc.1:2')
    const [server] = serverSpans(await waitForSpans(tracing, (all) => serverSpans(all).length === 1))
    expect(server.spanContext().traceId).toBe(TRACE_ID)
    expect(server.parentSpanContext?.spanId).toBe('b7ad6b7169203331')
    expect(server.attributes['request.id']).toBe('req-abc.1:2')
  })
})

test('all four frameworks produce identical server spans for the whole table', async () => {
  {
    const results: Record<string, unknown[]> = {}
    for (const framework of FRAMEWORKS) {
      const app = buildApp(framework)
      results[framework] = []
      // Rows every framework has: shapes one of them lacks are checked per framework above.
      for (const row of TABLE.filter((one) => one.frameworks === undefined)) {
        tracing.reset()
        let call = request(app)[row.method](row.path)
        for (const [name, value] of Object.entries(row.headers ?? {})) call = call.set(name, value)
        const response = await (row.body === undefined ? call : call.send(row.body as object))
        const spans = await waitForSpans(tracing, (all) => serverSpans(all).length === 1)
        results[framework].push({
          status: response.status,
          exposedHeaders: ['x-request-id', 'traceresponse'].filter((name) => name in response.headers),
          span: describeServerSpan(spans),
        })
      }
    }
    expect(results.express5).toEqual(results.express4)
    expect(results.koa2).toEqual(results.express4)
    expect(results.koa3).toEqual(results.express4)
  }
})
