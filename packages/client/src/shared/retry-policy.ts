import { INVALID_SPAN_CONTEXT, context, isSpanContextValid, trace, type Tracer } from '@opentelemetry/api'
import { tracedRetry, type RetryContext } from '@traceweave/core'
import { failOpen, reportFailure, withOuterRetryAttempt } from '@traceweave/core/internal'
import { readHeader } from './headers'
import type { ClientSettings, HttpRetryOptions } from './options'
import type { Transport } from './call'
import { linkSignals, unlinkSignal } from './signals'

/**
 * The error a retry hook sees when an attempt failed with a retryable response (408, 429, 5xx) rather
 * than an exception. Only hooks see it: when retries run out, the caller gets the last response itself
 * (fetch) or axios's own error, never this.
 */
export class HttpStatusError extends Error {
  override readonly name = 'HttpStatusError'
  constructor(
    /** The response status. */
    readonly status: number,
    /** The response headers (`Headers` for fetch, `AxiosHeaders` for axios). */
    readonly headers: unknown,
    /** @internal the response, handed back to the caller if no attempt succeeds */
    readonly response: unknown,
  ) {
    super(`HTTP ${status}`)
  }
}

/** Statuses worth another try: the server may answer differently later. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599)
}

const DELAY_SECONDS = /^\s*(\d{1,10})\s*$/

/**
 * Milliseconds to wait per a `Retry-After` header (RFC 9110 10.2.3: delay-seconds or an HTTP date),
 * or `undefined` for a missing or malformed value. A date in the past is 0. Never throws.
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (typeof value !== 'string' || value.length > 64) return undefined
  const seconds = DELAY_SECONDS.exec(value)
  if (seconds !== null) return Number(seconds[1]) * 1000
  // Only an HTTP date has letters and a comma or spaces; Date.parse alone would accept "1" or "2024".
  if (!/^[A-Za-z]{3},? /.test(value.trim())) return undefined
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/** What the retry loop needs to know about a transport besides its statuses. */
export interface RetryTransport<R> extends Transport<R> {
  headersOf(result: R): unknown
  headersOfError(error: unknown): unknown
  /** Releases a failed attempt's unread body (result or error), so its socket is not leaked. */
  release(outcome: { result?: R; error?: unknown }): void
}

/** The facts about one request that decide whether it may be retried. */
export interface RetryableRequest {
  readonly method: string
  /** False when the body cannot be sent twice (a stream). */
  readonly replayable: boolean
  /** The caller's own signal: its abort stops the retries too. */
  readonly signal?: AbortSignal | null
}

/**
 * An attempt: `resendCount` is 0 for the first; `signal`, when defined, replaces the caller's own
 * signal for this attempt (it is the caller's signal linked with `retry.signal`).
 */
export type Attempt<R> = (resendCount: number, signal: AbortSignal | undefined) => Promise<R>

// Spans nothing, so retries outside any span do not start root spans when `startRootSpans` is off.
const passthroughTracer = {
  startSpan: () => trace.wrapSpanContext(INVALID_SPAN_CONTEXT),
} as unknown as Tracer

function isAbort(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false
  const { name, code } = error as { name?: unknown; code?: unknown }
  return name === 'AbortError' || name === 'CanceledError' || code === 'ERR_CANCELED'
}

/**
 * Runs `attempt` under the client's retry policy: only allowed methods with replayable bodies, on
 * network errors and retryable statuses, honouring `Retry-After`; without retries configured it is a
 * single attempt. Each attempt's CLIENT span is a child of a `retry <METHOD>` attempt span.
 */
export async function sendWithRetry<R>(
  settings: ClientSettings,
  request: RetryableRequest,
  transport: RetryTransport<R>,
  attempt: Attempt<R>,
): Promise<R> {
  const retry = settings.retry
  // `retry.signal` bounds every call of the client, retried or not, including the attempt in flight.
  const callerSignal = request.signal ?? undefined
  // Each call gets a signal of its own, so a long-lived `retry.signal` carries one listener, not one per call.
  const attemptSignal =
    retry?.signal === undefined
      ? undefined
      : callerSignal === undefined
        ? linkSignals(retry.signal)
        : linkSignals(callerSignal, retry.signal)
  const signal = attemptSignal ?? callerSignal
  try {
    if (retry === undefined || !request.replayable || !settings.retryMethods.has(request.method))
      return await attempt(0, attemptSignal)
    return await retryAttempts(settings, request, transport, attempt, retry, signal, attemptSignal)
  } catch (error) {
    // No body is left to stream: the link to a long-lived caller signal can go now.
    unlinkSignal(attemptSignal)
    throw error
  }
}

async function retryAttempts<R>(
  settings: ClientSettings,
  request: RetryableRequest,
  transport: RetryTransport<R>,
  attempt: Attempt<R>,
  retry: Readonly<HttpRetryOptions>,
  signal: AbortSignal | undefined,
  attemptSignal: AbortSignal | undefined,
): Promise<R> {
  const outer = context.active()
  const parentSpan = trace.getSpanContext(outer)
  const traced = settings.startRootSpans || (parentSpan !== undefined && isSpanContextValid(parentSpan))

  let attempted = false
  let failed: { result?: R; error?: unknown } | undefined
  const release = () => {
    if (failed !== undefined)
      failOpen('client: releasing a failed response', () => transport.release(failed!), undefined)
    failed = undefined
  }
  const statusOfFailure = (error: unknown) =>
    error instanceof HttpStatusError ? error.status : transport.statusOfError(error)

  try {
    return await tracedRetry(
      async (attemptNumber) => {
        attempted = true
        release()
        let result: R
        try {
          // Our own resends are counted by `attemptNumber`; only a caller's tracedRetry adds to them.
          result = await context.with(withOuterRetryAttempt(context.active(), outer), () =>
            attempt(attemptNumber - 1, attemptSignal),
          )
        } catch (error) {
          failed = { error }
          throw error
        }
        const status = transport.statusOf(result)
        if (status === undefined || !isRetryableStatus(status)) return result
        failed = { result }
        throw new HttpStatusError(status, transport.headersOf(result), result)
      },
      {
        ...retry,
        signal,
        name: `retry ${request.method}`,
        tracer: traced ? settings.tracer() : passthroughTracer,
        shouldRetry: (failure: RetryContext) => {
          if (signal?.aborted === true) return false
          const status = statusOfFailure(failure.error)
          if (status === undefined ? isAbort(failure.error) : !isRetryableStatus(status)) return false
          return retry.shouldRetry === undefined ? true : retry.shouldRetry(failure)
        },
        retryDelay: (failure: RetryContext) => {
          const headers =
            failure.error instanceof HttpStatusError
              ? failure.error.headers
              : transport.headersOfError(failure.error)
          return parseRetryAfter(readHeader(headers, 'retry-after')) ?? retry.retryDelay?.(failure)
        },
      },
    )
  } catch (error) {
    if (!attempted && !(signal?.aborted === true && error === signal.reason)) {
      // Our retry machinery failed before the first attempt: send the call once, without retries.
      reportFailure('client: retry', error)
      return attempt(0, attemptSignal)
    }
    // Out of retries on a status failure: the caller gets the last response, as a plain call would.
    const last = failed
    if (error instanceof HttpStatusError && last !== undefined && last.result === error.response)
      return last.result as R
    if (last?.error === error) throw error
    release() // aborted during a backoff or a hook threw: the failed attempt's body is not needed
    throw error
  }
}
