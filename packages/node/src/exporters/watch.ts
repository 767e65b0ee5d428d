import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import type { ClientRequest, IncomingMessage } from 'node:http'
import { ExportResultCode, type ExportResult } from '@opentelemetry/core'
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base'
import { logger } from '@traceweave/core/internal'

/** Where a watched exporter sends spans, for the sentences a person reads. */
export interface ExportTarget {
  /** The OTLP traces URL, when the exporter sends over HTTP. */
  url?: string
  /** How long one OTLP request may take, for "no answer within N ms". */
  timeoutMillis?: number
  /** A name for any other exporter (`console`, the class name of the user's). */
  name?: string
}

/** What `stats()` shows of the exports. */
export interface ExportStats {
  /** Spans the exporter accepted. Only grows. */
  exportedSpans: number
  /** Export calls that failed (each lost its batch of spans). Only grows. */
  failedExports: number
  /** The cause of the most recent failure, in words (`connection refused`, `HTTP 503`, ...). */
  lastExportError: string | undefined
}

const REQUEST_CHANNEL = 'http.client.request.start'

/**
 * Wraps the exporter behind the batch queue so a person learns when spans go nowhere, without a line
 * per failed batch: the first failure of each cause prints one sentence (where, why, what to do), the
 * first success after an announced failure prints one line, and the counters feed `stats()`.
 *
 * The batch processor is told every export succeeded: the failure is already reported here, and a
 * failed result would make the SDK report it again through the app's diag logger, with a stack, per batch.
 */
export class WatchedExporter implements SpanExporter {
  readonly stats: ExportStats = { exportedSpans: 0, failedExports: 0, lastExportError: undefined }
  /** The cause of the current run of failures; `undefined` while exports succeed. */
  failingCause: string | undefined
  private announcedRun = false
  private readonly announced = new Set<string>()
  private inFlight = 0
  private lastStatus: number | undefined
  private lastAttemptCause: string | undefined
  private readonly idleWaiters: Array<() => void> = []
  private readonly target: ExportTarget
  private readonly match: { host: string; path: string } | undefined

  constructor(
    private readonly inner: SpanExporter,
    target: ExportTarget,
  ) {
    this.target = target
    this.match = target.url ? hostAndPath(target.url) : undefined
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.watchStatus(true)
    let done = false
    const finish = (result: ExportResult): void => {
      if (done) return
      done = true
      this.watchStatus(false)
      this.record(spans.length, result)
      resultCallback({ code: ExportResultCode.SUCCESS })
    }
    try {
      this.inner.export(spans, finish)
    } catch (error) {
      finish({ code: ExportResultCode.FAILED, error: error as Error })
    }
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve()
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown()
  }

  /** Where the spans go, in words: the URL or the exporter's name. */
  describeTarget(): string {
    return this.target.url ?? this.target.name ?? 'the exporter'
  }

  private record(count: number, result: ExportResult): void {
    if (result.code === ExportResultCode.SUCCESS) {
      this.stats.exportedSpans += count
      if (this.failingCause !== undefined && this.announcedRun) {
        logger.info(
          `spans reach ${this.describeTarget()} again (${this.stats.failedExports} failed export(s) so far; their spans were lost)`,
        )
      }
      this.failingCause = undefined
      this.announcedRun = false
      return
    }
    this.stats.failedExports++
    const cause = this.describeFinalCause(result.error)
    this.stats.lastExportError = cause
    logger.debug(`export to ${this.describeTarget()} failed`, result.error)
    this.announce(cause)
  }

  /** A failed export or attempt: told once per cause per process; recovery is told only after one was told. */
  private announce(cause: string): void {
    this.failingCause = cause
    if (this.announced.has(cause)) return
    this.announced.add(cause)
    this.announcedRun = true
    logger.warn(this.failureSentence(cause))
  }

  // The final result often carries less than the attempts did ("retryable status"): prefer what they saw.
  private describeFinalCause(error: Error | undefined): string {
    const status = statusOf(error) ?? this.lastStatus
    const attempt = this.lastAttemptCause
    this.lastStatus = undefined
    this.lastAttemptCause = undefined
    if (error?.message === 'Request timed out') return this.describeCause(error)
    if (attempt !== undefined) return attempt
    if (status !== undefined) return `HTTP ${status}`
    return this.describeCause(error)
  }

