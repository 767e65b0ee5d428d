import { serviceOf, type ViewAttributeValue, type ViewSpan } from './model'
import { isResourceColumnKey, summarizeResources, type RowResources } from './resources'

/** One row of a waterfall: a span placed in its tree and on the trace's time scale. */
export interface WaterfallRow {
  span: ViewSpan
  /** `service.name` of the span's resource. */
  service: string
  /** Nesting under the parent; 0 for the root and for spans whose parent never arrived. */
  depth: number
  /** The span names a parent that is not in the trace (it never arrived, or was dropped). */
  orphan: boolean
  /** On the critical path: the chain of spans that decided the trace's end-to-end duration. */
  critical: boolean
  /** Start, as a fraction 0..1 of the trace's duration from its first start. */
  offset: number
  /** Duration as a fraction 0..1 of the trace's duration. */
  width: number
  durationMs: number
  /**
   * The attributes worth a glance, `[key, value]`, already made safe for one line. The resource
   * attributes summarised in {@link WaterfallRow.resources} are left out (the span keeps them all).
   */
  highlights: Array<[string, string]>
  /** CPU, memory and event-loop utilization of the span, when it has resource attributes. */
  resources?: RowResources
}

/** A whole trace laid out as rows, parents above their children, siblings by start time. */
export interface Waterfall {
  traceId: string
  startMs: number
  endMs: number
  durationMs: number
  rows: WaterfallRow[]
}

/** A trace in one line: what the list on the page shows and searches. */
export interface TraceSummary {
  traceId: string
  /** Name of the root span, else of the earliest span. */
  rootName: string
  rootService: string
  /** Whether the root span (one without a parent) has arrived. */
  hasRoot: boolean
  startMs: number
  durationMs: number
  spanCount: number
  errorCount: number
  /** Spans whose parent is not in the trace. */
  orphanCount: number
  services: string[]
  requestIds: string[]
  sessionIds: string[]
  userIds: string[]
  routes: string[]
  status: 'ok' | 'error'
}

/**
 * Attributes traceweave writes that identify a request; shown where they first appear or change,
 * and always on server spans.
 */
export const CORRELATION_KEYS = [
  'request.id',
  'session.id',
  'session.operation',
  'session.operation_number',
  'user.id',
] as const

/** Other attributes shown on every row that has them, in this order, then any `traceweave.*` ones. */
export const HIGHLIGHT_KEYS = [
  'http.response.status_code',
  'error.type',
  'retry.attempt',
  'http.request.resend_count',
  'sampling.reason',
  'sampling.adjusted_count',
] as const

/**
 * Prefix of attributes traceweave adds about resource usage (CPU, memory); shown inline, except
 * `traceweave.process.*` and `traceweave.request.cpu_us`, which the CPU and memory columns summarise.
 */
export const TRACEWEAVE_PREFIX = 'traceweave.'

const MAX_VALUE_LENGTH = 64
// One span stays one line and a stranger's name cannot drive the terminal: control characters
// (ESC, newlines, bidi-breaking separators) become spaces.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g

/** Replaces control characters with spaces and cuts `text` to `max` characters (with `...`). */
export function oneLine(text: string, max: number): string {
  const flat = text.replace(CONTROL_CHARACTERS, ' ')
  return flat.length > max ? `${flat.slice(0, Math.max(0, max - 3))}...` : flat
}

/** An attribute value as short text: arrays joined, maps as JSON, long text cut. */
export function formatValue(value: ViewAttributeValue, max = MAX_VALUE_LENGTH): string {
  if (typeof value === 'string') return oneLine(value, max)
  if (Array.isArray(value)) return oneLine(`[${value.map((item) => formatValue(item, max)).join(',')}]`, max)
  if (value !== null && typeof value === 'object') return oneLine(JSON.stringify(value), max)
  return String(value)
}

/**
 * Lays out the spans of one trace (all services) as a waterfall: a tree by parent span ID, siblings
 * by start time, every span placed on the trace's common time scale. A span whose parent is missing
 * starts a tree of its own, marked `orphan`, after the real root; none is ever left out (parent
 * cycles included). Duplicate span IDs keep the first.
 */
