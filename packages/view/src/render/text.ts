import { buildWaterfall, oneLine, summarizeTrace, type Waterfall, type WaterfallRow } from './waterfall'
import type { ViewSpan } from './model'

/** Options of {@link formatWaterfall}. */
export interface TextOptions {
  /** ANSI colours. Default false: callers decide (TTY and `NO_COLOR`, see {@link shouldColor}). */
  color?: boolean
  /** Characters of the duration bar. Default 32. */
  barWidth?: number
  /** Longest span name (with its indentation) before it is cut. Default 48. */
  maxNameWidth?: number
  /**
   * What a row whose parent is not among the spans says, in brackets. Default `parent <id> missing`
   * (the viewer holds whole traces, so that parent never arrived). A caller that prints part of a
   * trace at a time (the console exporter, batch by batch) says where the parent is instead.
   */
  orphanNote?: (span: ViewSpan) => string
  /** What the header says when no span of the trace is its root. Default `root span missing`; `''`: nothing. */
  rootlessNote?: string
}

const ANSI = {
  reset: '\u001b[0m',
  bold: '\u001b[1m',
  dim: '\u001b[2m',
  red: '\u001b[31m',
  green: '\u001b[32m',
  yellow: '\u001b[33m',
}
const SERVICE_COLOURS = [
  '\u001b[36m',
  '\u001b[35m',
  '\u001b[34m',
  '\u001b[32m',
  '\u001b[33m',
  '\u001b[96m',
  '\u001b[95m',
]

/**
 * Whether output to `stream` should be coloured: only a TTY, and never when `NO_COLOR` is set to a
 * non-empty value (https://no-color.org). `FORCE_COLOR` (non-empty, not `0`) forces it on.
 */
export function shouldColor(
  stream: { isTTY?: boolean | undefined },
  env: Record<string, string | undefined> = process.env,
): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '' && env.FORCE_COLOR !== '0') return true
  return stream.isTTY === true
}

/** A duration for people: `840 µs`, `12.4 ms`, `3.21 s`. */
export function formatDuration(ms: number): string {
  if (!(ms >= 0)) return '0 ms'
  if (ms < 1) return `${Math.round(ms * 1000)} µs`
  if (ms < 1000) return `${ms.toFixed(1)} ms`
  return `${(ms / 1000).toFixed(2)} s`
}

/**
 * Renders one trace as a text waterfall: a header line, then one row per span across all services,
 * indented by parent: service, name, a bar on the trace's common time scale, duration, status, and
 * the attributes that matter (request, session, user, retries, sampling, `traceweave.*` ones). When
 * some span of the trace has resource attributes, a `cpu` and a `mem` column follow the duration
 * (`cpu 12.3ms  mem +16.0MB`; `own` marks the request's own CPU of the attributed mode, unmarked is
 * the process's) and the raw `traceweave.process.*` keys are not repeated inline.
 * Spans whose parent never arrived are marked. Ends with a newline.
 *
 * @example
 * ```ts
 * process.stdout.write(formatWaterfall(spans, { color: shouldColor(process.stdout) }))
 * ```
 */
export function formatWaterfall(spans: readonly ViewSpan[] | Waterfall, options: TextOptions = {}): string {
  const waterfall = Array.isArray(spans) ? buildWaterfall(spans) : (spans as Waterfall)
  const {
    color = false,
    barWidth = 32,
    maxNameWidth = 48,
    orphanNote,
    rootlessNote = 'root span missing',
  } = options
  const paint = (code: string, text: string): string =>
    color && text !== '' ? `${code}${text}${ANSI.reset}` : text
  const rows = waterfall.rows
  if (rows.length === 0) return ''
  const summary = summarizeTrace(rows.map((row) => row.span))
  const services = summary.services
  const serviceWidth = Math.min(20, Math.max(...services.map((name) => oneLine(name, 20).length)))
  const names = rows.map(
    (row) => `${'  '.repeat(Math.min(row.depth, 12))}${oneLine(row.span.name, maxNameWidth)}`,
  )
  const nameWidth = Math.min(maxNameWidth, Math.max(...names.map((name) => name.length)))
  const durations = rows.map((row) => formatDuration(row.durationMs))
  const durationWidth = Math.max(...durations.map((text) => text.length))
  const resourceColumns = resourceCells(rows)

  const header = [
    paint(ANSI.bold, `trace ${waterfall.traceId}`),
    oneLine(summary.rootName, 80),
    formatDuration(waterfall.durationMs),
    plural(summary.spanCount, 'span'),
    plural(services.length, 'service'),
  ]
  if (summary.errorCount > 0) header.push(paint(ANSI.red, plural(summary.errorCount, 'error')))
  if (!summary.hasRoot && rootlessNote !== '') header.push(paint(ANSI.yellow, oneLine(rootlessNote, 80)))
  const lines = [header.join('  ')]

  rows.forEach((row, index) => {
    const serviceColour = SERVICE_COLOURS[services.indexOf(row.service) % SERVICE_COLOURS.length] ?? ''
    const parts = [
      paint(serviceColour, oneLine(row.service, serviceWidth).padEnd(serviceWidth)),
      oneLine(names[index]!, nameWidth).padEnd(nameWidth),
      paint(row.critical ? ANSI.yellow : serviceColour, bar(row, barWidth)),
      durations[index]!.padStart(durationWidth),
      ...resourceColumns.map((column) => column[index]!),
      formatStatus(row, paint),
    ]
    const extras = row.highlights.map(([key, value]) => `${key}=${quoteIfNeeded(value)}`)
    if (row.orphan) {
      const note = orphanNote
        ? oneLine(orphanNote(row.span), 120)
        : `parent ${oneLine(row.span.parentSpanId ?? '?', 32)} missing`
      extras.unshift(paint(ANSI.yellow, `(${note})`))
    }
    if (extras.length > 0) parts.push(extras.join(' '))
    lines.push(`  ${parts.join('  ')}`.trimEnd())
  })
  return `${lines.join('\n')}\n`
}

