/**
 * Real HTTP servers for tests: every one listens on 127.0.0.1 (never a public interface) on a port the
 * OS picks, and closes without waiting for clients: `close()` destroys open and keep-alive sockets
 * first, so a test that ends with a connection still open does not hold jest up.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void

export interface ListeningServer {
  readonly server: Server
  readonly port: number
  /** `http://<host>:<port>`, no trailing slash. */
  readonly url: string
  /** Destroys every connection, then closes the server. */
  close(): Promise<void>
}

export interface ListenOptions {
  /** Loopback only: `127.0.0.1` (the default), another 127.x address, or `::1`. */
  host?: string
  /** The listen backlog, for load tests that open many connections at once. */
  backlog?: number
}

/**
 * Listens with `handler` (or an already built `server`, an app's own or one with settings of its own)
 * on `host` with an ephemeral port.
 */
export async function listen(
  handlerOrServer: RequestHandler | Server = () => undefined,
  options: ListenOptions = {},
): Promise<ListeningServer> {
  const host = options.host ?? '127.0.0.1'
  const server = typeof handlerOrServer === 'function' ? createServer(handlerOrServer) : handlerOrServer
  await new Promise<void>((resolve) =>
    server.listen(
      options.backlog === undefined ? { port: 0, host } : { port: 0, host, backlog: options.backlog },
      resolve,
    ),
  )
  const { port } = server.address() as AddressInfo
  return {
    server,
    port,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () => closeServer(server),
  }
}

/** Destroys every connection of `server` (keep-alive ones too), then closes it. */
export function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  })
}

/** A port on 127.0.0.1 where nothing listens (a server opened and closed), for network errors. */
export async function closedPort(): Promise<number> {
  const { port, close } = await listen()
  await close()
  return port
}
