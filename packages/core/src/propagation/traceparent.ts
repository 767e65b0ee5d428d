import { KNOWN_TRACE_FLAGS } from './trace-flags'

/**
 * The fields of a W3C `traceparent` header (Trace Context Level 1 and 2).
 */
export interface TraceParent {
  /** The version the header was written with: `00`, or a higher version read by the forward-compatible rules. */
  version: string
  /** 32 lowercase hex characters, not all zero. */
  traceId: string
  /** The caller's span ID: 16 lowercase hex characters, not all zero. */
  parentId: string
  /**
   * The `sampled` (0x01) and `random-trace-id` (0x02) bits. Reserved bits are dropped when parsing:
   * the spec says vendors MUST set them to zero, so we never carry them around.
   */
  traceFlags: number
}

/** The fields {@link formatTraceParent} writes; the version is always `00`, the highest we know. */
export type TraceParentFields = Pick<TraceParent, 'traceId' | 'parentId' | 'traceFlags'>

/** A version `00` header is exactly this long: 2 + 1 + 32 + 1 + 16 + 1 + 2. */
const VERSION_00_LENGTH = 55

/**
 * Longest header we read at all. Future versions may append fields, and the spec asks pass-through
 * parsers to "only disallow prohibitively large headers"; 512 leaves room for that while a 1 MiB
 * header is rejected before any character is looked at.
 */
const MAX_TRACEPARENT_LENGTH = 512

const DASH = 0x2d
const SPACE = 0x20
const TAB = 0x09

function isLowerHexCode(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x61 && code <= 0x66)
}

/** Whether `length` characters of `value` from `start` are lowercase hex (HEXDIGLC). */
function isLowerHexRun(value: string, start: number, length: number): boolean {
  for (let i = start; i < start + length; i++) {
    if (!isLowerHexCode(value.charCodeAt(i))) return false
  }
  return true
}

/** Whether `value` has only `0` characters (an all-zero ID is forbidden). */
function isAllZero(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    if (value.charCodeAt(i) !== 0x30) return false
  }
  return true
}

/** Whether `id` is a valid `trace-id`: 32 lowercase hex characters, not all zero. */
export function isValidTraceId(id: string): boolean {
  return typeof id === 'string' && id.length === 32 && isLowerHexRun(id, 0, 32) && !isAllZero(id)
}

/** Whether `id` is a valid `parent-id` / span ID: 16 lowercase hex characters, not all zero. */
export function isValidParentId(id: string): boolean {
  return typeof id === 'string' && id.length === 16 && isLowerHexRun(id, 0, 16) && !isAllZero(id)
}

/**
 * Parses a `traceparent` header value. Returns `undefined` for anything the spec says to ignore, so
 * the caller starts a new trace; never throws. Linear in the header length, which is capped first.
 *
 * - version `00`: exactly `00-<32 hex>-<16 hex>-<2 hex>`, lowercase, nothing after it;
 * - a higher version (not `ff`): read by its first 55 characters, which must be followed by the end
 *   or a `-` (the spec's rules for versions newer than the parser);
 * - leading and trailing optional whitespace (space, tab) is ignored, as in any HTTP field value.
 *
 * @example parseTraceParent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')?.traceFlags // 1
 */
export function parseTraceParent(value: string): TraceParent | undefined {
  if (typeof value !== 'string' || value.length > MAX_TRACEPARENT_LENGTH) return undefined
  let start = 0
  let end = value.length
  while (start < end && isOws(value.charCodeAt(start))) start++
  while (end > start && isOws(value.charCodeAt(end - 1))) end--
  const length = end - start
  if (length < VERSION_00_LENGTH) return undefined

  // version: 2 lowercase hex characters and a dash, else "restart the trace".
  if (!isLowerHexRun(value, start, 2) || value.charCodeAt(start + 2) !== DASH) return undefined
  const version = value.slice(start, start + 2)
  if (version === 'ff') return undefined
  if (version === '00') {
    if (length !== VERSION_00_LENGTH) return undefined
  } else if (length > VERSION_00_LENGTH && value.charCodeAt(start + VERSION_00_LENGTH) !== DASH) {
    // A higher version's flags must be "at the end of the string or followed by a dash".
    return undefined
  }

  if (!isLowerHexRun(value, start + 3, 32) || value.charCodeAt(start + 35) !== DASH) return undefined
  if (!isLowerHexRun(value, start + 36, 16) || value.charCodeAt(start + 52) !== DASH) return undefined
  if (!isLowerHexRun(value, start + 53, 2)) return undefined

  const traceId = value.slice(start + 3, start + 35)
  const parentId = value.slice(start + 36, start + 52)
  if (isAllZero(traceId) || isAllZero(parentId)) return undefined
  const traceFlags = parseInt(value.slice(start + 53, start + 55), 16) & KNOWN_TRACE_FLAGS
  return { version, traceId, parentId, traceFlags }
}

/**
 * Writes a version `00` `traceparent` value. Only the `sampled` and `random-trace-id` bits are
 * written (reserved bits MUST be zero). Returns `undefined` if an ID is not valid, so whatever it
 * returns is a valid header.
 *
 * @example formatTraceParent({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', parentId: '00f067aa0ba902b7', traceFlags: 3 })
 * // '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03'
 */
export function formatTraceParent(fields: TraceParentFields): string | undefined {
  if (!isValidTraceId(fields.traceId) || !isValidParentId(fields.parentId)) return undefined
  const flags = (Number(fields.traceFlags) & KNOWN_TRACE_FLAGS).toString(16).padStart(2, '0')
  return `00-${fields.traceId}-${fields.parentId}-${flags}`
}

function isOws(code: number): boolean {
  return code === SPACE || code === TAB
}
