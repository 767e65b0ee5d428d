import type {
  ViewAttributeValue,
  ViewAttributes,
  ViewSpan,
  ViewSpanKind,
  ViewStatusCode,
} from '../render/model'
import { ExportTraceServiceRequest } from './schema'

/** What one OTLP export request held: the spans we keep and how many we had to reject. */
export interface DecodedTraces {
  spans: ViewSpan[]
  /** Spans without a valid trace or span ID (they cannot be placed in a trace). */
  rejected: number
}

/**
 * Per-span bounds, so one request cannot make a stored span arbitrarily large: the request body is
 * bounded by the receiver, and the store bounds traces and spans per trace.
 */
export const SPAN_LIMITS = {
  /** Attributes kept per span, resource, event or link; later ones are dropped. */
  attributes: 128,
  /** Characters kept of a string attribute value or a span name. */
  valueLength: 4096,
  /** Events and links kept per span. */
  eventsOrLinks: 128,
  /** Nesting of array and key-value-list values. */
  depth: 8,
} as const

const KINDS: readonly ViewSpanKind[] = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer']
const STATUSES: readonly ViewStatusCode[] = ['unset', 'ok', 'error']
const HEX = /^[0-9a-f]+$/

/**
 * Decodes an OTLP/HTTP protobuf body (`ExportTraceServiceRequest`) with protobufjs. Returns
 * `undefined` for bytes that are not such a message; never throws.
 */
export function decodeTracesProtobuf(body: Uint8Array): DecodedTraces | undefined {
  let message: unknown
  try {
    message = ExportTraceServiceRequest.decode(body)
  } catch {
    return undefined
  }
  return normalise(message)
}

/**
 * Decodes an OTLP/HTTP JSON body (OTLP's JSON mapping: lowerCamelCase keys, hex trace and span IDs,
 * enums as integers or names, 64-bit integers as strings or numbers). Returns `undefined` for a body
 * that is not JSON or not an export request; never throws.
 */
export function decodeTracesJson(body: string): DecodedTraces | undefined {
  let message: unknown
  try {
    message = JSON.parse(body)
  } catch {
    return undefined
  }
  return normalise(message)
}

// Both encodings meet here: a protobufjs message and a parsed JSON object are read the same way.
// Only IDs and bytes differ (Uint8Array in protobuf, hex or base64 text in JSON).
function normalise(message: unknown): DecodedTraces | undefined {
  if (!isObject(message)) return undefined
  const resourceSpans = message.resourceSpans
  if (resourceSpans !== undefined && !Array.isArray(resourceSpans)) return undefined
  const spans: ViewSpan[] = []
  let rejected = 0
  try {
    for (const rs of resourceSpans ?? []) {
      if (!isObject(rs)) return undefined
      const resource = attributes(isObject(rs.resource) ? rs.resource.attributes : undefined)
      for (const ss of list(rs.scopeSpans)) {
        if (!isObject(ss)) return undefined
        const scope = isObject(ss.scope) ? ss.scope : undefined
        for (const raw of list(ss.spans)) {
          const span = isObject(raw) ? toSpan(raw, resource, scope) : undefined
          if (span) spans.push(span)
          else rejected++
        }
      }
    }
  } catch {
    return undefined
  }
  return { spans, rejected }
}

function toSpan(
  raw: Record<string, unknown>,
  resource: ViewAttributes,
  scope?: Record<string, unknown>,
): ViewSpan | undefined {
  const traceId = id(raw.traceId, 32)
  const spanId = id(raw.spanId, 16)
  if (traceId === undefined || spanId === undefined) return undefined
  // No parent: absent, empty text (JSON), or empty bytes (protobufjs' default is an empty array).
  const parent = raw.parentSpanId
  const emptyParent =
    parent === undefined ||
    parent === null ||
    parent === '' ||
    ((parent instanceof Uint8Array || Array.isArray(parent)) && parent.length === 0)
  const parentSpanId = emptyParent ? undefined : id(raw.parentSpanId, 16)
  if (!emptyParent && parentSpanId === undefined) return undefined
  const startMs = nanosToMs(raw.startTimeUnixNano)
  const endMs = Math.max(startMs, nanosToMs(raw.endTimeUnixNano))
  const status = isObject(raw.status) ? raw.status : {}
  const span: ViewSpan = {
    traceId,
    spanId,
    name: text(raw.name),
    kind: enumValue(raw.kind, KINDS, 'SPAN_KIND_') ?? 'unspecified',
    startMs,
    endMs,
    status: { code: enumValue(status.code, STATUSES, 'STATUS_CODE_') ?? 'unset' },
    attributes: attributes(raw.attributes),
    events: list(raw.events)
      .slice(0, SPAN_LIMITS.eventsOrLinks)
      .filter(isObject)
      .map((event) => ({
        name: text(event.name),
        timeMs: nanosToMs(event.timeUnixNano),
        attributes: attributes(event.attributes),
      })),
    links: [],
    resource,
  }
  if (parentSpanId !== undefined) span.parentSpanId = parentSpanId
  const message = text(status.message)
  if (message !== '') span.status.message = message
  for (const link of list(raw.links).slice(0, SPAN_LIMITS.eventsOrLinks)) {
    if (!isObject(link)) continue
    const linkTrace = id(link.traceId, 32)
    const linkSpan = id(link.spanId, 16)
    if (linkTrace && linkSpan)
      span.links.push({ traceId: linkTrace, spanId: linkSpan, attributes: attributes(link.attributes) })
  }
  if (scope && text(scope.name) !== '') {
    span.scope = { name: text(scope.name) }
    const version = text(scope.version)
    if (version !== '') span.scope.version = version
  }
  return span
}

