/**
 * The two `trace-flags` bits W3C Trace Context defines. Every other bit is reserved: the spec says
 * vendors MUST set them to zero, so nothing here ever forwards them.
 */

/** `sampled` (Trace Context Level 1): the caller may have recorded trace data. */
export const TRACE_FLAG_SAMPLED = 0x01

/**
 * `random-trace-id` (Trace Context Level 2): at least the right-most 7 bytes of the trace ID are
 * random, so consistent samplers may use them as their source of randomness.
 */
export const TRACE_FLAG_RANDOM = 0x02

/** The flag bits this implementation understands and forwards. */
export const KNOWN_TRACE_FLAGS = TRACE_FLAG_SAMPLED | TRACE_FLAG_RANDOM

/**
 * Whether the `sampled` bit is set.
 *
 * @example isSampled(0x03) // true
 */
export function isSampled(traceFlags: number): boolean {
  return (traceFlags & TRACE_FLAG_SAMPLED) === TRACE_FLAG_SAMPLED
}

/**
 * Whether the Level 2 `random-trace-id` bit is set.
 *
 * @example isRandomTraceId(0x02) // true
 */
export function isRandomTraceId(traceFlags: number): boolean {
  return (traceFlags & TRACE_FLAG_RANDOM) === TRACE_FLAG_RANDOM
}
