import { buildWaterfall, summarizeTrace, type TraceSummary, type Waterfall } from '../render/waterfall'
import type { StoredTrace } from '../store/trace-store'
import { loadUiAssets } from './assets'

/** A trace as the page receives it: its summary and its waterfall (rows with the full spans). */
export interface TraceDetail {
  summary: TraceSummary
  waterfall: Waterfall
  droppedSpans: number
}

/** The page's view of one stored trace, laid out by the shared renderer. */
export function traceDetail(trace: StoredTrace): TraceDetail {
  return {
    summary: summarizeTrace(trace.spans),
    waterfall: buildWaterfall(trace.spans),
    droppedSpans: trace.droppedSpans,
  }
}

/**
 * JSON safe inside a `<script>` element: `<` (so no `</script>` or `<!--`), and the line separators
 * that old parsers reject, are written as escapes.
 */
export function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029')
}

/**
 * One self-contained HTML page (styles, script and data inline; nothing fetched) showing `traces`
 * with the same list, search and waterfall as the live page.
 */
export function renderHtmlReport(traces: readonly StoredTrace[], generatedAt = new Date()): string {
  const { html, css, js } = loadUiAssets()
  const data = { generatedAt: generatedAt.toISOString(), traces: traces.map(traceDetail) }
  return html
    .replace('<link rel="stylesheet" href="style.css" />', () => `<style>\n${css}</style>`)
    .replace(
      '<script src="app.js"></script>',
      () =>
        `<script id="traceweave-data" type="application/json">${scriptSafeJson(data)}</script>\n<script>\n${js.replace(/<\/script/gi, '<\\/script')}</script>`,
    )
}
