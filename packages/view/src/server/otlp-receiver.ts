import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http'
import { gunzip, inflate, type InputType } from 'node:zlib'
import { decodeTracesJson, decodeTracesProtobuf } from '../otlp/decode'
import { ExportTraceServiceResponse, RpcStatus } from '../otlp/schema'
import type { TraceStore } from '../store/trace-store'

/** Options of {@link createOtlpReceiver}. */
export interface OtlpReceiverOptions {
  /** Largest request body, compressed and decompressed, in bytes. Default 16 MiB. */
  maxBodyBytes?: number
}

type Signal = 'traces' | 'metrics' | 'logs'
type Encoding = 'protobuf' | 'json'

const SIGNALS: Record<string, Signal> = {
  '/v1/traces': 'traces',
  '/v1/metrics': 'metrics',
  '/v1/logs': 'logs',
}
const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
// A web app in development (http://localhost:3000, ...) may send spans from the browser; other origins may not.
const LOOPBACK_ORIGIN = /^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$/
const HEADER_LIST = /^[A-Za-z0-9-]+(\s*,\s*[A-Za-z0-9-]+)*$/

/** Thrown inside the handler for a request that gets a 400; the message goes into the response. */
class BadRequest extends Error {}

/**
 * The OTLP/HTTP receiver: `POST /v1/traces` (protobuf or JSON, gzip, deflate or none) decoded into
 * `store`; `/v1/metrics` and `/v1/logs` accepted and counted (not decoded). A malformed, oversized or
 * undecodable body gets a 400 with a `google.rpc.Status` body and is counted; nothing a sender
 * does can throw out of the handler.
 */
export function createOtlpReceiver(store: TraceStore, options: OtlpReceiverOptions = {}): RequestListener {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES
  return function otlpReceiver(req, res) {
    handle(req, res).catch((error: unknown) => {
      const bad = error instanceof BadRequest
      store.stats.rejectedRequests++
      reply(res, bad ? 400 : 500, encodingOf(req), { code: bad ? 3 : 13, message: (error as Error).message })
    })
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0]!
    const signal = SIGNALS[path]
    if (signal === undefined)
      return void reply(res, 404, 'json', { code: 5, message: `no OTLP endpoint at this path` })
    const origin = req.headers.origin
    const allowedOrigin = origin !== undefined && LOOPBACK_ORIGIN.test(origin)
    if (allowedOrigin) {
      res.setHeader('access-control-allow-origin', origin)
      res.setHeader('vary', 'origin')
    }
    if (req.method === 'OPTIONS' && origin !== undefined) {
      // CORS preflight of a browser SDK's exporter: loopback origins only.
      if (!allowedOrigin) return void res.writeHead(403).end()
      const requested = req.headers['access-control-request-headers'] ?? ''
      res.writeHead(204, {
        'access-control-allow-methods': 'POST',
        'access-control-allow-headers':
          requested.length <= 1000 && HEADER_LIST.test(requested)
            ? requested
            : 'content-type, content-encoding',
        'access-control-max-age': '600',
      })
      return void res.end()
    }
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST')
      return void reply(res, 405, 'json', { code: 12, message: 'OTLP/HTTP takes POST' })
    }
    const encoding = encodingOf(req)
    if (encoding === undefined) {
      store.stats.rejectedRequests++
      req.resume()
      return void reply(res, 415, 'json', {
        code: 3,
        message: 'content-type must be application/x-protobuf or application/json',
      })
    }
    const body = await decompress(req, await readBody(req, maxBodyBytes), maxBodyBytes)
    if (signal !== 'traces') {
      // Metrics and logs are accepted (a sender must not see errors or retry) and counted.
      store.stats.requests[signal]++
      return void reply(res, 200, encoding, undefined)
    }
    const decoded =
      encoding === 'protobuf' ? decodeTracesProtobuf(body) : decodeTracesJson(body.toString('utf8'))
    if (decoded === undefined)
      throw new BadRequest(`body is not an OTLP ExportTraceServiceRequest (${encoding})`)
    store.stats.requests.traces++
    store.stats.rejectedSpans += decoded.rejected
    store.add(decoded.spans)
    reply(
      res,
      200,
      encoding,
      undefined,
      decoded.rejected > 0
        ? {
            rejectedSpans: decoded.rejected,
            errorMessage: 'spans without a valid trace or span ID were dropped',
          }
        : undefined,
    )
  }
}

function encodingOf(req: IncomingMessage): Encoding | undefined {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
  if (type === 'application/x-protobuf' || type === 'application/protobuf') return 'protobuf'
  if (type === 'application/json') return 'json'
  return undefined
}

function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'])
    if (declared > max) {
      // Answer at once; the rest of the body is read and discarded, so the sender sees the 400.
      req.resume()
      return reject(new BadRequest(`body larger than ${max} bytes`))
    }
    const chunks: Buffer[] = []
    let size = 0
    let done = false
    req.on('data', (chunk: Buffer) => {
      if (done) return
      size += chunk.length
      if (size > max) {
        done = true
        chunks.length = 0 // keep reading (and discarding) so the sender sees the 400
        reject(new BadRequest(`body larger than ${max} bytes`))
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => {
      if (!done) resolve(Buffer.concat(chunks))
      done = true
    })
    req.on('error', (error) => {
      if (!done) reject(new BadRequest(`request failed: ${error.message}`))
      done = true
    })
    // A sender gone mid-body ('error' usually says so; 'close' always does): let go of what was read.
    req.on('close', () => {
      if (!done) reject(new BadRequest('the sender closed the connection before the body ended'))
      done = true
    })
  })
}

function decompress(req: IncomingMessage, body: Buffer, max: number): Promise<Buffer> {
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase()
  if (encoding === 'identity' || encoding === '') return Promise.resolve(body)
  const method = encoding === 'gzip' ? gunzip : encoding === 'deflate' ? inflate : undefined
  if (method === undefined)
    return Promise.reject(new BadRequest('content-encoding must be gzip, deflate or none'))
  return new Promise((resolve, reject) => {
    method(body as InputType, { maxOutputLength: max }, (error, result) => {
      if (error)
        reject(new BadRequest(`cannot decompress the ${encoding} body (or larger than ${max} bytes)`))
      else resolve(result)
    })
  })
}

function reply(
  res: ServerResponse,
  status: number,
  encoding: Encoding | undefined,
  error: { code: number; message: string } | undefined,
  partialSuccess?: { rejectedSpans: number; errorMessage: string },
): void {
  if (res.headersSent) return
  let body: Uint8Array | string
  if (encoding === 'protobuf') {
    body = error
      ? RpcStatus.encode(RpcStatus.fromObject(error)).finish()
      : ExportTraceServiceResponse.encode(
          ExportTraceServiceResponse.fromObject(partialSuccess ? { partialSuccess } : {}),
        ).finish()
  } else {
    body = JSON.stringify(error ?? (partialSuccess ? { partialSuccess } : {}))
  }
  res.writeHead(status, {
    'content-type': encoding === 'protobuf' ? 'application/x-protobuf' : 'application/json',
    'content-length': Buffer.byteLength(body),
  })
  res.end(body)
}
