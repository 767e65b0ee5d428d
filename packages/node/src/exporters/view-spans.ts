import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { fromReadableSpan, type ViewSpan } from '@traceweave/view/render'

/** The spans of one trace in one exported batch, in the render model, with what the batch knows about absent parents. */
export interface BatchTrace {
  traceId: string
  spans: ViewSpan[]
  /** Spans whose parent came from another process (extracted from a request's headers). */
  remoteParent: Set<string>
  /** Some span's parent is a local span that is not in this batch (it ended before, or ends later). */
  continued: boolean
}

/**
 * Maps one exported batch of SDK spans onto the waterfall's model (`@traceweave/view/render`), one
 * group per trace in the order each trace first appears. The render model has no notion of a remote
 * parent, so that is read here, where the SDK's span context still says it.
 */
export function toBatchTraces(spans: readonly ReadableSpan[]): BatchTrace[] {
  const byTrace = new Map<string, ReadableSpan[]>()
  for (const span of spans) {
    const { traceId } = span.spanContext()
    const list = byTrace.get(traceId)
    if (list) list.push(span)
    else byTrace.set(traceId, [span])
  }
  return [...byTrace].map(([traceId, trace]) => {
    const ids = new Set(trace.map((span) => span.spanContext().spanId))
    const remoteParent = new Set<string>()
    let continued = false
    for (const span of trace) {
      const parent = span.parentSpanContext
      if (parent === undefined || !parent.spanId || ids.has(parent.spanId)) continue
      if (parent.isRemote === true) remoteParent.add(span.spanContext().spanId)
      else continued = true
    }
    return { traceId, spans: trace.map(toViewSpan), remoteParent, continued }
  })
}

/** One SDK span in the render model (typed against the SDK here, so a change in its shape fails the build). */
export function toViewSpan(span: ReadableSpan): ViewSpan {
  return fromReadableSpan(span)
}
