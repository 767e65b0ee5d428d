import { context, trace, TraceFlags, type Context, type Span } from '@opentelemetry/api'
import { isTracingDisabled } from '@traceweave/core'
import {
  applyDownstreamAnswer,
  failOpen,
  isTracingSuppressed,
  reportFailure,
  resendsBefore,
  suppressTracing,
} from '@traceweave/core/internal'
import { outgoingHeaders, readHeader, type OutgoingHeaders } from './headers'
import type { ClientSettings } from './options'
import { endWithError, endWithStatus, startClientSpan } from './span'

/** One HTTP request as fetch or axios would send it, seen by the shared engine. */
export interface OutgoingCall<R> {
  readonly method: string
  readonly url: URL
  /** Our part: a copy of the request carrying `headers`; returns the real call, not yet made. */
  prepare(headers: OutgoingHeaders): () => PromiseLike<R>
  /** The call exactly as the caller asked, for when our instrumentation fails before the call. */
  untouched(): PromiseLike<R>
}

/** How the engine reads a transport's outcome. */
export interface Transport<R> {
  statusOf(result: R): number | undefined
  /** The response status an error carries (axios rejects 4xx/5xx), if any. */
  statusOfError(error: unknown): number | undefined
  /**
   * The response a result or error carries, for the callee's answer about the trace: its headers and
   * the URL it finally came from (after redirects the transport followed itself), if known.
   */
  answerOf?(outcome: { result?: R; error?: unknown }): ResponseAnswer | undefined
}

/** A response as the deferred-sampling step reads it. */
export interface ResponseAnswer {
  readonly headers: unknown
  /** The final URL after redirects; `undefined`: the call's own URL. */
  readonly url: string | undefined
}

/**
 * Sends one HTTP request (one attempt, one redirect hop) as a CLIENT span child of the active span,
 * with the trace headers `propagateTo` allows, and ends the span when the call settles. Fail open: if
 * our part throws before the call, the caller's request goes out untouched; if it throws after, the
 * caller still gets the real result or error.
 */
export function sendTraced<R>(
  settings: ClientSettings,
  call: OutgoingCall<R>,
  transport: Transport<R>,
  resendCount = 0,
): Promise<R> {
  const parent = context.active()
  // Tracing switched off (OTEL_SDK_DISABLED, setupTracing({ disabled })), or suppressed for this call.
  if (isTracingDisabled() || isTracingSuppressed(parent)) return Promise.resolve(call.untouched())
  let span: Span | undefined
  let send: () => PromiseLike<R>
  let callContext: Context
  try {
    // Inside a tracedRetry attempt, the attempts before it resent this request too.
    span = startClientSpan(settings, call.method, call.url, resendCount + resendsBefore(parent), parent)
    const spanContext = span === undefined ? parent : trace.setSpan(parent, span)
    send = call.prepare(outgoingHeaders(settings, spanContext, call.url))
    callContext = settings.suppressNested ? suppressTracing(spanContext) : spanContext
  } catch (error) {
    reportFailure('client: preparing the call', error)
    if (span !== undefined) failOpen('client: ending the span', () => span!.end(), undefined)
    return Promise.resolve(call.untouched())
  }

  let pending: PromiseLike<R>
  try {
    pending = context.with(callContext, send)
  } catch (error) {
    // The caller's own fetch/adapter threw synchronously: record it, then let it reach the caller as is.
    if (span !== undefined)
      failOpen('client: ending the span', () => endWithError(span!, error, undefined), undefined)
    throw error
  }
  if (span === undefined) return Promise.resolve(pending)
  const ended = span
  const answerContext = trace.setSpan(parent, ended)
  return Promise.resolve(pending).then(
    (result) => {
      readAnswer(settings, call, transport, answerContext, { result })
      failOpen('client: ending the span', () => endWithStatus(ended, transport.statusOf(result)), undefined)
      return result
    },
    (error: unknown) => {
      readAnswer(settings, call, transport, answerContext, { error })
      failOpen(
        'client: ending the span',
        () => endWithError(ended, error, transport.statusOfError(error)),
        undefined,
      )
      throw error
    },
  )
}

/**
 * Before the CLIENT span ends: a callee inside `propagateTo` (judged on the URL the response finally
 * came from) may answer that it kept the trace (`traceresponse`, Server-Timing `trace`); core upgrades
 * the caller's request if it went out unsampled. Only calls that went out unsampled read the headers.
 */
function readAnswer<R>(
  settings: ClientSettings,
  call: OutgoingCall<R>,
  transport: Transport<R>,
  callContext: Context,
  outcome: { result?: R; error?: unknown },
): void {
  const answerOf = transport.answerOf
  if (answerOf === undefined) return
  const spanContext = trace.getSpanContext(callContext)
  if (spanContext === undefined || (spanContext.traceFlags & TraceFlags.SAMPLED) !== 0) return
  failOpen(
    'client: reading the trace response',
    () => {
      const answer = answerOf(outcome)
      if (answer === undefined) return
      const url = answer.url === undefined || answer.url === '' ? call.url : new URL(answer.url)
      if (!settings.propagateTo(url)) return
      applyDownstreamAnswer(callContext, {
        traceresponse: readHeader(answer.headers, 'traceresponse'),
        serverTiming: readHeader(answer.headers, 'server-timing'),
      })
    },
    undefined,
  )
}
