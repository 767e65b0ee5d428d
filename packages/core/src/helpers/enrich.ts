import { trace } from '@opentelemetry/api'
import { warnOnce } from '../internal/diag'
import { isAttributeValue } from '../internal/validate'

/**
 * Adds `attributes` to the active span. Values that are not valid OpenTelemetry attribute values
 * (objects, functions, `null`, mixed-type arrays, non-finite numbers are kept as OTel allows) are
 * skipped with one `diag` warning per process. Never throws; a no-op outside a span.
 *
 * @example
 * enrichSpan({ 'order.id': order.id, 'order.items': order.items.length })
 */
export function enrichSpan(attributes: Record<string, unknown>): void {
  const span = trace.getActiveSpan()
  if (span === undefined || !span.isRecording() || attributes === null || typeof attributes !== 'object')
    return
  try {
    for (const key of Object.keys(attributes)) {
      const value = attributes[key]
      if (key.length > 0 && isAttributeValue(value)) {
        span.setAttribute(key, value)
      } else {
        warnOnce(
          'enrichSpan.invalid',
          'enrichSpan: skipped an attribute whose key is empty or value is not a string, number, boolean or array of one of those',
        )
      }
    }
  } catch {
    // A getter on the caller's object threw: enrichment is best effort and must not break the request.
    warnOnce(
      'enrichSpan.throw',
      'enrichSpan: reading the attributes object threw; the remaining attributes were skipped',
    )
  }
}
