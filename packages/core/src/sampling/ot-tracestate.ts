import { createTraceState, type TraceState } from '@opentelemetry/api'
import type { Threshold } from './threshold'

/**
 * Reading and writing OpenTelemetry's own `ot` member of `tracestate` (`ot=th:c;rv:...`): sub-keys
 * separated by `;`, each `key:value`. Other sub-keys are preserved; `ot` is moved to the front of the
 * list when we change it, as W3C asks of a member a vendor updates.
 */

const OT_KEY = 'ot'
/** The whole `ot` value may not exceed 256 characters (OTel tracestate handling). */
const MAX_OT_LENGTH = 256

/** The value of sub-key `name` in the `ot` member, if present. */
export function readOtValue(traceState: TraceState | undefined, name: 'th' | 'rv'): string | undefined {
  const ot = traceState?.get(OT_KEY)
  if (ot === undefined || ot.length > MAX_OT_LENGTH) return undefined
  const prefix = `${name}:`
  for (const part of ot.split(';')) if (part.startsWith(prefix)) return part.slice(prefix.length)
  return undefined
}

/**
 * `traceState` with the `ot` threshold set to `threshold.th`, or erased when `threshold` is undefined
 * (unknown probability). Returns the same object when nothing changes.
 */
export function withThreshold(
  traceState: TraceState | undefined,
  threshold: Threshold | undefined,
): TraceState | undefined {
  const ot = traceState?.get(OT_KEY)
  const others =
    ot === undefined ? [] : ot.split(';').filter((part) => part !== '' && !part.startsWith('th:'))
  if (threshold === undefined) {
    if (ot === undefined || !ot.split(';').some((part) => part.startsWith('th:'))) return traceState
    return others.length === 0 ? traceState!.unset(OT_KEY) : traceState!.set(OT_KEY, others.join(';'))
  }
  const value = [`th:${threshold.th}`, ...others].join(';')
  if (value === ot) return traceState
  if (value.length > MAX_OT_LENGTH) return traceState // OTel: abort the update rather than exceed the limit
  // TraceState.set puts the member it sets first in the serialized list.
  return (traceState ?? createTraceState()).set(OT_KEY, value)
}
