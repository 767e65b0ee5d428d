/**
 * `url.path` comes from strangers: a server with a raised `maxHeaderSize` lets a 64 KB request target
 * through, and the attribute must stay bounded (2048 characters, as the README documents).
 */
import { createServer, request as httpRequest } from 'node:http'
import {
  buildApp,
  FRAMEWORKS,
  serverSpans,
  useMiddlewareTracing,
  waitForSpans,
  type Framework,
} from './support/middleware-apps'
import { listen, type ListeningServer } from './support/servers'

const URL_PATH_LIMIT = 2048

const tracing = useMiddlewareTracing()

async function get(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const call = httpRequest({ host: '127.0.0.1', port, path }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    call.on('error', reject)
    call.end()
  })
}

describe.each(FRAMEWORKS)('%s', (framework: Framework) => {
  let server: ListeningServer
  let port: number
  beforeAll(async () => {
    // A raised maxHeaderSize, as the defect was seen with: Node's default (16 KB) would answer 431.
    server = await listen(createServer({ maxHeaderSize: 256 * 1024 }, buildApp(framework) as never))
    port = server.port
  })
  afterAll(() => server.close())

  test('url.path longer than 2048 characters is cut to its first 2048', async () => {
    const path = `/nowhere/${'a'.repeat(65_534)}`
    expect(await get(port, `${path}?q=${'b'.repeat(100)}`)).toBe(404)
    const [span] = serverSpans(await waitForSpans(tracing, (all) => serverSpans(all).length === 1))
    expect(span.attributes['url.path']).toBe(path.slice(0, URL_PATH_LIMIT))
    expect(span.name).toBe('GET')
  })

  test('url.path of exactly 2048 characters is kept whole', async () => {
    const path = `/users/${'7'.repeat(URL_PATH_LIMIT - '/users/'.length)}`
    expect(await get(port, path)).toBe(200)
    const [span] = serverSpans(await waitForSpans(tracing, (all) => serverSpans(all).length === 1))
    expect(span.attributes['url.path']).toBe(path)
    expect(span.name).toBe('GET /users/:id')
  })
})
