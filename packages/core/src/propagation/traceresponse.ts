import { parseTraceParent, type TraceParent } from './traceparent'

/**
 * Readers of a callee's answer about the trace: the `traceresponse` header and the Server-Timing
 * `trace` metric, whose values have the `traceparent` format ("trace-id ... child-id ... trace-flags").
 * Both come from strangers: bounded, and `undefined` for anything malformed; they never throw.
 */

/** Longer Server-Timing values are not searched: a response header is no place for bulk data. */
const MAX_SERVER_TIMING_LENGTH = 4096

/**
 * Parses a `traceresponse` value (`00-<trace-id>-<span-id>-<flags>`), as `traceparent` is parsed.
 *
 * @example parseTraceResponse('00-4bf92f3577b34da6a3ce929d0e0e4736-828c5d0d435ba505-01')?.traceFlags // 1
 */
export function parseTraceResponse(value: unknown): TraceParent | undefined {
  const single = Array.isArray(value) ? (value.length === 1 ? value[0] : undefined) : value
  return typeof single === 'string' ? parseTraceParent(single) : undefined
}

/**
 * The trace context metric of a `Server-Timing` value (`trace;desc=00-...-01`; the name is
 * case-insensitive, `desc` may be a quoted string). A header given more than once (an array) is read
 * as one list. `undefined` when there is no such metric or its description is no valid value.
 *
 * @example traceFromServerTiming('db;dur=53, trace;desc=00-4bf92f3577b34da6a3ce929d0e0e4736-828c5d0d435ba505-01')
 */
export function traceFromServerTiming(value: unknown): TraceParent | undefined {
  const text = Array.isArray(value) ? value.filter((v) => typeof v === 'string').join(',') : value
  if (typeof text !== 'string' || text.length > MAX_SERVER_TIMING_LENGTH) return undefined
  for (const entry of text.split(',')) {
    const parts = entry.split(';')
    if (parts[0]!.trim().toLowerCase() !== 'trace') continue
    for (const part of parts.slice(1)) {
      const equals = part.indexOf('=')
      if (equals === -1 || part.slice(0, equals).trim().toLowerCase() !== 'desc') continue
      let desc = part.slice(equals + 1).trim()
      if (desc.length >= 2 && desc.startsWith('"') && desc.endsWith('"')) desc = desc.slice(1, -1)
      return parseTraceParent(desc)
    }
    return undefined
  }
  return undefined
}
