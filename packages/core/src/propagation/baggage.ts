import {
  baggageEntryMetadataFromString,
  propagation,
  type BaggageEntry,
  type Context,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
} from '@opentelemetry/api'
import { failOpen } from '../internal/guard'
import { isTracingSuppressed } from '../internal/suppress'

/** Header name of W3C Baggage. */
export const BAGGAGE_HEADER = 'baggage'

/*
 * Limits from the W3C Baggage specification (Candidate Recommendation, "Limits" section): a platform
 * MUST propagate at least 64 list-members and at least 8192 bytes of baggage-string, and MAY drop
 * members beyond that. We take exactly those numbers as our bounds, in both directions. (OpenTelemetry
 * JS still uses the older draft's 180 members and 4096 bytes per member.)
 */
/** Most list-members read from or written to a `baggage` header. */
export const MAX_BAGGAGE_MEMBERS = 64
/** Most bytes of a `baggage` header read or written; a longer incoming header is dropped unread. */
export const MAX_BAGGAGE_BYTES = 8192

/** One baggage list-member, its value percent-decoded. */
export interface BaggageMember {
  key: string
  value: string
  /** The member's properties as written after the first `;` (e.g. `ttl=60;secret`), if any. */
  metadata?: string
}

const SPACE = 0x20
const TAB = 0x09
const PERCENT = 0x25

function isOws(code: number): boolean {
  return code === SPACE || code === TAB
}

/** RFC 9110 tchar, the characters of a `token` (a baggage key). */
function isTokenChar(code: number): boolean {
  if ((code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a))
    return true
  switch (code) {
    case 0x21: // !
    case 0x23: // #
    case 0x24: // $
    case 0x25: // %
    case 0x26: // &
    case 0x27: // '
    case 0x2a: // *
    case 0x2b: // +
    case 0x2d: // -
    case 0x2e: // .
    case 0x5e: // ^
    case 0x5f: // _
    case 0x60: // `
    case 0x7c: // |
    case 0x7e: // ~
      return true
    default:
      return false
  }
}

/** baggage-octet: printable US-ASCII except whitespace, `"`, `,`, `;` and `\`. */
function isBaggageOctet(code: number): boolean {
  return (
    code === 0x21 ||
    (code >= 0x23 && code <= 0x2b) ||
    (code >= 0x2d && code <= 0x3a) ||
    (code >= 0x3c && code <= 0x5b) ||
    (code >= 0x5d && code <= 0x7e)
  )
}

function isToken(value: string): boolean {
  if (value.length === 0) return false
  for (let i = 0; i < value.length; i++) if (!isTokenChar(value.charCodeAt(i))) return false
  return true
}

function isBaggageValue(value: string): boolean {
  for (let i = 0; i < value.length; i++) if (!isBaggageOctet(value.charCodeAt(i))) return false
  return true
}

function trimOws(value: string): string {
  let start = 0
  let end = value.length
  while (start < end && isOws(value.charCodeAt(start))) start++
  while (end > start && isOws(value.charCodeAt(end - 1))) end--
  return value.slice(start, end)
}

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30
  if (code >= 0x61 && code <= 0x66) return code - 0x61 + 10
  if (code >= 0x41 && code <= 0x46) return code - 0x41 + 10
  return -1
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true })
const utf8Encoder = new TextEncoder()

/**
 * Percent-decodes a baggage value as UTF-8. Unlike `decodeURIComponent` it never throws: a `%` not
 * followed by two hex digits stays as it is, and bytes that are not valid UTF-8 become U+FFFD.
 */
export function percentDecode(value: string): string {
  if (value.indexOf('%') === -1) return value
  // Encoded values are ASCII by grammar; anything else was not produced by an encoder, leave it.
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) > 0x7e) return value
  const bytes = new Uint8Array(value.length)
  let length = 0
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i)
    if (code === PERCENT && i + 2 < value.length) {
      const high = hexValue(value.charCodeAt(i + 1))
      const low = hexValue(value.charCodeAt(i + 2))
      if (high >= 0 && low >= 0) {
        bytes[length++] = high * 16 + low
        i += 2
        continue
      }
    }
    bytes[length++] = code
  }
  return utf8Decoder.decode(bytes.subarray(0, length))
}

/**
 * Percent-encodes a value so it is made of baggage-octets: UTF-8, with `%` itself encoded so decoding
 * gives back the same string. Lone surrogates become U+FFFD instead of throwing.
 */
export function percentEncode(value: string): string {
  let plain = true
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i)
    if (!isBaggageOctet(code) || code === PERCENT) {
      plain = false
      break
    }
  }
  if (plain) return value
  let out = ''
  for (const byte of utf8Encoder.encode(value)) {
    out +=
      isBaggageOctet(byte) && byte !== PERCENT
        ? String.fromCharCode(byte)
        : `%${byte < 16 ? '0' : ''}${byte.toString(16).toUpperCase()}`
  }
  return out
}

