import type { AttributeValue } from '@opentelemetry/api'

/**
 * The one validation kit of traceweave's options (`setupTracing()`, `traceweave()`, sampling, the
 * traced clients, `tracedRetry()`, the propagator). Every
 * bad setting throws a {@link ConfigError} whose message has one form:
 *
 *     traceweave: `<option>` must <rule>; got <value>
 *
 * e.g. "traceweave: `sampling.ratio` must be a number from 0 to 1; got 1.5". The option is the path
 * the user wrote (`otlp.url`, `session.maxSessions`, `sampling.rules[0].sample`), the rule states the
 * valid values, and the got-value is printed by {@link describeValue}: bounded, never raw.
 */

/**
 * Thrown for bad configuration at setup. A `TypeError`, so code that caught the TypeError or
 * RangeError of earlier versions with `instanceof TypeError` keeps working; `option` names the
 * setting for programs that want to react to it.
 */
export class ConfigError extends TypeError {
  override readonly name = 'ConfigError'

  constructor(
    /** The option's path as the user wrote it, e.g. `otlp.url`. */
    readonly option: string,
    /** What the option must be, e.g. `be a number from 0 to 1`. */
    readonly rule: string,
    /** The bad value as printed, already bounded. */
    readonly got: string,
  ) {
    super(`traceweave: \`${option}\` must ${rule}; got ${got}`)
  }
}

/** Throws the {@link ConfigError} for `option`, printing `value` with {@link describeValue}. */
export function invalidOption(option: string, mustBe: string, value: unknown): never {
  throw new ConfigError(option, `be ${mustBe}`, describeValue(value))
}

/**
 * Throws a {@link ConfigError} whose rule is not "be ..." (e.g. `have only the keys url, headers`)
 * or whose got-text is not the value itself (a secret key is described by its length only).
 */
export function configError(option: string, rule: string, got: string): never {
  throw new ConfigError(option, rule, got)
}

const MAX_STRING_SHOWN = 40
const MAX_KEYS_SHOWN = 5
const MAX_KEY_SHOWN = 20
/** Longest rendering of any value: five cut key names and a count fit. */
export const MAX_DESCRIBED_LENGTH = 160

/**
 * A short, safe rendering of a bad value for an error message: strings are escaped (no control or
 * non-ASCII character reaches a terminal or log raw) and cut at 40 characters, objects show at most
 * five key names and never their values, functions and symbols only their kind; at most 160
 * characters in all. Never throws (a Proxy's `ownKeys` trap may), and never calls a getter or
 * `toString` of the user's value.
 */
export function describeValue(value: unknown): string {
  try {
    const text = describeUnsafe(value)
    return text.length > MAX_DESCRIBED_LENGTH ? `${text.slice(0, MAX_DESCRIBED_LENGTH - 3)}...` : text
  } catch {
    return 'an unreadable value'
  }
}

function describeUnsafe(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return quote(value, MAX_STRING_SHOWN)
    case 'number':
    case 'boolean':
    case 'undefined':
      return String(value)
    case 'bigint':
      return `${quote(String(value), MAX_STRING_SHOWN).slice(1, -1)}n`
    case 'symbol':
      return 'a symbol'
    case 'function':
      return 'a function'
  }
  if (value === null) return 'null'
  if (Array.isArray(value)) return `an array of ${value.length} item${value.length === 1 ? '' : 's'}`
  if (value instanceof RegExp)
    return `the RegExp ${quote(`/${value.source}/${value.flags}`, MAX_STRING_SHOWN).slice(1, -1)}`
  const keys = Object.keys(value as object)
  const shown = keys.slice(0, MAX_KEYS_SHOWN).map((key) => quote(key, MAX_KEY_SHOWN).slice(1, -1))
  const more = keys.length > MAX_KEYS_SHOWN ? `, ... (${keys.length} keys)` : ''
  return keys.length === 0 ? 'an object with no keys' : `an object with keys ${shown.join(', ')}${more}`
}

/**
 * Single-quoted, every character outside printable ASCII escaped (`\u000a`), cut once the escaped text
 * reaches `max` characters: the bound holds however hostile the text.
 */
function quote(text: string, max: number): string {
  let out = ''
  for (let i = 0; i < text.length; i++) {
    if (out.length >= max) return `'${out}...'`
    const char = text[i]!
    const code = char.charCodeAt(0)
    if (char === "'" || char === '\\') out += `\\${char}`
    else if (code < 0x20 || code > 0x7e) out += `\\u${code.toString(16).padStart(4, '0')}`
    else out += char
  }
  return `'${out}'`
}

/** `'a', 'b', 'c'`: the valid values of an option, as they are written in code. */
export function quoteList(values: readonly string[]): string {
  return values.map((value) => `'${value}'`).join(', ')
}

/** Options of {@link checkNumber}. */
export interface NumberRule {
  /** Smallest valid value (inclusive). */
  min?: number
  /** Largest valid value (inclusive). */
  max?: number
  /** Only whole numbers. */
  integer?: boolean
  /** `min` itself is invalid (e.g. a rate that must be above 0). */
  exclusiveMin?: boolean
}

