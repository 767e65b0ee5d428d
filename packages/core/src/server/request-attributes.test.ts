import type { IncomingMessage } from 'node:http'
import fc from 'fast-check'
import { resolveServerOptions } from './options'
import {
  firstListValue,
  headerAttribute,
  parseHost,
  pathOf,
  schemeOf,
  startAttributes,
} from './request-attributes'

function req(fields: {
  headers?: Record<string, string | string[]>
  remoteAddress?: string
  encrypted?: boolean
  url?: string
  originalUrl?: string
  method?: string
}): IncomingMessage {
  return {
    method: fields.method ?? 'GET',
    url: fields.url ?? '/',
    ...(fields.originalUrl === undefined ? {} : { originalUrl: fields.originalUrl }),
    headers: fields.headers ?? {},
    socket: { remoteAddress: fields.remoteAddress ?? '10.0.0.2', encrypted: fields.encrypted },
  } as never
}

describe('parseHost: server.address and server.port from a Host header', () => {
  test('a name, an IPv4 address or a bracketed IPv6 address, with or without a port; the name lowercased', () => {
    expect(parseHost('Api.Example.COM')).toEqual({ address: 'api.example.com', port: undefined })
    expect(parseHost('api.example.com:8443')).toEqual({ address: 'api.example.com', port: 8443 })
    expect(parseHost('127.0.0.1:3000')).toEqual({ address: '127.0.0.1', port: 3000 })
    expect(parseHost('[::1]:8080')).toEqual({ address: '::1', port: 8080 })
    expect(parseHost('[2001:DB8::1]')).toEqual({ address: '2001:db8::1', port: undefined })
  })

  test('malformed, hostile or oversized values give no attribute (undefined), never a throw', () => {
    for (const bad of [
      '',
      'a b',
      'host:',
      'host:abc',
      'host:65536',
      'host:123456',
      '::1',
      '[::1',
      '[not-ipv6]:80',
      'evil.com/path',
      'user@host',
      'x'.repeat(262),
      `${'a'.repeat(254)}`,
      undefined,
      42,
      ['host'],
    ]) {
      expect(parseHost(bad)).toBeUndefined()
    }
    expect(parseHost('host:65535')).toEqual({ address: 'host', port: 65535 })
    expect(parseHost(`${'a'.repeat(253)}:65535`)).toEqual({ address: 'a'.repeat(253), port: 65535 })
  })

  test('the same Host twice in a row is parsed once (one-slot cache), a new one is parsed afresh', () => {
    const first = parseHost('cache.example:1')
    expect(parseHost('cache.example:1')).toBe(first)
    expect(parseHost('other.example:2')).toEqual({ address: 'other.example', port: 2 })
    expect(parseHost('cache.example:1')).toEqual(first)
    // A malformed value is cached as malformed, not as the previous host.
    expect(parseHost('bad host')).toBeUndefined()
    expect(parseHost('bad host')).toBeUndefined()
  })

  test('property: never throws; a result is the input lowercased, without brackets, with its port', () => {
    const port = fc.integer({ min: 0, max: 65535 })
    const values = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.domain(),
      fc.tuple(fc.domain(), port).map(([name, p]) => `${name.toUpperCase()}:${p}`),
      fc.tuple(fc.ipV6(), port).map(([ip, p]) => `[${ip}]:${p}`),
      fc.ipV4(),
    )
    let parsed = 0
    fc.assert(
      fc.property(values, (value) => {
        const host = parseHost(value)
        if (host === undefined) return
        parsed++
        const address = host.address.includes(':') ? `[${host.address}]` : host.address
        const colon = host.port === undefined ? value.length : value.lastIndexOf(':')
        expect(value.slice(0, colon).toLowerCase()).toBe(address)
        if (host.port !== undefined) expect(Number(value.slice(colon + 1))).toBe(host.port)
        expect(host.port === undefined || host.port <= 65535).toBe(true)
      }),
    )
    // The generators reach the accepting side too (a property over rejections only proves little).
    expect(parsed).toBeGreaterThan(20)
  })
})