/** Properties after a member's value: `;`-separated `key` or `key=value`, normalized without OWS. */
function parseProperties(pieces: string[]): string | undefined {
  const out: string[] = []
  for (const raw of pieces) {
    const piece = trimOws(raw)
    const equals = piece.indexOf('=')
    if (equals === -1) {
      if (!isToken(piece)) return undefined
      out.push(piece)
      continue
    }
    const key = trimOws(piece.slice(0, equals))
    const value = trimOws(piece.slice(equals + 1))
    if (!isToken(key) || !isBaggageValue(value)) return undefined
    out.push(`${key}=${value}`)
  }
  return out.join(';')
}

/**
 * Parses a `baggage` header value (several lines joined with `,`). A header longer than 8192 bytes is
 * dropped whole, before it is read; a list-member that breaks the grammar is dropped alone; members
 * after the 64th are dropped. Values are percent-decoded without ever throwing. Never throws.
 *
 * @example parseBaggage('userId=alice, isProduction=false')?.[0] // { key: 'userId', value: 'alice' }
 */
export function parseBaggage(value: string): BaggageMember[] | undefined {
  if (typeof value !== 'string' || value.length > MAX_BAGGAGE_BYTES) return undefined
  const members: BaggageMember[] = []
  for (const raw of value.split(',')) {
    if (members.length === MAX_BAGGAGE_MEMBERS) break
    const piece = trimOws(raw)
    if (piece === '') continue
    const parts = piece.split(';')
    const pair = parts[0]
    const equals = pair.indexOf('=')
    if (equals === -1) continue
    const key = trimOws(pair.slice(0, equals))
    const encoded = trimOws(pair.slice(equals + 1))
    if (!isToken(key) || !isBaggageValue(encoded)) continue
    const member: BaggageMember = { key, value: percentDecode(encoded) }
    if (parts.length > 1) {
      const metadata = parseProperties(parts.slice(1))
      if (metadata === undefined) continue
      member.metadata = metadata
    }
    members.push(member)
  }
  return members
}

/**
 * Writes a `baggage` header value. Members with a key that is not a token are skipped, metadata that
 * is not valid properties is left off, and members are added in order while the header stays within
 * 64 members and 8192 bytes (a member that does not fit is dropped, later smaller ones may still fit).
 *
 * @example formatBaggage([{ key: 'userId', value: 'Zoë' }]) // 'userId=Zo%C3%AB'
 */
export function formatBaggage(members: Iterable<BaggageMember>): string {
  let out = ''
  let count = 0
  for (const { key, value, metadata } of members) {
    if (count === MAX_BAGGAGE_MEMBERS) break
    if (!isToken(key) || typeof value !== 'string') continue
    let member = `${key}=${percentEncode(value)}`
    if (typeof metadata === 'string' && metadata !== '') {
      const properties = parseProperties(metadata.split(';'))
      if (properties !== undefined && properties !== '') member += `;${properties}`
    }
    const length = out.length + (count > 0 ? 1 : 0) + member.length
    if (length > MAX_BAGGAGE_BYTES) continue
    out = count > 0 ? `${out},${member}` : member
    count++
  }
  return out
}

/**
 * W3C Baggage as an OpenTelemetry `TextMapPropagator`, within the Baggage spec's limits (64 members,
 * 8192 bytes). Core cannot depend on the SDK's `W3CBaggagePropagator`, and that one uses older limits.
 *
 * @example propagation.setGlobalPropagator(new BaggagePropagator())
 */
export class BaggagePropagator implements TextMapPropagator {
  inject(ctx: Context, carrier: unknown, setter: TextMapSetter): void {
    failOpen(
      'propagation.inject(baggage)',
      () => {
        const baggage = propagation.getBaggage(ctx)
        // Nothing under suppressed tracing, like OpenTelemetry's own baggage propagator.
        if (baggage === undefined || isTracingSuppressed(ctx)) return
        const members: BaggageMember[] = []
        for (const [key, entry] of baggage.getAllEntries()) {
          members.push({ key, value: entry.value, metadata: entry.metadata?.toString() })
        }
        const header = formatBaggage(members)
        if (header !== '') setter.set(carrier, BAGGAGE_HEADER, header)
      },
      undefined,
    )
  }

  extract(ctx: Context, carrier: unknown, getter: TextMapGetter): Context {
    return failOpen(
      'propagation.extract(baggage)',
      () => {
        const raw = getter.get(carrier, BAGGAGE_HEADER)
        const header = Array.isArray(raw) ? raw.join(',') : raw
        if (typeof header !== 'string') return ctx
        const members = parseBaggage(header)
        if (members === undefined || members.length === 0) return ctx
        // No prototype, so a key such as `__proto__` is an ordinary entry.
        const entries: Record<string, BaggageEntry> = Object.create(null)
        for (const { key, value, metadata } of members) {
          // A repeated key keeps its first value, like a repeated tracestate key never overrides.
          if (Object.prototype.hasOwnProperty.call(entries, key)) continue
          entries[key] =
            metadata === undefined ? { value } : { value, metadata: baggageEntryMetadataFromString(metadata) }
        }
        return propagation.setBaggage(ctx, propagation.createBaggage(entries))
      },
      ctx,
    )
  }

  fields(): string[] {
    return [BAGGAGE_HEADER]
  }
}
