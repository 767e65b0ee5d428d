/**
 * An OTLP/HTTP trace receiver on 127.0.0.1, a collector stand-in for tests of the real exporter. It
 * decodes OTLP/HTTP protobuf or JSON (gzip too) with @traceweave/view's decoders, as a collector
 * would, and answers as a collector does; or it misbehaves on demand: it answers 503 or 429, or it
 * accepts the request and never answers. For "refuses connections", use `closedPort()` (./servers).
 * A test that checks the wire form itself (headers, the raw JSON) reads every request in `onExport`.
 */
import type { ViewSpan } from '@traceweave/view/render'
import { decodeTracesJson, decodeTracesProtobuf } from '@traceweave/view'
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'
import { gunzipSync } from 'node:zlib'
import { listen } from './servers'

export type ReceiverMode = 'ok' | 'hang' | 503 | 429

/** One export request as it arrived (the body gunzipped when it was sent compressed). */
export interface OtlpExport {
  path: string
  headers: IncomingHttpHeaders
  body: Buffer
}

export interface OtlpReceiver {
  /** `http://127.0.0.1:<port>`, for `OTEL_EXPORTER_OTLP_ENDPOINT` (the exporter adds `/v1/traces`). */
  readonly origin: string
  /** `http://127.0.0.1:<port>/v1/traces` */
  readonly url: string
  mode: ReceiverMode
  /** In mode 'ok', answer this much later (a slow collector: the export queue backs up). */
  delayMillis: number
  /** Called with every export request, in every mode, before it is answered. */
  onExport: ((request: OtlpExport) => void) | undefined
  /** Export requests received, in every mode. */
  readonly requests: () => number
  /** Spans decoded from the requests answered 200. */
  readonly spans: ViewSpan[]
  close(): Promise<void>
}

const isJson = (headers: IncomingHttpHeaders) => String(headers['content-type']).includes('json')

export async function startOtlpReceiver(mode: ReceiverMode = 'ok'): Promise<OtlpReceiver> {
  let requests = 0
  const spans: ViewSpan[] = []
  const hung: ServerResponse[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      requests++
      let body = Buffer.concat(chunks)
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body)
      receiver.onExport?.({ path: req.url ?? '/', headers: req.headers, body })
      const current = receiver.mode
      if (current === 'hang') {
        hung.push(res)
        return
      }
      if (current !== 'ok') {
        res.writeHead(current, { 'retry-after': '1' }).end()
        return
      }
      const decoded = isJson(req.headers)
        ? decodeTracesJson(body.toString('utf8'))
        : decodeTracesProtobuf(body)
      if (decoded === undefined) {
        res.writeHead(400).end()
        return
      }
      for (const span of decoded.spans) spans.push(span)
      // An empty ExportTraceServiceResponse: `{}` in JSON, no bytes in protobuf.
      const answer = () =>
        res
          .writeHead(200, { 'content-type': String(req.headers['content-type']) })
          .end(isJson(req.headers) ? '{}' : undefined)
      if (receiver.delayMillis > 0) setTimeout(answer, receiver.delayMillis)
      else answer()
    })
  })
  const listening = await listen(server)
  const receiver: OtlpReceiver = {
    origin: listening.url,
    url: `${listening.url}/v1/traces`,
    mode,
    delayMillis: 0,
    onExport: undefined,
    requests: () => requests,
    spans,
    close: () => {
      for (const res of hung) res.destroy()
      return listening.close()
    },
  }
  return receiver
}
