import { IncomingMessage, ServerResponse } from 'node:http'
import { Socket } from 'node:net'
import { exposeHeaders, setServerTimingTrace } from './response-head'

// A real ServerResponse (never written): its header store is what the browser would receive.
function response(headers: Record<string, string | string[]> = {}): ServerResponse {
  const res = new ServerResponse(new IncomingMessage(new Socket()))
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value)
  return res
}

const OURS = ['x-request-id', 'traceresponse']

/** The header a browser receives once ours are exposed, after the app set `appList` (or none). */
function exposedAfter(appList?: string | string[]): unknown {
  const res = response(appList === undefined ? {} : { 'Access-Control-Expose-Headers': appList })
  exposeHeaders(res, OURS)
  return res.getHeader('access-control-expose-headers')
}

describe('exposeHeaders: Access-Control-Expose-Headers lets browser scripts read our headers', () => {
  test('without a list from the app, ours are the list', () => {
    expect(exposedAfter()).toBe('x-request-id, traceresponse')
  })

  test("the app's list (a string or repeated header) is kept and ours appended, none twice", () => {
    expect(exposedAfter('ETag, X-Request-Id')).toBe('ETag, X-Request-Id, traceresponse')
    expect(exposedAfter(['ETag', 'Link'])).toBe('ETag, Link, x-request-id, traceresponse')
  })

  test('a list that already names them all, or `*` (every header exposed), is left as it is', () => {
    expect(exposedAfter('traceresponse,X-REQUEST-ID')).toBe('traceresponse,X-REQUEST-ID')
    expect(exposedAfter('ETag, *')).toBe('ETag, *')
  })

  test('a blank list from the app is replaced, not kept as a leading comma', () => {
    expect(exposedAfter('  ')).toBe('x-request-id, traceresponse')
  })
})

describe('setServerTimingTrace: our trace metric in Server-Timing', () => {
  const VALUE = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'

  test("the app's metrics are kept and one trace metric added", () => {
    const res = response({ 'server-timing': ['db;dur=53', 'cache;desc="hit", app;dur=2'] })
    setServerTimingTrace(res, VALUE)
    expect(res.getHeader('server-timing')).toBe(`db;dur=53, cache;desc="hit", app;dur=2, trace;desc=${VALUE}`)
  })

  test('a trace metric already there (ours from start, or the app’s) is replaced, never doubled', () => {
    const res = response({ 'server-timing': 'trace;desc=old, db;dur=1, TRACE' })
    setServerTimingTrace(res, VALUE)
    setServerTimingTrace(res, VALUE)
    expect(res.getHeader('server-timing')).toBe(`db;dur=1, trace;desc=${VALUE}`)
  })
})
