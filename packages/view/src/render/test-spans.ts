import type { ViewSpan } from './model'

/** Test helper: a span of trace `t` with sensible defaults; times in ms from 1_700_000_000_000. */
export function span(
  spanId: string,
  parent: string | undefined,
  start: number,
  end: number,
  extra: Partial<ViewSpan> = {},
): ViewSpan {
  const base = 1_700_000_000_000
  const out: ViewSpan = {
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: spanId.padStart(16, '0'),
    name: `span ${spanId}`,
    kind: 'internal',
    startMs: base + start,
    endMs: base + end,
    status: { code: 'unset' },
    attributes: {},
    events: [],
    links: [],
    resource: { 'service.name': 'api' },
    ...extra,
  }
  if (parent !== undefined) out.parentSpanId = parent.padStart(16, '0')
  return out
}
