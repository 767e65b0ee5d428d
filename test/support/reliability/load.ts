/**
 * Steady traffic at a service on 127.0.0.1: `count` GETs over `concurrency` keep-alive connections,
 * each checked as a user would (status and body), so a request broken by tracing fails the test.
 */
import { Agent, request } from 'node:http'
import { connect } from 'node:net'

export interface LoadRequest {
  path: string
  headers?: Record<string, string>
}

export interface LoadResult {
  sent: number
  /** Requests whose answer was not the expected one, with what came back (the first 5 kept). */
  wrong: number
  examples: string[]
  elapsedMs: number
}

/** GET `path` and its body as text. */
export function get(
  agent: Agent,
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, agent }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

/**
 * Sends `count` requests (request `i` from `make(i)`) and checks each with `expected(i, status, body)`.
 * Stops early, without failing, once `until()` returns true (checked between requests).
 */
export async function drive(
  port: number,
  count: number,
  concurrency: number,
  make: (index: number) => LoadRequest,
  isExpected: (index: number, status: number, body: string) => boolean,
): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency })
  const result: LoadResult = { sent: 0, wrong: 0, examples: [], elapsedMs: 0 }
  const start = performance.now()
  let next = 0
  const worker = async () => {
    while (next < count) {
      const index = next++
      const { path, headers } = make(index)
      let outcome: string
      try {
        const { status, body } = await get(agent, port, path, headers)
        outcome = isExpected(index, status, body) ? '' : `${path} -> ${status} ${body.slice(0, 200)}`
      } catch (error) {
        outcome = `${path} -> ${String(error)}`
      }
      result.sent++
      if (outcome !== '') {
        result.wrong++
        if (result.examples.length < 5) result.examples.push(outcome)
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  agent.destroy()
  result.elapsedMs = Math.round(performance.now() - start)
  return result
}

/**
 * The same traffic with the client's cost kept small: `connections` sockets, each writing `depth`
 * pipelined requests at a time and reading the answers by Content-Length. For the memory runs, where
 * hundreds of thousands of requests must fit in the suite's time. Every answer is still checked.
 */
export async function drivePipelined(
  port: number,
  count: number,
  connections: number,
  depth: number,
  make: (index: number) => LoadRequest,
  isExpected: (index: number, status: number, body: string) => boolean,
): Promise<LoadResult> {
  const result: LoadResult = { sent: 0, wrong: 0, examples: [], elapsedMs: 0 }
  const start = performance.now()
  let next = 0
  const connection = () =>
    new Promise<void>((resolve, reject) => {
      const socket = connect({ port, host: '127.0.0.1' })
      let pending: number[] = []
      let buffer: Buffer = Buffer.alloc(0)
      const sendBatch = () => {
        if (next >= count) {
          socket.end()
          return
        }
        const batch: string[] = []
        while (batch.length < depth && next < count) {
          const index = next++
          pending.push(index)
          const { path, headers = {} } = make(index)
          const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`)
          batch.push(`GET ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\n${lines.join('')}\r\n`)
        }
        socket.write(batch.join(''))
      }
      socket.on('connect', sendBatch)
      socket.on('data', (chunk: Buffer) => {
        buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk])
        for (;;) {
          const headEnd = buffer.indexOf('\r\n\r\n')
          if (headEnd < 0) break
          const head = buffer.subarray(0, headEnd).toString('latin1')
          const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0)
          if (buffer.length < headEnd + 4 + length) break
          const body = buffer.subarray(headEnd + 4, headEnd + 4 + length).toString('utf8')
          buffer = buffer.subarray(headEnd + 4 + length)
          const status = Number(head.slice(9, 12))
          const index = pending.shift()!
          result.sent++
          if (!isExpected(index, status, body)) {
            result.wrong++
            if (result.examples.length < 5)
              result.examples.push(`#${index} -> ${status} ${body.slice(0, 200)}`)
          }
          if (pending.length === 0) {
            pending = []
            sendBatch()
          }
        }
      })
      socket.on('error', reject)
      socket.on('close', () => {
        if (pending.length > 0)
          reject(new Error(`connection closed with ${pending.length} requests unanswered`))
        else resolve()
      })
    })
  await Promise.all(Array.from({ length: connections }, connection))
  result.elapsedMs = Math.round(performance.now() - start)
  return result
}
