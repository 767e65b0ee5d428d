/**
 * Consistent probability sampling (OpenTelemetry's tracestate probability-sampling spec):
 * a 56-bit randomness value R (the trace ID's rightmost 56 bits, or an explicit `ot=rv`) is compared
 * with a 56-bit rejection threshold T derived from the probability; keep when R >= T. Both are kept as
 * 14 lowercase hex digits, so the comparison is a plain string comparison (the spec chose lowercase hex
 * for exactly this) and no BigInt is needed on the hot path.
 */

/** 2^56, the number of distinct 56-bit values. */
const MAX_ADJUSTED_COUNT = 2 ** 56
/** The smallest probability the spec defines (2^-56); below it, sampling is "never", not a probability. */
export const MIN_PROBABILITY = 2 ** -56
/** Digits of precision the spec recommends for SDKs. */
const DEFAULT_PRECISION = 4
const HEX = '0123456789abcdef'
const THRESHOLD_VALUE = /^[0-9a-f]{1,14}$/
const RANDOMNESS_VALUE = /^[0-9a-f]{14}$/

/** A rejection threshold: its `th` encoding and the 14-digit form compared with randomness. */
export interface Threshold {
  /** Encoded `th` value, trailing zeros removed (`0` for 100%). */
  readonly th: string
  /** The same value extended with zeros to 14 digits, for comparison with a randomness value. */
  readonly padded: string
  /** The sampling probability this threshold stands for (0, 1]. */
  readonly probability: number
  /** 1 / probability: how many traces each kept trace represents. */
  readonly adjustedCount: number
}

/** The threshold of probability 1: nothing is rejected (`th:0`). */
export const ALWAYS_THRESHOLD: Threshold = {
  th: '0',
  padded: '00000000000000',
  probability: 1,
  adjustedCount: 1,
}

/**
 * The rejection threshold for `probability` in [2^-56, 1], rounded to `precision` significant hex
 * digits as the spec's reference algorithm does (precision grows for tiny probabilities so they keep
 * their significant digits).
 */
export function probabilityToThreshold(probability: number, precision = DEFAULT_PRECISION): Threshold {
  if (probability >= 1) return ALWAYS_THRESHOLD
  const clamped = Math.max(probability, MIN_PROBABILITY)
  const exponent = frexpExponent(clamped)
  const digits = Math.max(1, Math.min(12, precision + Math.floor(exponent / -4)))
  // The rejection fraction in [0, 1), plus half a unit of the last kept digit so truncation rounds.
  let fraction = 1 - clamped + 0.5 * 16 ** -digits
  let th = ''
  if (fraction >= 1) {
    th = 'f'.repeat(digits)
  } else {
    for (let i = 0; i < digits; i++) {
      fraction *= 16 // exact in binary floating point
      const digit = Math.floor(fraction)
      th += HEX[digit]
      fraction -= digit
    }
  }
  th = th.replace(/0+$/, '')
  return th === '' ? ALWAYS_THRESHOLD : thresholdFromTh(th)!
}

/** Parses a `th` value (1-14 lowercase hex digits); `undefined` if it is not one. */
export function thresholdFromTh(th: string): Threshold | undefined {
  if (!THRESHOLD_VALUE.test(th)) return undefined
  const padded = th.padEnd(14, '0')
  const rejected = parseInt(padded, 16) // 56 bits: a double keeps the leading 53, ample for a probability
  const probability = (MAX_ADJUSTED_COUNT - rejected) / MAX_ADJUSTED_COUNT
  if (!(probability > 0)) return undefined
  const normalized = th.replace(/0+$/, '') || '0'
  return { th: normalized, padded, probability, adjustedCount: 1 / probability }
}

/** True when an explicit randomness value (`ot=rv`) is well-formed: exactly 14 lowercase hex digits. */
export function isRandomnessValue(value: string | undefined): value is string {
  return value !== undefined && RANDOMNESS_VALUE.test(value)
}

/** The trace's randomness: the explicit `rv` when given, else the trace ID's rightmost 56 bits. */
export function traceRandomness(traceId: string, explicitRv?: string): string {
  return isRandomnessValue(explicitRv) ? explicitRv : traceId.slice(-14)
}

/** Keep when randomness >= threshold (both 14 lowercase hex digits). */
export function isKept(randomness: string, threshold: Threshold): boolean {
  return randomness >= threshold.padded
}

/** The base-2 exponent e with probability = m * 2^e and m in [0.5, 1) (C's frexp). */
function frexpExponent(value: number): number {
  return Math.floor(Math.log2(value)) + 1
}
