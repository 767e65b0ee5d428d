/**
 * The viewer's span model: plain, JSON-safe data that OTLP (JSON or protobuf) and an SDK
 * `ReadableSpan` both map onto, so one renderer serves the terminal, the web page, the HTML file and
 * the console exporter. Times are epoch milliseconds with a fractional part (microsecond precision).
 */

/** An attribute value as OTLP carries it: scalars, arrays and key-value lists (maps). */
export type ViewAttributeValue =
  string | number | boolean | null | ViewAttributeValue[] | { [key: string]: ViewAttributeValue }

/** Attributes by key, in the order the sender wrote them. */
export type ViewAttributes = Record<string, ViewAttributeValue>

/** OTLP span kinds, by name. `unspecified` is OTLP's 0. */
export type ViewSpanKind = 'unspecified' | 'internal' | 'server' | 'client' | 'producer' | 'consumer'

/** OTLP status codes, by name. */
export type ViewStatusCode = 'unset' | 'ok' | 'error'

/** A timed event inside a span (an exception, `aborted`, ...). */
export interface ViewEvent {
  name: string
  /** Epoch milliseconds. */
  timeMs: number
  attributes: ViewAttributes
}

/** A link from a span to another span, possibly in another trace. */
export interface ViewLink {
  /** 32 lowercase hex digits. */
  traceId: string
  /** 16 lowercase hex digits. */
  spanId: string
  attributes: ViewAttributes
}

/**
 * One finished span.
 *
 * @example
 * ```ts
 * const span: ViewSpan = {
 *   traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', name: 'GET /users/:id',
 *   kind: 'server', startMs: 1700000000000, endMs: 1700000000012.5, status: { code: 'ok' },
 *   attributes: { 'http.route': '/users/:id' }, events: [], links: [], resource: { 'service.name': 'api' },
 * }
 * ```
 */
export interface ViewSpan {
  /** 32 lowercase hex digits. */
  traceId: string
  /** 16 lowercase hex digits. */
  spanId: string
  /** The parent's span ID (16 lowercase hex digits); absent for a root span. */
  parentSpanId?: string
  name: string
  kind: ViewSpanKind
  /** Epoch milliseconds, fractional. */
  startMs: number
  /** Epoch milliseconds, fractional; never before `startMs`. */
  endMs: number
  status: { code: ViewStatusCode; message?: string }
  attributes: ViewAttributes
  events: ViewEvent[]
  links: ViewLink[]
  /** The resource's attributes, `service.name` among them. */
  resource: ViewAttributes
  /** The instrumentation scope that made the span, when known. */
  scope?: { name: string; version?: string }
}

/** The service a span came from: its resource's `service.name`, else `unknown_service`. */
export function serviceOf(span: ViewSpan): string {
  const name = span.resource['service.name']
  return typeof name === 'string' && name !== '' ? name : 'unknown_service'
}

/** What {@link fromReadableSpan} reads: the shape of an OpenTelemetry JS SDK `ReadableSpan`. */
export interface ReadableSpanLike {
  name: string
  kind: number
  spanContext(): { traceId: string; spanId: string }
  parentSpanContext?: { spanId: string } | undefined
  /** `[seconds, nanoseconds]`, as the SDK's HrTime. */
  startTime: readonly [number, number]
  endTime: readonly [number, number]
  status: { code: number; message?: string | undefined }
  attributes: Record<string, unknown>
  events: ReadonlyArray<{
    name: string
    time: readonly [number, number]
    attributes?: Record<string, unknown> | undefined
  }>
  links: ReadonlyArray<{
    context: { traceId: string; spanId: string }
    attributes?: Record<string, unknown> | undefined
  }>
  resource: { attributes: Record<string, unknown> }
  instrumentationScope?: { name: string; version?: string | undefined }
}

const KINDS: readonly ViewSpanKind[] = ['internal', 'server', 'client', 'producer', 'consumer']
const STATUSES: readonly ViewStatusCode[] = ['unset', 'ok', 'error']

/**
 * Maps an OpenTelemetry JS SDK `ReadableSpan` onto the view model (typed structurally: this module
 * imports nothing from the SDK). SDK kinds are 0-based (INTERNAL = 0), OTLP's are 1-based.
 *
 * @example
 * ```ts
 * const text = formatWaterfall(readableSpans.map(fromReadableSpan))
 * ```
 */
export function fromReadableSpan(span: ReadableSpanLike): ViewSpan {
  const { traceId, spanId } = span.spanContext()
  const view: ViewSpan = {
    traceId,
    spanId,
    name: span.name,
    kind: KINDS[span.kind] ?? 'unspecified',
    startMs: hrTimeToMs(span.startTime),
    endMs: Math.max(hrTimeToMs(span.endTime), hrTimeToMs(span.startTime)),
    status: { code: STATUSES[span.status.code] ?? 'unset' },
    attributes: toAttributes(span.attributes),
    events: span.events.map((event) => ({
      name: event.name,
      timeMs: hrTimeToMs(event.time),
      attributes: toAttributes(event.attributes ?? {}),
    })),
    links: span.links.map((link) => ({
      traceId: link.context.traceId,
      spanId: link.context.spanId,
      attributes: toAttributes(link.attributes ?? {}),
    })),
    resource: toAttributes(span.resource.attributes),
  }
  const parentSpanId = span.parentSpanContext?.spanId
  if (parentSpanId) view.parentSpanId = parentSpanId
  if (span.status.message) view.status.message = span.status.message
  if (span.instrumentationScope) {
    view.scope = { name: span.instrumentationScope.name }
    if (span.instrumentationScope.version) view.scope.version = span.instrumentationScope.version
  }
  return view
}

function hrTimeToMs(time: readonly [number, number]): number {
  return time[0] * 1e3 + time[1] / 1e6
}

function toAttributes(attributes: Record<string, unknown>): ViewAttributes {
  const out: ViewAttributes = {}
  for (const [key, value] of Object.entries(attributes)) {
    const converted = toValue(value)
    if (converted !== undefined) out[key] = converted
  }
  return out
}

function toValue(value: unknown): ViewAttributeValue | undefined {
  if (typeof value === 'string' || typeof value === 'boolean' || value === null) return value
  if (typeof value === 'number') return value
  if (Array.isArray(value)) return value.map((item) => toValue(item) ?? null)
  return undefined
}
