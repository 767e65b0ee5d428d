import type { IncomingMessage } from 'node:http'
import { isIP } from 'node:net'

/**
 * How far the app trusts its reverse proxies, as its framework says: Express's compiled
 * `trust proxy fn` (`(address, hop) => boolean`), or Koa's `app.proxy` with its header and hop count.
 */
export interface ProxyTrust {
  /** `false`: the socket peer is the client. `true`: the left-most forwarded address is. A function: proxy-addr's rule. */
  trust: boolean | ((address: string, hop: number) => boolean)
  /** Lowercase header listing forwarded addresses. Default `x-forwarded-for`. */
  forwardedForHeader?: string
  /** With `trust: true`, how many right-most forwarded addresses to consider (Koa's `maxIpsCount`). 0: all. */
  maxHops?: number
}

// Longer forwarded lists are not parsed: no real proxy chain needs them, and hostile ones cost time.
const MAX_FORWARDED_LENGTH = 2048

/**
 * The `client.address` of a request: the socket peer, or a forwarded address where the app trusts the
 * proxies that sent it. Forwarded entries that are not IP addresses end the walk, so a forged value is
 * never recorded. Never throws on request input.
 */
export function resolveClientAddress(req: IncomingMessage, proxy: ProxyTrust): string | undefined {
  const socketAddress = req.socket?.remoteAddress
  const trust = proxy.trust
  if (trust === false) return socketAddress
  const raw = req.headers[proxy.forwardedForHeader ?? 'x-forwarded-for']
  const list = typeof raw === 'string' && raw.length <= MAX_FORWARDED_LENGTH ? raw.split(',') : undefined
  if (trust === true) {
    if (list === undefined) return socketAddress
    const maxHops = proxy.maxHops ?? 0
    const first = (maxHops > 0 && list.length > maxHops ? list[list.length - maxHops] : list[0]).trim()
    return isIP(first) !== 0 ? first : socketAddress
  }
  if (socketAddress === undefined) return undefined
  // proxy-addr's rule: from the socket towards the client, the first address not trusted is the client.
  let address = socketAddress
  if (list === undefined) return address
  for (let i = list.length - 1, hop = 0; i >= 0; i--, hop++) {
    if (!trust(address, hop)) return address
    const next = list[i].trim()
    if (isIP(next) === 0) return address
    address = next
  }
  return address
}

/** Whether the direct peer is a trusted proxy, so its `X-Forwarded-Proto` / `-Host` may be believed. */
export function isPeerTrusted(req: IncomingMessage, proxy: ProxyTrust): boolean {
  const trust = proxy.trust
  if (typeof trust === 'boolean') return trust
  const peer = req.socket?.remoteAddress
  return peer !== undefined && trust(peer, 0)
}
