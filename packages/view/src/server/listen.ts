import { createServer, type RequestListener, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/** A listen failure a person can act on: one line, naming the address and the option to change. */
export class ViewerListenError extends Error {
  constructor(
    message: string,
    /** The system error code (`EADDRINUSE`, `EACCES`, ...). */
    readonly code: string,
  ) {
    super(message)
    this.name = 'ViewerListenError'
  }
}

/** The addresses a server listens on, all on one port. */
export interface Listening {
  servers: Server[]
  port: number
  /** The addresses actually bound (`127.0.0.1`, `::1`, or the explicit host). */
  hosts: string[]
  close(): Promise<void>
}

const LOOPBACK = ['127.0.0.1', '::1']

/** Whether `host` means "this machine only" (the default): unset, `localhost` or a loopback address. */
export function isLoopbackHost(host: string | undefined): boolean {
  return host === undefined || host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)
}

/**
 * Listens with `handler` on `port` of the loopback addresses, IPv4 and IPv6 (`localhost` may resolve
 * to either), or only on `host` when one is given. Port 0 picks a free port, the same on both.
 * An IPv6 loopback the machine lacks is skipped; a port in use rejects with a
 * {@link ViewerListenError} that names `option`.
 */
export async function listenLocal(
  handler: RequestListener,
  { port, host, what, option }: { port: number; host?: string | undefined; what: string; option: string },
): Promise<Listening> {
  const hosts = host === undefined || host === 'localhost' ? LOOPBACK : [host]
  for (let attempt = 0; ; attempt++) {
    const servers: Server[] = []
    const bound: string[] = []
    let chosen = port
    try {
      for (const address of hosts) {
        const server = createServer(handler)
        try {
          await listen(server, chosen, address)
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code ?? 'UNKNOWN'
          // A machine without IPv6 (or without ::1) still serves IPv4 when the host was not chosen.
          if (hosts.length > 1 && address === '::1' && (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT'))
            continue
          throw Object.assign(error as Error, { address })
        }
        servers.push(server)
        bound.push(address)
        chosen = (server.address() as AddressInfo).port
      }
      return { servers, port: chosen, hosts: bound, close: () => closeAll(servers) }
    } catch (error) {
      await closeAll(servers)
      const code = (error as NodeJS.ErrnoException).code ?? 'UNKNOWN'
      const address = (error as { address?: string }).address ?? hosts[0]!
      // Port 0 gave a port free on IPv4 but taken on IPv6: try another pair.
      if (port === 0 && code === 'EADDRINUSE' && attempt < 5) continue
      throw new ViewerListenError(describe(code, what, address, chosen, option, error as Error), code)
    }
  }
}

function describe(
  code: string,
  what: string,
  address: string,
  port: number,
  option: string,
  error: Error,
): string {
  const where = `${address.includes(':') ? `[${address}]` : address}:${port}`
  if (code === 'EADDRINUSE') {
    return `traceweave-view: cannot listen for ${what} on ${where}: the port is already in use (another collector or viewer?); choose another with ${option}`
  }
  if (code === 'EACCES')
    return `traceweave-view: cannot listen for ${what} on ${where}: permission denied; choose another port with ${option}`
  return `traceweave-view: cannot listen for ${what} on ${where}: ${error.message.split('\n')[0]}`
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error)
    server.once('error', onError)
    server.listen({ port, host }, () => {
      server.off('error', onError)
      resolve()
    })
  })
}

async function closeAll(servers: Server[]): Promise<void> {
  await Promise.all(
    servers.map(
      (server) =>
        new Promise<void>((resolve) => {
          if (!server.listening) return resolve()
          server.close(() => resolve())
          server.closeAllConnections()
        }),
    ),
  )
}
