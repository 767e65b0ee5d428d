import type { TraceState } from '@opentelemetry/api'

/** One `tracestate` list member: `[key, value]`. */
export type TraceStateMember = readonly [key: string, value: string]

/** "There can be a maximum of 32 list-members in a list." */
export const MAX_TRACESTATE_MEMBERS = 32

/**
 * "Vendors SHOULD propagate at least 512 characters of a combined header": what we write is at most
 * this long, truncated by whole members as the spec prescribes (see {@link formatTraceState}).
 */
export const TRACESTATE_WRITE_LIMIT = 512

/** Members longer than this are the first to go when the header must be truncated. */
const LARGE_MEMBER_LENGTH = 128

const MAX_KEY_LENGTH = 256
const MAX_VALUE_LENGTH = 256

/**
 * Longest input we read: 32 members of a 256-character key, `=` and a 256-character value, 31 commas,
 * plus 1 KiB of optional whitespace. Anything longer cannot be a valid list and is discarded unread.
 */
const MAX_TRACESTATE_INPUT_LENGTH =
  MAX_TRACESTATE_MEMBERS * (MAX_KEY_LENGTH + 1 + MAX_VALUE_LENGTH) + 31 + 1024

const SPACE = 0x20
const TAB = 0x09
const COMMA = 0x2c
const EQUALS = 0x3d

function isOws(code: number): boolean {
  return code === SPACE || code === TAB
}

function isLcAlpha(code: number): boolean {
  return code >= 0x61 && code <= 0x7a
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39
}

/** keychar: lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@". */
function isKeyChar(code: number): boolean {
  return (
    isLcAlpha(code) ||
    isDigit(code) ||
    code === 0x5f ||
    code === 0x2d ||
    code === 0x2a ||
    code === 0x2f ||
    code === 0x40
  )
}

/**
 * Whether `key` is a valid `tracestate` key, as Level 2 defines it:
 * `key = ( lcalpha / DIGIT ) 0*255 ( keychar )`, where `@` is one more key character. There is no
 * `tenant@system` structure any more: `foo@`, `foo@@bar` and `a@b@c` are valid keys, `@foo` is not
 * (it does not start with a letter or digit), and nothing is longer than 256 characters.
 *
 * @example isValidTraceStateKey('rojo') // true
 */
export function isValidTraceStateKey(key: string): boolean {
  if (typeof key !== 'string') return false
  const length = key.length
  if (length === 0 || length > MAX_KEY_LENGTH) return false
  const first = key.charCodeAt(0)
  if (!isLcAlpha(first) && !isDigit(first)) return false
  for (let i = 1; i < length; i++) if (!isKeyChar(key.charCodeAt(i))) return false
  return true
}

/**
 * Whether `value` is a valid `tracestate` value: 1-256 printable ASCII characters except `,` and `=`,
 * not ending in a space. Leading spaces are part of the value.
 *
 * @example isValidTraceStateValue('t61rcWkgMzE') // true
 */
export function isValidTraceStateValue(value: string): boolean {
  if (typeof value !== 'string') return false
  const length = value.length
  if (length === 0 || length > MAX_VALUE_LENGTH) return false
  for (let i = 0; i < length; i++) {
    const code = value.charCodeAt(i)
    if (code < 0x20 || code > 0x7e || code === COMMA || code === EQUALS) return false
  }
  return value.charCodeAt(length - 1) !== SPACE
}

/**
 * An immutable `tracestate` list in header order. It implements OpenTelemetry's `TraceState`, so it can
 * sit on a `SpanContext` (the SDK calls `serialize()`, samplers call `get`/`set`). Every change returns
 * a new list; `set` puts the member first, as the spec requires of added or modified members.
 *
 * @example createTraceState([['congo', 't61rcWkgMzE']]).set('rojo', '00f067aa0ba902b7').serialize()
 * // 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE'
 */
export class TraceStateList implements TraceState {
  /** The empty list. */
  static readonly EMPTY = new TraceStateList([])

  private constructor(private readonly list: readonly TraceStateMember[]) {}

  /** @internal Builds a list from members already checked for grammar, count and unique keys. */
  static fromValidMembers(members: readonly TraceStateMember[]): TraceStateList {
    return members.length === 0 ? TraceStateList.EMPTY : new TraceStateList(Object.freeze(members.slice()))
  }

  /** Number of members. */
  get size(): number {
    return this.list.length
  }

  /** The members in header order. */
  members(): readonly TraceStateMember[] {
    return this.list
  }

  /** The value of `key`, if present. */
  get(key: string): string | undefined {
    for (const [k, v] of this.list) if (k === key) return v
    return undefined
  }

