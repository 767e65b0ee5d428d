import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import { ROOT_CONTEXT, SpanKind, context, propagation, trace } from '@opentelemetry/api'
import { setRequestState } from '@traceweave/core'
import { listen } from './servers'

/**
 * Framework-free traced services for the client tests: plain node:http servers that extract the
 * caller's context with the OpenTelemetry API only (no traceweave middleware, so a client test fails
 * for the client's reasons alone), run the handler inside a SERVER span with a request record (request
 * ID from `x-request-id` or generated), and remember the headers of every request they received, so a
 * test can check what a downstream service saw. Services with the real middleware: `./services`.
 */
export interface TestService {
  readonly name: string
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  readonly port: number
  /** Every request received, in order. */
  readonly requests: { method: string; path: string; headers: IncomingHttpHeaders }[]
  close(): Promise<void>
}

export type ServiceHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>

let generatedIds = 0

export async function startService(name: string, handler: ServiceHandler): Promise<TestService> {
  const tracer = trace.getTracer('test-services')
  const requests: TestService['requests'] = []
  const server = createServer((req, res) => {
    const path = req.url ?? '/'
    requests.push({ method: req.method ?? 'GET', path, headers: { ...req.headers } })
    const parent = propagation.extract(ROOT_CONTEXT, req.headers)
    const span = tracer.startSpan(
      `${req.method} ${path.split('?')[0]}`,
      { kind: SpanKind.SERVER, attributes: { service: name } },
      parent,
    )
    const incomingId = req.headers['x-request-id']
    const requestId = typeof incomingId === 'string' ? incomingId : `${name}-${++generatedIds}`
    const ctx = setRequestState(trace.setSpan(parent, span), { requestId, correlationAttributes: {} })
    res.on('close', () => span.end())
    context.with(ctx, async () => {
      try {
        await handler(req, res)
      } catch (error) {
        if (!res.headersSent) res.writeHead(500)
        res.end(String(error))
      }
    })
  })
  // Tests end quickly; do not let keep-alive sockets hold close() open.
  server.keepAliveTimeout = 100
  const { url, port, close } = await listen(server)
  return { name, url, port, requests, close }
}

/** Sends a JSON body. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers })
  res.end(JSON.stringify(body))
}
