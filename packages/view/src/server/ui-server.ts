import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http'
import type { StoredTrace, TraceStore } from '../store/trace-store'
import { loadUiAssets } from './assets'
import { traceDetail } from './report'

/** Options of {@link createUiServer}. */
export interface UiServerOptions {
  /** Host names the page answers to besides the loopback ones (the explicit `--host`). */
  extraHosts?: string[]
  /** Live-update (server-sent events) connections held at once; more get a 503. Default 32. */
  maxEventClients?: number
}

const TRACE_PATH = /^\/api\/traces\/([0-9a-f]{32})$/
const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]']
const IPV4_LITERAL = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/
const IPV6_LITERAL = /^\[[0-9a-f:.]+\]$/

/**
 * The web page: `/` (HTML), `/style.css`, `/app.js`, `/api/traces` (summaries, newest first, with the
 * counters), `/api/traces/<id>` (summary and waterfall) and `/api/events` (server-sent events, one
 * per completed trace). Every request must carry a `Host` the page expects, with its port: a loopback
 * name, the explicit host, or an IP literal; so a web site cannot read traces through DNS rebinding.
 */
export function createUiServer(
  store: TraceStore,
  getPort: () => number,
  options: UiServerOptions = {},
): { handler: RequestListener; close(): void } {
  const { html, css, js } = loadUiAssets()
  const maxClients = options.maxEventClients ?? 32
  const clients = new Set<ServerResponse>()
  const names = [
    ...LOOPBACK_NAMES,
    ...(options.extraHosts ?? []).map((host) => (host.includes(':') ? `[${host}]` : host)),
  ]

  const unsubscribe = store.subscribe((trace: StoredTrace) => {
    if (clients.size === 0) return
    const message = `event: trace\ndata: ${JSON.stringify(store.summary(trace))}\n\n`
    for (const client of clients) client.write(message)
  })
  const keepAlive = setInterval(() => {
    for (const client of clients) client.write(': keep-alive\n\n')
  }, 15000)
  keepAlive.unref()

  function hostAllowed(req: IncomingMessage): boolean {
    const host = (req.headers.host ?? '').toLowerCase()
    const port = String(getPort())
    if (!host.endsWith(`:${port}`)) return false
    const name = host.slice(0, -port.length - 1)
    // DNS rebinding needs a host name that an attacker controls; an IP literal cannot be rebound, so
    // http://192.168.1.5:4320 works when --host exposes the page, and evil.example never does.
    return names.includes(name) || IPV4_LITERAL.test(name) || IPV6_LITERAL.test(name)
  }

  const handler: RequestListener = function viewerPage(req, res) {
    try {
      if (!hostAllowed(req)) return send(res, 403, 'text/plain', 'Forbidden: unexpected Host header\n')
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'GET only\n')
      const url = new URL(req.url ?? '/', 'http://viewer')
      const path = url.pathname
      if (path === '/' || path === '/index.html') return send(res, 200, 'text/html; charset=utf-8', html)
      if (path === '/style.css') return send(res, 200, 'text/css; charset=utf-8', css)
      if (path === '/app.js') return send(res, 200, 'text/javascript; charset=utf-8', js)
      if (path === '/api/traces') {
        const limit = Math.min(1000, Math.max(1, Number(url.searchParams.get('limit')) || 200))
        return sendJson(res, { traces: store.list(limit), stats: store.stats })
      }
      const match = TRACE_PATH.exec(path)
      if (match) {
        const trace = store.get(match[1]!)
        return trace
          ? sendJson(res, traceDetail(trace))
          : send(res, 404, 'application/json', '{"error":"no such trace"}')
      }
      if (path === '/api/events') {
        if (clients.size >= maxClients) return send(res, 503, 'text/plain', 'too many live connections\n')
        res.writeHead(200, {
          'content-type': 'text/event-stream',
          'cache-control': 'no-store',
          ...SECURITY_HEADERS,
        })
        res.write(': connected\n\n')
        clients.add(res)
        req.on('close', () => clients.delete(res))
        return
      }
      send(res, 404, 'text/plain', 'Not found\n')
    } catch (error) {
      send(res, 500, 'text/plain', `error: ${(error as Error).message}\n`)
    }
  }
  return {
    handler,
    close() {
      unsubscribe()
      clearInterval(keepAlive)
      for (const client of clients) client.end()
      clients.clear()
    },
  }
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  if (res.headersSent) return void res.end()
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...SECURITY_HEADERS,
  })
  res.end(res.req.method === 'HEAD' ? undefined : body)
}

function sendJson(res: ServerResponse, value: unknown): void {
  send(res, 200, 'application/json; charset=utf-8', JSON.stringify(value))
}