  /**
   * A list with `key=value` first and any older member of that key removed. When the list would then
   * exceed 32 members the right-most one is dropped, as the spec says. An invalid key or value
   * leaves the list unchanged (OpenTelemetry's `TraceState.set` has no way to report an error).
   */
  set(key: string, value: string): TraceStateList {
    if (!isValidTraceStateKey(key) || !isValidTraceStateValue(value)) return this
    const next: TraceStateMember[] = [[key, value]]
    for (const member of this.list) {
      if (member[0] !== key && next.length < MAX_TRACESTATE_MEMBERS) next.push(member)
    }
    return new TraceStateList(Object.freeze(next))
  }

  /** A list without `key`; the order of the other members is kept. */
  unset(key: string): TraceStateList {
    if (this.get(key) === undefined) return this
    return TraceStateList.fromValidMembers(this.list.filter((member) => member[0] !== key))
  }

  /** The header value, truncated to the spec's 512-character guidance (see {@link formatTraceState}). */
  serialize(): string {
    return formatTraceState(this)
  }
}

/**
 * A list from `[key, value]` members in order, or `undefined` if any member is invalid or there are
 * more than 32 members. A key that repeats keeps its first value; later ones are dropped, as
 * {@link parseTraceState} does.
 *
 * @example createTraceState([['rojo', '00f067aa0ba902b7']])?.get('rojo') // '00f067aa0ba902b7'
 */
export function createTraceState(members: Iterable<TraceStateMember> = []): TraceStateList | undefined {
  const list: TraceStateMember[] = []
  let count = 0
  const keys = new Set<string>()
  for (const [key, value] of members) {
    if (!isValidTraceStateKey(key) || !isValidTraceStateValue(value)) return undefined
    if (++count > MAX_TRACESTATE_MEMBERS) return undefined
    if (keys.has(key)) continue
    keys.add(key)
    list.push([key, value])
  }
  return TraceStateList.fromValidMembers(list)
}

/**
 * Parses a `tracestate` header value (several header lines joined with `,` in order). Returns
 * `undefined` when the list must be discarded: a member that breaks the key or value grammar, or more
 * than 32 members (counting repeated ones: the limit is on the list received). A key that appears
 * more than once keeps its first member and the later ones are dropped: the spec lets a vendor
 * "discard duplicate keys", and the rest of the list is still the caller's. Empty and
 * whitespace-only members are allowed and skipped; optional whitespace around members is ignored.
 * Never throws; linear, and inputs longer than any valid list are rejected before they are read.
 *
 * @example parseTraceState('rojo=00f067aa0ba902b7, congo=t61rcWkgMzE')?.size // 2
 */
export function parseTraceState(value: string): TraceStateList | undefined {
  if (typeof value !== 'string' || value.length > MAX_TRACESTATE_INPUT_LENGTH) return undefined
  const members: TraceStateMember[] = []
  let count = 0
  const keys = new Set<string>()
  const length = value.length
  let position = 0
  while (position <= length) {
    let comma = value.indexOf(',', position)
    if (comma === -1) comma = length
    let start = position
    let end = comma
    position = comma + 1
    while (start < end && isOws(value.charCodeAt(start))) start++
    while (end > start && isOws(value.charCodeAt(end - 1))) end--
    if (start === end) continue

    const equals = value.indexOf('=', start)
    if (equals === -1 || equals >= end) return undefined
    const key = value.slice(start, equals)
    const memberValue = value.slice(equals + 1, end)
    if (!isValidTraceStateKey(key) || !isValidTraceStateValue(memberValue)) return undefined
    if (++count > MAX_TRACESTATE_MEMBERS) return undefined
    if (keys.has(key)) continue // a later duplicate: the first occurrence wins
    keys.add(key)
    members.push([key, memberValue])
  }
  return TraceStateList.fromValidMembers(members)
}

/**
 * Writes a `tracestate` header value: members joined by `,` without whitespace. When the result would
 * exceed `maxLength` (default 512, the spec's guidance), whole members are removed as the spec
 * prescribes: first those longer than 128 characters, then others from the end. Returns `''` for an
 * empty list (callers should then not send the header).
 *
 * @example formatTraceState(parseTraceState('a=1 , b=2')!) // 'a=1,b=2'
 */