/**
 * The `cpu` and `mem` columns, each only when some row of the trace has it (a trace without resource
 * attributes prints as before): one cell per row, numbers right-aligned, blank where a row has none.
 * The request's own CPU (attributed mode) is marked `own`; unmarked CPU is the whole process's.
 */
function resourceCells(rows: readonly WaterfallRow[]): string[][] {
  const columns: string[][] = []
  const cpu = rows.map((row) => row.resources?.cpuText ?? '')
  if (cpu.some((text) => text !== '')) {
    const values = cpu.map((text) => text.replace(/ own$/, ''))
    const own = cpu.map((text) => text.endsWith(' own'))
    const valueWidth = Math.max(...values.map((text) => text.length))
    const suffix = own.some(Boolean) ? ' own' : ''
    const width = 4 + valueWidth + suffix.length
    columns.push(
      cpu.map((text, index) =>
        text === ''
          ? ' '.repeat(width)
          : `cpu ${values[index]!.padStart(valueWidth)}${own[index] ? suffix : ' '.repeat(suffix.length)}`,
      ),
    )
  }
  const memory = rows.map((row) => row.resources?.memoryText ?? '')
  if (memory.some((text) => text !== '')) {
    const valueWidth = Math.max(...memory.map((text) => text.length))
    columns.push(
      memory.map((text) => (text === '' ? ' '.repeat(4 + valueWidth) : `mem ${text.padStart(valueWidth)}`)),
    )
  }
  return columns
}

function bar(row: WaterfallRow, width: number): string {
  const start = Math.min(width - 1, Math.max(0, Math.floor(row.offset * width)))
  const length = Math.max(1, Math.min(width - start, Math.round(row.width * width)))
  return `${' '.repeat(start)}${'█'.repeat(length)}${' '.repeat(width - start - length)}`
}

function formatStatus(row: WaterfallRow, paint: (code: string, text: string) => string): string {
  const { code, message } = row.span.status
  if (code === 'error')
    return paint(ANSI.red, message ? `ERROR ${JSON.stringify(oneLine(message, 60))}` : 'ERROR')
  if (code === 'ok') return paint(ANSI.green, 'OK   ')
  return paint(ANSI.dim, '-    ')
}

function quoteIfNeeded(text: string): string {
  return text === '' || /[\s"=]/.test(text) ? JSON.stringify(text) : text
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`
}

/**
 * Renders spans of any number of traces (an exporter's batch, say): one waterfall per trace ID, in
 * the order each trace first appears, separated by a blank line.
 *
 * @example
 * ```ts
 * write(formatWaterfalls(batch.map(fromReadableSpan), { color: shouldColor(process.stdout) }))
 * ```
 */
export function formatWaterfalls(spans: readonly ViewSpan[], options: TextOptions = {}): string {
  const byTrace = new Map<string, ViewSpan[]>()
  for (const span of spans) {
    const list = byTrace.get(span.traceId)
    if (list) list.push(span)
    else byTrace.set(span.traceId, [span])
  }
  return [...byTrace.values()].map((trace) => formatWaterfall(trace, options)).join('\n')
}