export function buildWaterfall(spans: readonly ViewSpan[]): Waterfall {
  const byId = new Map<string, ViewSpan>()
  for (const span of spans) if (!byId.has(span.spanId)) byId.set(span.spanId, span)
  const unique = [...byId.values()]
  const startMs = unique.reduce((min, span) => Math.min(min, span.startMs), Infinity)
  const endMs = unique.reduce((max, span) => Math.max(max, span.endMs), -Infinity)
  const durationMs = unique.length === 0 ? 0 : Math.max(0, endMs - startMs)

  const children = new Map<string, ViewSpan[]>()
  const roots: ViewSpan[] = []
  const orphans: ViewSpan[] = []
  for (const span of unique) {
    const parentId = span.parentSpanId
    if (parentId === undefined) roots.push(span)
    else if (parentId !== span.spanId && byId.has(parentId)) {
      const siblings = children.get(parentId)
      if (siblings) siblings.push(span)
      else children.set(parentId, [span])
    } else orphans.push(span)
  }
  for (const list of children.values()) list.sort(byStart)
  const critical = criticalPath(roots.length > 0 ? roots : orphans, children)

  const rows: WaterfallRow[] = []
  const placed = new Set<string>()
  const place = (top: ViewSpan, orphan: boolean): void => {
    // Depth-first without recursion: a hostile parent chain cannot overflow the stack.
    const stack: Array<[ViewSpan, number, ViewSpan | undefined]> = [[top, 0, undefined]]
    while (stack.length > 0) {
      const [span, depth, parent] = stack.pop()!
      if (placed.has(span.spanId)) continue
      placed.add(span.spanId)
      const row: WaterfallRow = {
        span,
        service: serviceOf(span),
        depth,
        orphan: orphan && depth === 0,
        critical: critical.has(span.spanId),
        offset: durationMs > 0 ? (span.startMs - startMs) / durationMs : 0,
        width: durationMs > 0 ? (span.endMs - span.startMs) / durationMs : 1,
        durationMs: span.endMs - span.startMs,
        highlights: highlights(span, parent),
      }
      const resources = summarizeResources(span.attributes)
      if (resources) row.resources = resources
      rows.push(row)
      const kids = children.get(span.spanId) ?? []
      for (let i = kids.length - 1; i >= 0; i--) stack.push([kids[i]!, depth + 1, span])
    }
  }
  for (const root of roots.sort(byStart)) place(root, false)
  for (const orphan of orphans.sort(byStart)) place(orphan, true)
  // Spans caught in a parent cycle have no way in from a root: show them as orphans too.
  for (const span of unique.filter((s) => !placed.has(s.spanId)).sort(byStart)) place(span, true)

  return {
    traceId: unique[0]?.traceId ?? '',
    startMs: unique.length === 0 ? 0 : startMs,
    endMs: unique.length === 0 ? 0 : endMs,
    durationMs,
    rows,
  }
}

/**
 * The critical path: from the root back in time, the child that finished last before the point
 * reached so far, then the same inside that child, and so on.
 */
function criticalPath(tops: ViewSpan[], children: Map<string, ViewSpan[]>): Set<string> {
  const critical = new Set<string>()
  const top = tops.reduce<ViewSpan | undefined>(
    (best, span) =>
      best === undefined || span.endMs - span.startMs > best.endMs - best.startMs ? span : best,
    undefined,
  )
  if (top === undefined) return critical
  const work: ViewSpan[] = [top]
  while (work.length > 0) {
    const span = work.pop()!
    if (critical.has(span.spanId)) continue
    critical.add(span.spanId)
    let cursor = span.endMs
    const kids = [...(children.get(span.spanId) ?? [])]
    for (;;) {
      let next: ViewSpan | undefined
      for (const kid of kids) {
        if (kid.startMs >= cursor || critical.has(kid.spanId)) continue
        if (next === undefined || Math.min(kid.endMs, cursor) > Math.min(next.endMs, cursor)) next = kid
      }
      if (next === undefined) break
      work.push(next)
      cursor = next.startMs
      kids.splice(kids.indexOf(next), 1)
    }
  }
  return critical
}

