/**
 * A collector stand-in on 127.0.0.1 that can misbehave: it answers 200 (decoding OTLP/HTTP protobuf or
 * JSON with @traceweave/view's decoders, as a collector would), answers 503 or 429, or accepts the
 * request and never answers. `closedPort()` (test/support/http-services) covers "refuses connections".
 */
import type { ViewSpan } from '@traceweave/view/render'
import { decodeTracesJson, decodeTracesProtobuf } from '@traceweave/view'
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gunzipSync } from 'node:zlib'

export type ReceiverMode = 'ok' | 'hang' | 503 | 429

export interface FaultyReceiver {
  /** `http://127.0.0.1:<port>/v1/traces` */
  readonly url: string
  mode: ReceiverMode
  /** In mode 'ok', answer this much later (a slow collector: the export queue backs up). */
  delayMillis: number
  /** Export requests received, in every mode. */
  readonly requests: () => number
  /** Spans decoded from the requests answered 200. */
  readonly spans: ViewSpan[]
  close(): Promise<void>
}

export async function startFaultyReceiver(mode: ReceiverMode = 'ok'): Promise<FaultyReceiver> {
  let requests = 0
  const spans: ViewSpan[] = []
  const hung: ServerResponse[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      requests++
      const current = receiver.mode
      if (current === 'hang') {
        hung.push(res)
        return
      }
      if (current !== 'ok') {
        res.writeHead(current, { 'retry-after': '1' }).end()
        return
      }
      let body = Buffer.concat(chunks)
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body)
      const decoded = String(req.headers['content-type']).includes('json')
        ? decodeTracesJson(body.toString('utf8'))
        : decodeTracesProtobuf(body)
      if (decoded === undefined) {
        res.writeHead(400).end()
        return
      }
      for (const span of decoded.spans) spans.push(span)
      const answer = () => res.writeHead(200, { 'content-type': String(req.headers['content-type']) }).end()
      if (receiver.delayMillis > 0) setTimeout(answer, receiver.delayMillis)
      else answer()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const receiver: FaultyReceiver = {
    url: `http://127.0.0.1:${port}/v1/traces`,
    mode,
    delayMillis: 0,
    requests: () => requests,
    spans,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hung) res.destroy()
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
  return receiver
}
