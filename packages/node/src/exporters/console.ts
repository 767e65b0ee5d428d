import { SpanKind, SpanStatusCode, type AttributeValue } from '@opentelemetry/api'
import { ExportResultCode, hrTimeToMilliseconds, type ExportResult } from '@opentelemetry/core'
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base'

// Attributes a reader looks for first; any others follow in the order the span has them.
const KEY_ATTRIBUTES = [
  'http.request.method',
  'http.route',
  'url.path',
  'url.full',
  'http.response.status_code',
  'server.address',
  'db.system.name',
  'db.system',
  'rpc.method',
  'messaging.system',
  'error.type',
  'user.id',
]
const MAX_ATTRIBUTES = 8
const MAX_VALUE_LENGTH = 80
const MAX_NAME_LENGTH = 120
const KIND_NAMES: Record<number, string> = {
  [SpanKind.INTERNAL]: 'internal',
  [SpanKind.SERVER]: 'server',
  [SpanKind.CLIENT]: 'client',
  [SpanKind.PRODUCER]: 'producer',
  [SpanKind.CONSUMER]: 'consumer',
}
// One span must stay one line: control characters (newlines included) in names or values become spaces.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g
const NEEDS_QUOTES = /[\s"=]/

/**
 * Renders spans as a tree, one line per span: `[trace] name  kind  duration  status  key=value ...`,
 * children indented under their parent. Spans whose parent is not in `spans` (it ended in another
 * batch, or in another service) start a tree of their own and name the parent's span ID.
 *
 * @example
 * ```text
 * [4bf92f35] GET /users/:id  server  12.4 ms  OK  http.request.method=GET http.route=/users/:id
 * [4bf92f35]   load user  internal  3.1 ms  UNSET  user.id=7
 * ```
 */
export function formatSpanTree(spans: readonly ReadableSpan[]): string {
  const byId = new Map<string, ReadableSpan>()
  for (const span of spans) byId.set(span.spanContext().spanId, span)
  const children = new Map<string, ReadableSpan[]>()
  const roots: ReadableSpan[] = []
  for (const span of spans) {
    const parentId = span.parentSpanContext?.spanId
    if (parentId !== undefined && parentId !== span.spanContext().spanId && byId.has(parentId)) {
      const siblings = children.get(parentId)
      if (siblings) siblings.push(span)
      else children.set(parentId, [span])
    } else {
      roots.push(span)
    }
  }
  const lines: string[] = []
  const printed = new Set<ReadableSpan>()
  const visit = (span: ReadableSpan, depth: number): void => {
    if (printed.has(span)) return
    printed.add(span)
    lines.push(formatSpanLine(span, depth, depth === 0))
    for (const child of byStartTime(children.get(span.spanContext().spanId) ?? [])) visit(child, depth + 1)
  }
  for (const root of byStartTime(roots)) visit(root, 0)
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`
}

function formatSpanLine(span: ReadableSpan, depth: number, isRoot: boolean): string {
  const { traceId } = span.spanContext()
  const parts = [
    `[${traceId.slice(0, 8)}] ${'  '.repeat(depth)}${clean(span.name, MAX_NAME_LENGTH)}`,
    KIND_NAMES[span.kind] ?? 'internal',
    `${hrTimeToMilliseconds(span.duration).toFixed(1)} ms`,
    formatStatus(span),
  ]
  const attributes = formatAttributes(span)
  if (attributes) parts.push(attributes)
  if (isRoot && span.parentSpanContext?.spanId) parts.push(`(parent ${span.parentSpanContext.spanId})`)
  return parts.join('  ')
}

function formatStatus(span: ReadableSpan): string {
  switch (span.status.code) {
    case SpanStatusCode.OK:
      return 'OK'
    case SpanStatusCode.ERROR:
      return span.status.message ? `ERROR ${quote(clean(span.status.message, MAX_VALUE_LENGTH))}` : 'ERROR'
    default:
      return 'UNSET'
  }
}

function formatAttributes(span: ReadableSpan): string {
  const keys = Object.keys(span.attributes)
  const ordered = [
    ...KEY_ATTRIBUTES.filter((key) => key in span.attributes),
    ...keys.filter((key) => !KEY_ATTRIBUTES.includes(key)),
  ]
  const shown = ordered
    .filter((key) => span.attributes[key] !== undefined)
    .slice(0, MAX_ATTRIBUTES)
    .map((key) => `${clean(key, MAX_VALUE_LENGTH)}=${formatValue(span.attributes[key]!)}`)
  const hidden = ordered.length - shown.length
  if (hidden > 0) shown.push(`+${hidden} more`)
  return shown.join(' ')
}

function formatValue(value: AttributeValue): string {
  const text = clean(Array.isArray(value) ? `[${value.join(',')}]` : String(value), MAX_VALUE_LENGTH)
  return typeof value === 'string' && (text === '' || NEEDS_QUOTES.test(text)) ? quote(text) : text
}

function quote(text: string): string {
  return JSON.stringify(text)
}

function clean(text: string, max: number): string {
  const flat = text.replace(CONTROL_CHARACTERS, ' ')
  return flat.length > max ? `${flat.slice(0, max - 3)}...` : flat
}

function byStartTime(spans: ReadableSpan[]): ReadableSpan[] {
  return [...spans].sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1])
}

/**
 * Prints each exported batch as a readable span tree ({@link formatSpanTree}), one `write` per batch.
 * The default `write` is `process.stdout.write`, which does not block the event loop on pipes and
 * terminals; tests pass their own to capture the text.
 */
export class ConsoleTreeExporter implements SpanExporter {
  private stopped = false

  constructor(private readonly write: (text: string) => void = defaultWrite) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    if (this.stopped) {
      resultCallback({ code: ExportResultCode.FAILED, error: new Error('console exporter is shut down') })
      return
    }
    try {
      const text = formatSpanTree(spans)
      if (text) this.write(text)
      resultCallback({ code: ExportResultCode.SUCCESS })
    } catch (error) {
      resultCallback({
        code: ExportResultCode.FAILED,
        error: error instanceof Error ? error : new Error(String(error)),
      })
    }
  }

  async shutdown(): Promise<void> {
    this.stopped = true
  }

  async forceFlush(): Promise<void> {}
}

function defaultWrite(text: string): void {
  process.stdout.write(text)
}