/**
 * Checks that `value` is a finite number within the rule and returns it; NaN and Infinity are never
 * valid settings. The message states the range: "a number from 0 to 1", "an integer >= 1",
 * "a number > 0".
 */
export function checkNumber(option: string, value: unknown, rule: NumberRule = {}): number {
  const { min, max, integer = false, exclusiveMin = false } = rule
  const valid =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (!integer || Number.isInteger(value)) &&
    (min === undefined || (exclusiveMin ? value > min : value >= min)) &&
    (max === undefined || value <= max)
  if (!valid) invalidOption(option, describeNumberRule(rule), value)
  return value
}

/** "an integer from 100 to 2147483647", "a number >= 0", "a number > 0": the wording of a range. */
export function describeNumberRule({ min, max, integer, exclusiveMin }: NumberRule): string {
  const kind = integer ? 'an integer' : 'a number'
  if (min !== undefined && max !== undefined && !exclusiveMin) return `${kind} from ${min} to ${max}`
  const bounds = [
    min !== undefined ? `${exclusiveMin ? '>' : '>='} ${min}` : undefined,
    max !== undefined ? `<= ${max}` : undefined,
  ].filter(Boolean)
  return bounds.length === 0
    ? `a finite ${integer ? 'integer' : 'number'}`
    : `${kind} ${bounds.join(' and ')}`
}

/** Checks that `value` is `true` or `false`. */
export function checkBoolean(option: string, value: unknown): boolean {
  if (typeof value !== 'boolean') invalidOption(option, 'true or false', value)
  return value
}

/** Checks that `value` is one of `allowed` (compared with `===`) and returns it. */
export function checkOneOf<T extends string>(option: string, value: unknown, allowed: readonly T[]): T {
  if (!(allowed as readonly unknown[]).includes(value)) {
    invalidOption(option, allowed.length === 1 ? quoteList(allowed) : `one of ${quoteList(allowed)}`, value)
  }
  return value as T
}

/**
 * Checks that `value` is a function; `signature` is how it is called, e.g.
 * `(request) => string | undefined`, and goes into the message.
 */
export function checkFunction<F extends (...args: never[]) => unknown>(
  option: string,
  value: unknown,
  signature: string,
): F {
  if (typeof value !== 'function') invalidOption(option, `a function ${signature}`, value)
  return value as F
}

/** Checks that `value` is a non-empty string (not only spaces). */
export function checkNonEmptyString(option: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') invalidOption(option, 'a non-empty string', value)
  return value
}

/**
 * Checks that `value` is a plain options object (not `null`, not an array); `shape` describes it in
 * the message, e.g. `an object { sampleEveryMs }`.
 */
export function checkObject(option: string, value: unknown, shape = 'an object'): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) invalidOption(option, shape, value)
  return value as Record<string, unknown>
}

/**
 * Checks that `value` has only `allowed` keys: a typo fails at setup instead of being ignored. `option`
 * is the object's path (`otlp`), or how the top-level options are called (`setupTracing(options)`).
 */
export function checkKeys(option: string, value: object, allowed: Iterable<string>): void {
  const valid = allowed instanceof Set ? (allowed as ReadonlySet<string>) : new Set(allowed)
  for (const key of Object.keys(value)) {
    if (!valid.has(key)) {
      configError(option, `have only the keys ${[...valid].join(', ')}`, `the key ${describeValue(key)}`)
    }
  }
}

/**
 * True for a valid OpenTelemetry attribute value. The rule, from the OpenTelemetry common spec
 * (Attribute): the value is "a primitive type: string, boolean, double precision floating point
 * (IEEE 754-1985) or signed 64 bit integer" or "an array of primitive type values. The array MUST be
 * homogeneous, i.e., it MUST NOT contain values of different types"; "Attribute values of null are not
 * valid", while "null values within arrays MUST be preserved as-is". So:
 * - any JS number, NaN and Infinity included: IEEE 754 doubles, and the OTel JS SDK keeps them;
 * - `null`/`undefined` alone is rejected (the SDK drops it; we say so rather than lose it silently);
 * - an array mixes no types, but may hold `null`/`undefined` entries, as the SDK's
 *   `isAttributeValue` (@opentelemetry/core) accepts;
 * - no objects, functions, symbols or bigints, anywhere.
 */
export function isAttributeValue(value: unknown): value is AttributeValue {
  if (Array.isArray(value)) return isHomogeneousPrimitiveArray(value)
  return isPrimitiveAttribute(typeof value)
}

function isPrimitiveAttribute(type: string): boolean {
  return type === 'string' || type === 'number' || type === 'boolean'
}

function isHomogeneousPrimitiveArray(values: readonly unknown[]): boolean {
  let kind: string | undefined
  for (const item of values) {
    if (item === null || item === undefined) continue
    const itemKind = typeof item
    if (!isPrimitiveAttribute(itemKind)) return false
    if (kind === undefined) kind = itemKind
    else if (kind !== itemKind) return false
  }
  return true
}
