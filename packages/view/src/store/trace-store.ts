import type { ViewSpan } from '../render/model'
import { summarizeTrace, type TraceSummary } from '../render/waterfall'

/** Options of {@link TraceStore}. */
export interface TraceStoreOptions {
  /** Traces held; past it the oldest is dropped and counted. Default 1000. */
  maxTraces?: number
  /** Spans held per trace; later ones are dropped and counted. Default 1000. */
  maxSpansPerTrace?: number
  /**
   * Spans held in all, about 1 KB each: past it the oldest traces are dropped (counted) until the
   * spans fit. Default 100000 (about 100 MB).
   */
  maxSpans?: number
  /**
   * Milliseconds a trace waits, after its root span arrived and no other span came, before it counts
   * as complete. At least the SDK's default batch delay (5000), so late children from other services
   * still land. Default 6000.
   */
  graceMs?: number
  /**
   * Milliseconds a trace without a root span waits (after its last span) before it is shown anyway,
   * its spans marked as having no parent. Default 30000, and never less than `graceMs`.
   */
  rootlessGraceMs?: number
  /** Called once per trace when it completes, and again if late spans arrive afterwards. */
  onTrace?: (trace: StoredTrace) => void
}

/** One trace as the store holds it. */
export interface StoredTrace {
  traceId: string
  spans: ViewSpan[]
  /** Spans dropped because the trace reached `maxSpansPerTrace`. */
  droppedSpans: number
  /** Completion has been reported; set again to false while late spans wait for their own grace. */
  complete: boolean
  /** How many times the trace was reported complete (above 1 when late spans arrived). */
  reports: number
  /** Epoch ms of the last span that arrived. */
  updatedAt: number
}

/** Counters of what the store (and the receiver, through it) saw. */
export interface ViewerStats {
  /** Traces held now. */
  traces: number
  /** Spans held now. */
  spans: number
  /** Spans received and held or dropped, in total. */
  spansReceived: number
  /** Traces dropped, oldest first, to stay within `maxTraces`. */
  droppedTraces: number
  /** Spans dropped to stay within `maxSpansPerTrace`, including those of dropped traces. */
  droppedSpans: number
  /** Spans rejected at decoding (no valid trace or span ID). */
  rejectedSpans: number
  /** Requests answered 400 (malformed, oversized, bad encoding) or 415. */
  rejectedRequests: number
  /** OTLP export requests accepted, by signal. */
  requests: { traces: number; metrics: number; logs: number }
}

/**
 * Holds recent traces in memory, bounded by `maxTraces` (oldest dropped first, counted) and by
 * `maxSpansPerTrace` (later spans dropped, counted), and reports each trace once it completes:
 * root span arrived, then `graceMs` without another span of the trace.
 */
export class TraceStore {
  readonly maxTraces: number
  readonly maxSpansPerTrace: number
  readonly maxSpans: number
  readonly graceMs: number
  readonly rootlessGraceMs: number
  readonly stats: ViewerStats = {
    traces: 0,
    spans: 0,
    spansReceived: 0,
    droppedTraces: 0,
    droppedSpans: 0,
    rejectedSpans: 0,
    rejectedRequests: 0,
    requests: { traces: 0, metrics: 0, logs: 0 },
  }
  // Insertion order is age order: the first key is the oldest trace.
  private readonly traces = new Map<string, StoredTrace>()
  private readonly spanIds = new Map<string, Set<string>>()
  private readonly timers = new Map<string, NodeJS.Timeout>()
  private readonly listeners = new Set<(trace: StoredTrace) => void>()
  // Summaries are asked for on every list refresh of every open page: computed once per change.
  private readonly summaries = new WeakMap<StoredTrace, TraceSummary>()
  private closed = false

  constructor(options: TraceStoreOptions = {}) {
    const { maxTraces = 1000, maxSpansPerTrace = 1000, graceMs = 6000, onTrace } = options
    this.maxTraces = positiveInteger('maxTraces', maxTraces)
    this.maxSpansPerTrace = positiveInteger('maxSpansPerTrace', maxSpansPerTrace)
    this.maxSpans = positiveInteger('maxSpans', options.maxSpans ?? 100_000)
    if (!(graceMs >= 0 && Number.isFinite(graceMs))) {
      throw new RangeError(`graceMs must be a number of milliseconds >= 0, got ${graceMs}`)
    }
    this.graceMs = graceMs
    this.rootlessGraceMs = Math.max(graceMs, options.rootlessGraceMs ?? 30000)
    if (onTrace) this.listeners.add(onTrace)
  }