export function formatTraceState(state: TraceStateList, maxLength: number = TRACESTATE_WRITE_LIMIT): string {
  const members = state.members()
  const pieces = members.map(([key, value]) => `${key}=${value}`)
  let total = pieces.length === 0 ? 0 : pieces.length - 1
  for (const piece of pieces) total += piece.length
  if (total <= maxLength) return pieces.join(',')

  const keep = pieces.map(() => true)
  for (let i = pieces.length - 1; i >= 0 && total > maxLength; i--) {
    if (pieces[i].length > LARGE_MEMBER_LENGTH) {
      keep[i] = false
      total -= pieces[i].length + 1
    }
  }
  for (let i = pieces.length - 1; i >= 0 && total > maxLength; i--) {
    if (keep[i]) {
      keep[i] = false
      total -= pieces[i].length + 1
    }
  }
  return pieces.filter((_, i) => keep[i]).join(',')
}

/**
 * Our view of any OpenTelemetry `TraceState`: a {@link TraceStateList} as is, another implementation
 * re-read from its serialized form (so an invalid one is discarded, not repaired), `undefined` if it is
 * missing or invalid.
 *
 * @example toTraceStateList(spanContext.traceState)?.get('ot')
 */
export function toTraceStateList(state: TraceState | undefined): TraceStateList | undefined {
  if (state === undefined || state === null) return undefined
  if (state instanceof TraceStateList) return state
  try {
    const serialized = state.serialize()
    return typeof serialized === 'string' ? parseTraceState(serialized) : undefined
  } catch {
    return undefined
  }
}

/** The `tracestate` key OpenTelemetry reserves for its own sub-keys (`th`, `rv`, ...). */
export const OTEL_TRACESTATE_KEY = 'ot'

/** The OpenTelemetry spec caps the whole `ot` value at 256 characters (the tracestate value limit). */
const MAX_OT_VALUE_LENGTH = 256

function isOtSubKey(key: string): boolean {
  if (typeof key !== 'string' || key.length === 0 || !isLcAlpha(key.charCodeAt(0))) return false
  for (let i = 1; i < key.length; i++) {
    const code = key.charCodeAt(i)
    if (!isLcAlpha(code) && !isDigit(code)) return false
  }
  return true
}

function isOtSubValue(value: string): boolean {
  if (typeof value !== 'string') return false
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i)
    const upper = code >= 0x41 && code <= 0x5a
    if (!isLcAlpha(code) && !upper && !isDigit(code) && code !== 0x2e && code !== 0x5f && code !== 0x2d) {
      return false
    }
  }
  return true
}

/**
 * The value of an OpenTelemetry sub-key (`th`, `rv`, ...) in the `ot` member, e.g. `'c'` for `th` in
 * `ot=th:c;rv:6e6d1a75832a2f`.
 *
 * @example getOtSubKey(parseTraceState('ot=th:c'), 'th') // 'c'
 */
export function getOtSubKey(state: TraceState | undefined, subKey: string): string | undefined {
  const ot = state?.get(OTEL_TRACESTATE_KEY)
  if (ot === undefined) return undefined
  const prefix = `${subKey}:`
  for (const piece of ot.split(';')) {
    if (piece.startsWith(prefix)) return piece.slice(prefix.length)
  }
  return undefined
}

/**
 * Sets (or, with `value` `undefined`, erases) an OpenTelemetry sub-key in the `ot` member, keeping the
 * other sub-keys, and moves `ot` to the front of the list as the spec requires of a modified member.
 * An `ot` member left empty is removed. Returns `undefined`, leaving the caller's list as it was, if the
 * sub-key or value breaks the OpenTelemetry grammar or the `ot` value would exceed 256 characters
 * (the OpenTelemetry spec says to abort then).
 *
 * @example setOtSubKey(parseTraceState('congo=t61rcWkgMzE'), 'th', 'c')?.serialize() // 'ot=th:c,congo=t61rcWkgMzE'
 */
export function setOtSubKey(
  state: TraceState | undefined,
  subKey: string,
  value: string | undefined,
): TraceStateList | undefined {
  if (!isOtSubKey(subKey) || (value !== undefined && !isOtSubValue(value))) return undefined
  const list = toTraceStateList(state) ?? TraceStateList.EMPTY
  const prefix = `${subKey}:`
  const current = list.get(OTEL_TRACESTATE_KEY)
  const pieces =
    current === undefined ? [] : current.split(';').filter((p) => p !== '' && !p.startsWith(prefix))
  if (value !== undefined) pieces.push(`${prefix}${value}`)
  if (pieces.length === 0) return list.unset(OTEL_TRACESTATE_KEY)
  const otValue = pieces.join(';')
  if (otValue.length > MAX_OT_VALUE_LENGTH || !isValidTraceStateValue(otValue)) return undefined
  return list.set(OTEL_TRACESTATE_KEY, otValue)
}
