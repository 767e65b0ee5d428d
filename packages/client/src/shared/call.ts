import { context, trace, type Context, type Span } from '@opentelemetry/api'
import { isTracingDisabled } from '@traceweave/core'
import {
  failOpen,
  isTracingSuppressed,
  reportFailure,
  resendsBefore,
  suppressTracing,
} from '@traceweave/core/internal'
import { outgoingHeaders, type OutgoingHeaders } from './headers'
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
  return Promise.resolve(pending).then(
    (result) => {
      failOpen('client: ending the span', () => endWithStatus(ended, transport.statusOf(result)), undefined)
      return result
    },
    (error: unknown) => {
      failOpen(
        'client: ending the span',
        () => endWithError(ended, error, transport.statusOfError(error)),
        undefined,
      )
      throw error
    },
  )
}