describe('schemeOf: url.scheme', () => {
  const trustTenNet = (address: string) => address.startsWith('10.')

  test('X-Forwarded-Proto is believed only from a trusted proxy', () => {
    const forwarded = { 'x-forwarded-proto': 'https' }
    expect(schemeOf(req({ headers: forwarded }), { trust: true })).toBe('https')
    expect(schemeOf(req({ headers: forwarded }), { trust: false })).toBe('http')
    expect(schemeOf(req({ headers: forwarded, remoteAddress: '10.0.0.9' }), { trust: trustTenNet })).toBe(
      'https',
    )
    expect(schemeOf(req({ headers: forwarded, remoteAddress: '8.8.8.8' }), { trust: trustTenNet })).toBe(
      'http',
    )
  })

  test("the first (client-side) entry of a proxy chain's list counts, case-insensitively", () => {
    expect(schemeOf(req({ headers: { 'x-forwarded-proto': 'HTTPS, http' } }), { trust: true })).toBe('https')
    expect(schemeOf(req({ headers: { 'x-forwarded-proto': 'http, https' } }), { trust: true })).toBe('http')
  })

  test('anything but http or https falls back to the socket: TLS is https, plain is http', () => {
    for (const value of ['ftp', 'javascript', '', ' , https', 'https'.padEnd(2000, 's')]) {
      expect(schemeOf(req({ headers: { 'x-forwarded-proto': value } }), { trust: true })).toBe('http')
      expect(
        schemeOf(req({ headers: { 'x-forwarded-proto': value }, encrypted: true }), { trust: true }),
      ).toBe('https')
    }
  })
})

describe('firstListValue and pathOf', () => {
  test('firstListValue: the trimmed first entry; empty, oversized or non-string values give undefined', () => {
    expect(firstListValue(' proxy.example , other')).toBe('proxy.example')
    expect(firstListValue('one')).toBe('one')
    expect(firstListValue(' , two')).toBeUndefined()
    expect(firstListValue('a'.repeat(1025))).toBeUndefined()
    expect(firstListValue(['a', 'b'])).toBeUndefined()
  })

  test('pathOf: the path without the query, from originalUrl when a mounted router rewrote url', () => {
    expect(pathOf(req({ url: '/users/1?token=secret' }))).toBe('/users/1')
    expect(pathOf(req({ url: '/1', originalUrl: '/api/users/1?x=1' }))).toBe('/api/users/1')
  })
})

describe('startAttributes: what a sampler sees when the span starts', () => {
  test('server.port defaults to the scheme; X-Forwarded-Host only from a trusted proxy', () => {
    const headers = { host: 'internal:8080', 'x-forwarded-host': 'public.example' }
    const trusted = startAttributes(req({ headers }), 'GET', '/', 'https', { trust: true }, [])
    expect(trusted).toMatchObject({ 'server.address': 'public.example', 'server.port': 443 })
    const untrusted = startAttributes(req({ headers }), 'GET', '/', 'http', { trust: false }, [])
    expect(untrusted).toMatchObject({ 'server.address': 'internal', 'server.port': 8080 })
  })

  test('an unknown method is _OTHER with the original kept; url.path is cut at 2048 characters', () => {
    const long = `/${'p'.repeat(3000)}`
    const attributes = startAttributes(req({ method: 'BREW' }), '_OTHER', long, 'http', { trust: false }, [])
    expect(attributes['http.request.method']).toBe('_OTHER')
    expect(attributes['http.request.method_original']).toBe('BREW')
    expect((attributes['url.path'] as string).length).toBe(2048)
  })
})

describe('headerAttribute: captured headers (captureHeaders option)', () => {
  const { captureRequestHeaders } = resolveServerOptions({
    captureHeaders: { request: ['x-tenant', 'authorization', 'x-secret'], redact: ['x-secret'] },
  })
  const [tenant, authorization, secret] = captureRequestHeaders

  test('a header is captured as a list of its values; an absent one is left out', () => {
    expect(headerAttribute(tenant, 'acme')).toEqual(['acme'])
    expect(headerAttribute(tenant, ['a', 'b'])).toEqual(['a', 'b'])
    expect(headerAttribute(tenant, undefined)).toBeUndefined()
  })

  test('at most 16 values, each cut at 1024 characters', () => {
    const values = Array.from({ length: 20 }, (_, i) => `${i}`.padEnd(1500, 'v'))
    const captured = headerAttribute(tenant, values)!
    expect(captured).toHaveLength(16)
    expect(captured[0]).toBe(values[0].slice(0, 1024))
    expect(captured.every((value) => value.length === 1024)).toBe(true)
  })

  test('always-redacted (authorization) and redact-listed headers are recorded as [REDACTED], never their value', () => {
    expect(headerAttribute(authorization, 'Bearer abc')).toEqual(['[REDACTED]'])
    expect(headerAttribute(secret, ['s1', 's2'])).toEqual(['[REDACTED]'])
    const attributes = startAttributes(
      req({ headers: { authorization: 'Bearer abc', 'x-tenant': 'acme' } }),
      'GET',
      '/',
      'http',
      { trust: false },
      captureRequestHeaders,
    )
    expect(attributes['http.request.header.authorization']).toEqual(['[REDACTED]'])
    expect(attributes['http.request.header.x-tenant']).toEqual(['acme'])
    expect(JSON.stringify(attributes)).not.toContain('Bearer abc')
  })
})