/** A trace or span ID: bytes (protobuf) or hex text (JSON), `length` hex digits, not all zero. */
function id(value: unknown, length: number): string | undefined {
  const hex =
    value instanceof Uint8Array
      ? Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')
      : typeof value === 'string'
        ? value.toLowerCase()
        : undefined
  if (hex === undefined || hex.length !== length || !HEX.test(hex) || /^0+$/.test(hex)) return undefined
  return hex
}

function attributes(raw: unknown): ViewAttributes {
  const out: ViewAttributes = {}
  let count = 0
  for (const kv of list(raw)) {
    if (!isObject(kv) || typeof kv.key !== 'string') continue
    if (count++ >= SPAN_LIMITS.attributes) break
    out[kv.key.slice(0, SPAN_LIMITS.valueLength)] = anyValue(kv.value, 0)
  }
  return out
}

function anyValue(raw: unknown, depth: number): ViewAttributeValue {
  if (!isObject(raw)) return null
  const has = (key: string) =>
    Object.prototype.hasOwnProperty.call(raw, key) && raw[key] !== undefined && raw[key] !== null
  if (has('stringValue')) return text(raw.stringValue)
  if (has('boolValue')) return raw.boolValue === true
  if (has('intValue')) return integer(raw.intValue)
  if (has('doubleValue')) {
    const value = Number(raw.doubleValue) // JSON may spell NaN and Infinity as strings
    return Number.isFinite(value) ? value : String(value)
  }
  if (has('bytesValue')) {
    const bytes = raw.bytesValue
    return bytes instanceof Uint8Array ? Buffer.from(bytes).toString('base64') : text(bytes)
  }
  if (depth >= SPAN_LIMITS.depth) return null
  if (has('arrayValue') && isObject(raw.arrayValue)) {
    return list(raw.arrayValue.values)
      .slice(0, SPAN_LIMITS.attributes)
      .map((item) => anyValue(item, depth + 1))
  }
  if (has('kvlistValue') && isObject(raw.kvlistValue)) {
    const out: Record<string, ViewAttributeValue> = {}
    for (const kv of list(raw.kvlistValue.values).slice(0, SPAN_LIMITS.attributes)) {
      if (isObject(kv) && typeof kv.key === 'string') out[kv.key] = anyValue(kv.value, depth + 1)
    }
    return out
  }
  return null
}

/** A 64-bit integer (protobufjs Long, JSON string or number) as a number, or decimal text when unsafe. */
function integer(value: unknown): number | string {
  const big = toBigInt(value)
  if (big === undefined) return 0
  return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(big)
    : big.toString()
}

function nanosToMs(value: unknown): number {
  const nanos = toBigInt(value)
  if (nanos === undefined || nanos < 0n) return 0
  return Number(nanos / 1000n) / 1000
}

function toBigInt(value: unknown): bigint | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? BigInt(Math.trunc(value)) : undefined
  if (typeof value === 'string') return /^-?\d{1,20}$/.test(value) ? BigInt(value) : undefined
  if (isObject(value) && typeof value.low === 'number' && typeof value.high === 'number') {
    const unsigned = (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0)
    return value.unsigned === true || value.high >= 0 ? unsigned : unsigned - (1n << 64n)
  }
  return undefined
}

function enumValue<T extends string>(value: unknown, names: readonly T[], prefix: string): T | undefined {
  if (typeof value === 'number') return names[value]
  if (typeof value === 'string' && value.startsWith(prefix)) {
    const name = value.slice(prefix.length).toLowerCase()
    return names.find((candidate) => candidate === name)
  }
  return undefined
}

function text(value: unknown): string {
  return typeof value === 'string' ? value.slice(0, SPAN_LIMITS.valueLength) : ''
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : []
}

function isObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
  )
}
