import type { Attributes, Span } from '@opentelemetry/api'
import type { IncomingMessage } from 'node:http'
import type { TLSSocket } from 'node:tls'
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_HTTP_REQUEST_METHOD_ORIGINAL,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_USER_AGENT_ORIGINAL,
} from './attributes'
import { isPeerTrusted, resolveClientAddress, type ProxyTrust } from './client-address'
import type { CapturedHeader } from './options'

/**
 * What a server span says about its request: the semantic-convention attributes read from the
 * incoming request (method, path, scheme, host, client, user agent) and the headers the app asked to
 * capture. Every reader here takes headers from strangers: values are bounded, and malformed ones are
 * left out, never thrown on.
 */

// Captured header values and the user agent are cut here: attributes are not a place for bulk data.
const MAX_HEADER_ATTRIBUTE_LENGTH = 1024
// Repeated headers past this many values are not captured: the first ones tell what a reader needs.
const MAX_HEADER_ATTRIBUTE_VALUES = 16
// `url.path` is cut too (a raised `maxHeaderSize` lets 64 KB targets through); 2048 keeps every path a
// browser or CDN commonly accepts whole.
const MAX_URL_PATH_LENGTH = 2048
// Longer than any value HOST_PATTERN accepts (a 253-character name, `:` and a port): the regex never
// runs on bulk input.
const MAX_HOST_LENGTH = 261
// Host header: a DNS name or IPv4 address, or a bracketed IPv6 address, then an optional port.
const HOST_PATTERN = /^(?:\[([0-9A-Fa-f:.]{2,45})\]|([A-Za-z0-9.-]{1,253}))(?::([0-9]{1,5}))?$/

/**
 * The attributes a sampler may judge, given when the span starts: method, path, scheme, host and the
 * captured request headers.
 */
export function startAttributes(
  req: IncomingMessage,
  method: string,
  path: string,
  scheme: string,
  proxy: ProxyTrust,
  captured: readonly CapturedHeader[],
): Attributes {
  const headers = req.headers
  // Literal keys (not the ATTR_ constants) let V8 build this hot object from a boilerplate.
  const attributes: Attributes = {
    'http.request.method': method,
    'url.path': path.length > MAX_URL_PATH_LENGTH ? path.slice(0, MAX_URL_PATH_LENGTH) : path,
    'url.scheme': scheme,
  }
  if (method === '_OTHER' && req.method !== undefined)
    attributes[ATTR_HTTP_REQUEST_METHOD_ORIGINAL] = req.method
  const forwardedHost = isPeerTrusted(req, proxy) ? firstListValue(headers['x-forwarded-host']) : undefined
  const host = parseHost(forwardedHost ?? headers.host)
  if (host !== undefined) {
    attributes[ATTR_SERVER_ADDRESS] = host.address
    attributes[ATTR_SERVER_PORT] = host.port ?? (scheme === 'https' ? 443 : 80)
  }
  for (const header of captured) {
    const value = headerAttribute(header, headers[header.name])
    if (value !== undefined) attributes[header.attribute] = value
  }
  return attributes
}

/**
 * The attributes no sampling decision needs, set only on a span that records: a request the sampler
 * drops (a parent that says no) does not pay for them.
 */
export function addRecordingAttributes(span: Span, req: IncomingMessage, proxy: ProxyTrust): void {
  if (typeof req.httpVersion === 'string') span.setAttribute(ATTR_NETWORK_PROTOCOL_VERSION, req.httpVersion)
  const client = resolveClientAddress(req, proxy)
  if (client !== undefined) span.setAttribute(ATTR_CLIENT_ADDRESS, client)
  const userAgent = req.headers['user-agent']
  if (typeof userAgent === 'string')
    span.setAttribute(ATTR_USER_AGENT_ORIGINAL, userAgent.slice(0, MAX_HEADER_ATTRIBUTE_LENGTH))
}

/** Sets the `captured` headers found in `headers` (request or response) on `span`. */
export function captureHeaders(
  span: Span,
  captured: readonly CapturedHeader[],
  headers: Record<string, unknown>,
): void {
  for (const header of captured) {
    const value = headerAttribute(header, headers[header.name])
    if (value !== undefined) span.setAttribute(header.attribute, value)
  }
}

/**
 * A captured header's attribute value: `undefined` when the header is absent, `['[REDACTED]']` for a
 * redacted one, else its first 16 values, each cut at 1024 characters.
 */
export function headerAttribute(header: CapturedHeader, value: unknown): string[] | undefined {
  if (value === undefined) return undefined
  if (header.redacted) return ['[REDACTED]']
  const values = Array.isArray(value) ? value : [value]
  return values
    .slice(0, MAX_HEADER_ATTRIBUTE_VALUES)
    .map((one) => String(one).slice(0, MAX_HEADER_ATTRIBUTE_LENGTH))
}

/** The request's path, without its query: `url.path` and what the ignore options match. */
export function pathOf(req: IncomingMessage): string {
  // Connect-style frameworks rewrite req.url inside mounted routers; originalUrl keeps the full target.
  const url = (req as { originalUrl?: unknown }).originalUrl
  const target = typeof url === 'string' ? url : (req.url ?? '/')
  const query = target.indexOf('?')
  return query === -1 ? target : target.slice(0, query)
}

/**
 * `url.scheme`: `X-Forwarded-Proto` when the peer is a trusted proxy and says `http` or `https`,
 * otherwise what the socket is (TLS or not). An untrusted peer cannot claim https.
 */
export function schemeOf(req: IncomingMessage, proxy: ProxyTrust): string {
  if (isPeerTrusted(req, proxy)) {
    const forwarded = firstListValue(req.headers['x-forwarded-proto'])?.toLowerCase()
    if (forwarded === 'http' || forwarded === 'https') return forwarded
  }
  return (req.socket as TLSSocket | undefined)?.encrypted === true ? 'https' : 'http'
}

/** The first entry of a comma-separated header (the proxy nearest the client), trimmed; bounded. */
export function firstListValue(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > MAX_HEADER_ATTRIBUTE_LENGTH) return undefined
  const comma = value.indexOf(',')
  const first = (comma === -1 ? value : value.slice(0, comma)).trim()
  return first.length > 0 ? first : undefined
}

/** A Host header's `server.address` (lowercase, IPv6 without brackets) and `server.port`. */
export interface ParsedHost {
  readonly address: string
  readonly port: number | undefined
}

// One slot: a service sees the same Host header on nearly every request, so the regex, the
// lowercasing and the result object are spent once per change, not per request.
let lastHostValue: string | undefined
let lastHost: ParsedHost | undefined

/**
 * Parses a Host (or forwarded host) header value; `undefined` for a missing, oversized or malformed
 * one, or a port above 65535. The same value twice in a row returns the same object.
 */
export function parseHost(value: unknown): ParsedHost | undefined {
  if (typeof value !== 'string') return undefined
  if (value === lastHostValue) return lastHost
  const host = parseHostValue(value)
  lastHostValue = value
  lastHost = host
  return host
}

function parseHostValue(value: string): ParsedHost | undefined {
  if (value.length > MAX_HOST_LENGTH) return undefined
  const match = HOST_PATTERN.exec(value)
  if (match === null) return undefined
  const port = match[3] === undefined ? undefined : Number(match[3])
  if (port !== undefined && port > 65535) return undefined
  return { address: (match[1] ?? match[2]).toLowerCase(), port }
}
