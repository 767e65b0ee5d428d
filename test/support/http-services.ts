import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { ROOT_CONTEXT, SpanKind, context, propagation, trace } from '@opentelemetry/api'
import { setRequestState } from '@traceweave/core'

/**
 * Stand-ins for traced Express and Koa services, until the middlewares land: plain node:http servers
 * that extract the caller's context with the OpenTelemetry API, run the handler inside a SERVER span
 * with a request record (request ID from `x-request-id` or generated), and remember the headers of
 * every request they received, so a test can check what a downstream service saw.
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
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    name,
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
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

/** A port on 127.0.0.1 where nothing listens (a server opened and closed), for network errors. */
export async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}
