import type { IncomingMessage } from 'node:http'
import fc from 'fast-check'
import { resolveClientAddress } from './client-address'

function req(remoteAddress: string | undefined, forwarded?: string): IncomingMessage {
  return {
    socket: { remoteAddress },
    headers: forwarded === undefined ? {} : { 'x-forwarded-for': forwarded },
  } as never
}

describe('resolveClientAddress', () => {
  test('without trust, the socket peer', () => {
    expect(resolveClientAddress(req('10.0.0.2', '1.2.3.4'), { trust: false })).toBe('10.0.0.2')
  })
  test('trust true: the left-most address, bounded by maxHops (Koa)', () => {
    expect(resolveClientAddress(req('10.0.0.2', '1.2.3.4, 5.6.7.8'), { trust: true })).toBe('1.2.3.4')
    expect(resolveClientAddress(req('10.0.0.2', '1.2.3.4, 5.6.7.8'), { trust: true, maxHops: 1 })).toBe(
      '5.6.7.8',
    )
    expect(resolveClientAddress(req('10.0.0.2', 'forged, 5.6.7.8'), { trust: true })).toBe('10.0.0.2')
  })
  test('trust function: the first untrusted hop from the socket (Express / proxy-addr)', () => {
    const trust = (address: string) => address.startsWith('10.')
    expect(resolveClientAddress(req('10.0.0.2', '1.2.3.4, 9.9.9.9, 10.0.0.1'), { trust })).toBe('9.9.9.9')
    expect(resolveClientAddress(req('8.8.8.8', '1.2.3.4'), { trust })).toBe('8.8.8.8')
    expect(resolveClientAddress(req('10.0.0.2', '1.2.3.4, junk'), { trust })).toBe('10.0.0.2')
  })
  test('property: never throws, and returns the peer or an IP address from the header', () => {
    const { isIP } = require('node:net') as typeof import('node:net')
    fc.assert(
      fc.property(fc.string({ maxLength: 3000 }), fc.boolean(), (header, trustAll) => {
        const result = resolveClientAddress(req('10.0.0.2', header), { trust: trustAll ? true : () => true })
        expect(result === '10.0.0.2' || isIP(result ?? '') !== 0).toBe(true)
      }),
    )
  })
})
