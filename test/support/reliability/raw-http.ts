/**
 * HTTP as bytes, for requests no HTTP client would send (control characters, CR/LF inside a value,
 * repeated lines) and for reading a response exactly as it came off the socket.
 */
import { connect } from 'node:net'

/**
 * A response as received: status, header lines in order (names lowercased), the body's raw bytes.
 * Status 0 when the connection was reset before a whole response head arrived (Node resets a
 * connection it refused while the client is still writing, e.g. a request head over 16 KB).
 */
export interface RawResponse {
  status: number
  headers: Array<[name: string, value: string]>
  body: Buffer
}

/**
 * Writes `request` to a new connection to `host:port` and reads until the server closes it (send
 * `Connection: close`). Rejects after `timeoutMillis`, or on a socket error with nothing received.
 */
export function sendRaw(
  port: number,
  request: Buffer,
  host = '127.0.0.1',
  timeoutMillis = 15000,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host })
    const chunks: Buffer[] = []
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no complete answer from ${host}:${port} within ${timeoutMillis} ms`))
    }, timeoutMillis)
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    let failure: NodeJS.ErrnoException | undefined
    socket.on('error', (error) => (failure = error))
    socket.on('close', () => {
      clearTimeout(timer)
      const raw = Buffer.concat(chunks)
      const parsed = parseResponse(raw)
      if (parsed !== undefined) resolve(parsed)
      else if (failure?.code === 'ECONNRESET' || failure?.code === 'EPIPE') {
        resolve({ status: 0, headers: [], body: Buffer.alloc(0) })
      } else reject(failure ?? new Error(`not an HTTP response: ${JSON.stringify(raw.toString('latin1'))}`))
    })
    socket.end(request)
  })
}

function parseResponse(raw: Buffer): RawResponse | undefined {
  const end = raw.indexOf('\r\n\r\n')
  if (end < 0) return undefined
  const [statusLine, ...lines] = raw.subarray(0, end).toString('latin1').split('\r\n')
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')
  if (match === null) return undefined
  const headers = lines.map((line): [string, string] => {
    const colon = line.indexOf(':')
    return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()]
  })
  return { status: Number(match[1]), headers, body: raw.subarray(end + 4) }
}

/** Runs `task(i)` for i in [0, count) with at most `concurrency` at a time; rejects on the first failure. */
export async function inParallel(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<void>,
): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < count) await task(next++)
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
}
