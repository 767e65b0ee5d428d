/**
 * @traceweave/view/render: the waterfall, dependency-free (no protobuf, no node:http, no SDK). Plain
 * spans in ({@link ViewSpan}), rows and text out. The terminal, the web page, the HTML report and the
 * console exporter of @traceweave/node all draw with it.
 */
export {
  fromReadableSpan,
  serviceOf,
  type ReadableSpanLike,
  type ViewAttributeValue,
  type ViewAttributes,
  type ViewEvent,
  type ViewLink,
  type ViewSpan,
  type ViewSpanKind,
  type ViewStatusCode,
} from './model'
export {
  buildWaterfall,
  summarizeTrace,
  formatValue,
  oneLine,
  CORRELATION_KEYS,
  HIGHLIGHT_KEYS,
  TRACEWEAVE_PREFIX,
  type TraceSummary,
  type Waterfall,
  type WaterfallRow,
} from './waterfall'
export {
  summarizeResources,
  formatByteDelta,
  formatCpuTime,
  isResourceColumnKey,
  PROCESS_RESOURCE_PREFIX,
  REQUEST_CPU_KEY,
  type RowResources,
} from './resources'
export { formatWaterfall, formatWaterfalls, formatDuration, shouldColor, type TextOptions } from './text'