  /** Adds the spans of one export request (any number of traces). */
  add(spans: readonly ViewSpan[]): void {
    if (this.closed) return
    const touched = new Set<StoredTrace>()
    for (const span of spans) {
      this.stats.spansReceived++
      const trace = this.traces.get(span.traceId) ?? this.create(span.traceId)
      const ids = this.spanIds.get(span.traceId)!
      if (ids.has(span.spanId)) continue // a retried export: the span is already here
      if (trace.spans.length >= this.maxSpansPerTrace) {
        trace.droppedSpans++
        this.stats.droppedSpans++
        continue
      }
      ids.add(span.spanId)
      trace.spans.push(span)
      this.stats.spans++
      trace.updatedAt = Date.now()
      touched.add(trace)
      // Over the total: the oldest traces go, never the one this span just joined.
      while (this.stats.spans > this.maxSpans && this.traces.keys().next().value !== span.traceId)
        this.evictOldest()
    }
    for (const trace of touched) {
      if (this.traces.get(trace.traceId) !== trace) continue // dropped within this request
      this.summaries.delete(trace)
      this.schedule(trace)
    }
    this.stats.traces = this.traces.size
  }

  /** The trace with this ID (32 lowercase hex digits), if held. */
  get(traceId: string): StoredTrace | undefined {
    return this.traces.get(traceId)
  }

  /** Every trace held, newest first. */
  all(): StoredTrace[] {
    return [...this.traces.values()].reverse()
  }

  /** Summaries of the traces held, newest first, at most `limit`. */
  list(limit = Infinity): TraceSummary[] {
    const out: TraceSummary[] = []
    for (const trace of this.all()) {
      if (out.length >= limit) break
      out.push(this.summary(trace))
    }
    return out
  }

  /** The summary of a held trace (cached until its next span). */
  summary(trace: StoredTrace): TraceSummary {
    let summary = this.summaries.get(trace)
    if (summary === undefined) {
      summary = summarizeTrace(trace.spans)
      this.summaries.set(trace, summary)
    }
    return summary
  }

  /** Calls `listener` on every trace completion; returns a function that removes it. */
  subscribe(listener: (trace: StoredTrace) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Reports every trace still waiting for its grace now (used on exit). */
  flush(): void {
    for (const traceId of [...this.timers.keys()]) this.complete(traceId)
  }

  /** Stops all timers; later spans are ignored. */
  close(): void {
    this.closed = true
    for (const timer of this.timers.values()) clearTimeout(timer)
    this.timers.clear()
    this.listeners.clear()
  }

  private create(traceId: string): StoredTrace {
    while (this.traces.size >= this.maxTraces) this.evictOldest()
    const trace: StoredTrace = {
      traceId,
      spans: [],
      droppedSpans: 0,
      complete: false,
      reports: 0,
      updatedAt: Date.now(),
    }
    this.traces.set(traceId, trace)
    this.spanIds.set(traceId, new Set())
    return trace
  }

  private evictOldest(): void {
    const oldest = this.traces.keys().next().value
    if (oldest === undefined) return
    const trace = this.traces.get(oldest)!
    this.stats.droppedTraces++
    this.stats.droppedSpans += trace.spans.length
    this.stats.spans -= trace.spans.length
    this.traces.delete(oldest)
    this.spanIds.delete(oldest)
    const timer = this.timers.get(oldest)
    if (timer) clearTimeout(timer)
    this.timers.delete(oldest)
  }

  // Every new span restarts the trace's wait: complete means "root here and quiet for the grace".
  private schedule(trace: StoredTrace): void {
    trace.complete = false
    const hasRoot = trace.spans.some((span) => span.parentSpanId === undefined)
    const wait = hasRoot ? this.graceMs : this.rootlessGraceMs
    const existing = this.timers.get(trace.traceId)
    if (existing) clearTimeout(existing)
    const timer = setTimeout(() => this.complete(trace.traceId), wait)
    timer.unref()
    this.timers.set(trace.traceId, timer)
  }

  private complete(traceId: string): void {
    const timer = this.timers.get(traceId)
    if (timer) clearTimeout(timer)
    this.timers.delete(traceId)
    const trace = this.traces.get(traceId)
    if (!trace) return
    trace.complete = true
    trace.reports++
    for (const listener of this.listeners) {
      try {
        listener(trace)
      } catch (error) {
        // A listener's failure must not stop the others or the receiver.
        process.stderr.write(`traceweave-view: a trace listener failed: ${String(error)}\n`)
      }
    }
  }
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`${name} must be an integer >= 1, got ${value}`)
  return value
}
