/**
 * @traceweave/view: a local OTLP/HTTP receiver that shows each trace as a waterfall in the terminal,
 * on a web page and in a self-contained HTML file. The renderer alone is `@traceweave/view/render`.
 */
export { startViewer, DEFAULT_OTLP_PORT, DEFAULT_UI_PORT, type Viewer, type ViewerOptions } from './viewer'
export { TraceStore, type StoredTrace, type TraceStoreOptions, type ViewerStats } from './store/trace-store'
export { ViewerListenError } from './server/listen'
export { decodeTracesJson, decodeTracesProtobuf, SPAN_LIMITS, type DecodedTraces } from './otlp/decode'
export { renderHtmlReport } from './server/report'