  private failureSentence(cause: string): string {
    const where = this.describeTarget()
    if (this.target.url === undefined) {
      return `exporting spans to ${where} failed (${cause}); spans are lost until it works`
    }
    const status = /^HTTP (\d{3})/.exec(cause)?.[1]
    if (status?.startsWith('5') || status === '429') {
      return (
        `cannot export spans to ${where}: ${cause} (the collector is overloaded or failing; see its logs); ` +
        `spans are dropped until it accepts them`
      )
    }
    if (status !== undefined) {
      return (
        `cannot export spans to ${where}: ${cause}. Check the URL (OTEL_EXPORTER_OTLP_ENDPOINT) and the headers ` +
        `it needs (OTEL_EXPORTER_OTLP_HEADERS, an API key?); spans are dropped until it accepts them`
      )
    }
    return (
      `cannot export spans to ${where}: ${cause}. Start a collector there (or run \`npx @traceweave/view\` to see ` +
      `traces locally), set OTEL_EXPORTER_OTLP_ENDPOINT to yours, or use setupTracing({ exporter: 'console' }); ` +
      `spans are dropped until it answers`
    )
  }

  private describeCause(error: Error | undefined): string {
    const status = statusOf(error)
    const code = codeOf(error)
    if (code === 'ECONNREFUSED') return 'connection refused (nothing listens there)'
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host not found'
    if (code === 'ECONNRESET' || code === 'EPIPE') return 'connection reset'
    if (code === 'ETIMEDOUT' || code === 'ENETUNREACH' || code === 'EHOSTUNREACH')
      return `unreachable (${code})`
    if (status !== undefined) return `HTTP ${status}`
    if (error?.message === 'Request timed out') return this.timeoutCause()
    return (error?.message || code || 'unknown error').replace(/\s+/g, ' ').slice(0, 200)
  }

  private timeoutCause(): string {
    return `no answer within ${this.target.timeoutMillis ?? 10000} ms (OTEL_EXPORTER_OTLP_TIMEOUT)`
  }

  // The OTLP exporter retries refused connections and 429/502/503/504 until its timeout, then reports
  // only "retryable status". Each attempt is watched through Node's HTTP client channel (only while an
  // export runs), so the first failed attempt is told at once and names its cause.
  private readonly onRequest = (message: unknown): void => {
    const { request } = message as { request: ClientRequest }
    if (this.match === undefined || request.path !== this.match.path) return
    if (String(request.getHeader('host')) !== this.match.host) return
    request.once('response', (response: IncomingMessage) => {
      const status = response.statusCode
      if (status === undefined || status < 300) return
      this.lastStatus = status
      this.announce(`HTTP ${status}`)
    })
    let timedOut = false
    request.once('timeout', () => {
      timedOut = true
      this.lastAttemptCause = this.timeoutCause()
      this.announce(this.lastAttemptCause)
    })
    // The exporter listens for 'error' too; ours only reads the cause (a timed-out request is destroyed,
    // which shows up here as a reset).
    request.once('error', (error: Error) => {
      if (timedOut) return
      const cause = this.describeCause(error)
      this.lastAttemptCause = cause
      this.announce(cause)
    })
  }

  private watchStatus(starting: boolean): void {
    if (starting) {
      if (this.inFlight++ === 0 && this.match !== undefined) subscribe(REQUEST_CHANNEL, this.onRequest)
      return
    }
    if (--this.inFlight > 0) return
    if (this.match !== undefined) unsubscribe(REQUEST_CHANNEL, this.onRequest)
    for (const resolve of this.idleWaiters.splice(0)) resolve()
  }

  /** Resolves when no export is running (the batch processor's flush does not wait for one in flight). */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }
}

function hostAndPath(url: string): { host: string; path: string } | undefined {
  try {
    const parsed = new URL(url)
    return { host: parsed.host, path: `${parsed.pathname}${parsed.search}` }
  } catch {
    return undefined
  }
}

function statusOf(error: Error | undefined): number | undefined {
  const code = (error as { code?: unknown } | undefined)?.code
  return typeof code === 'number' && code >= 100 && code <= 599 ? code : undefined
}

// Node reports a refused dual-stack connect as an AggregateError whose attempts carry the code.
function codeOf(error: Error | undefined): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code
  if (typeof code === 'string') return code
  const attempts = (error as { errors?: unknown } | undefined)?.errors
  if (Array.isArray(attempts)) {
    for (const attempt of attempts) {
      const inner = (attempt as { code?: unknown }).code
      if (typeof inner === 'string') return inner
    }
  }
  return undefined
}