function highlights(span: ViewSpan, parent: ViewSpan | undefined): Array<[string, string]> {
  const out: Array<[string, string]> = []
  for (const key of CORRELATION_KEYS) {
    const value = span.attributes[key]
    if (value === undefined) continue
    // session.operation defaults to the span name: repeating the name says nothing.
    if (key === 'session.operation' && value === span.name) continue
    // A server span is where a request enters a service: it always names the request, session
    // and user, so that service's part of the trace reads on its own.
    const same = parent !== undefined && span.kind !== 'server' && sameValue(parent.attributes[key], value)
    if (!same) out.push([key, formatValue(value)])
  }
  for (const key of HIGHLIGHT_KEYS) {
    const value = span.attributes[key]
    if (value !== undefined)
      out.push([key, key === ADJUSTED_COUNT ? formatAdjustedCount(value) : formatValue(value)])
  }
  for (const [key, value] of Object.entries(span.attributes)) {
    if (key.startsWith(TRACEWEAVE_PREFIX) && !isResourceColumnKey(key))
      out.push([oneLine(key, MAX_VALUE_LENGTH), formatValue(value)])
  }
  return out
}

const ADJUSTED_COUNT = 'sampling.adjusted_count'
const ADJUSTED_COUNT_DECIMALS = 3

/**
 * An adjusted count (1 / sampling probability) is a float like 2.6159987226568737 under adaptive
 * sampling; a reader needs its size, not 16 digits. At most 3 decimals, trailing zeros dropped. Display
 * only: the span's attribute keeps the exact value (estimators sum it).
 */
function formatAdjustedCount(value: ViewAttributeValue): string {
  if (typeof value !== 'number' || Number.isInteger(value) || !Number.isFinite(value))
    return formatValue(value)
  return String(Number(value.toFixed(ADJUSTED_COUNT_DECIMALS)))
}

function sameValue(a: ViewAttributeValue | undefined, b: ViewAttributeValue): boolean {
  return a === b || (a !== undefined && JSON.stringify(a) === JSON.stringify(b))
}

function byStart(a: ViewSpan, b: ViewSpan): number {
  return a.startMs - b.startMs || a.endMs - b.endMs
}

/** Summarises one trace for the list: root, services, duration, counts, and what it is searched by. */
export function summarizeTrace(spans: readonly ViewSpan[]): TraceSummary {
  const ids = new Set(spans.map((span) => span.spanId))
  const root =
    spans.find((span) => span.parentSpanId === undefined) ??
    spans.reduce<ViewSpan | undefined>(
      (best, span) => (best === undefined || span.startMs < best.startMs ? span : best),
      undefined,
    )
  const startMs = spans.reduce((min, span) => Math.min(min, span.startMs), Infinity)
  const endMs = spans.reduce((max, span) => Math.max(max, span.endMs), -Infinity)
  const collect = (key: string): string[] => {
    const values = new Set<string>()
    for (const span of spans) {
      const value = span.attributes[key]
      if (typeof value === 'string' || typeof value === 'number') values.add(oneLine(String(value), 200))
    }
    return [...values]
  }
  const errorCount = spans.filter((span) => span.status.code === 'error').length
  return {
    traceId: spans[0]?.traceId ?? '',
    rootName: root ? oneLine(root.name, 200) : '',
    rootService: root ? serviceOf(root) : '',
    hasRoot: spans.some((span) => span.parentSpanId === undefined),
    startMs: spans.length === 0 ? 0 : startMs,
    durationMs: spans.length === 0 ? 0 : endMs - startMs,
    spanCount: spans.length,
    errorCount,
    orphanCount: spans.filter((span) => span.parentSpanId !== undefined && !ids.has(span.parentSpanId))
      .length,
    services: [...new Set(spans.map(serviceOf))],
    requestIds: collect('request.id'),
    sessionIds: collect('session.id'),
    userIds: collect('user.id'),
    routes: collect('http.route'),
    status: errorCount > 0 ? 'error' : 'ok',
  }
}
