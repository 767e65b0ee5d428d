import { createContextKey, type Context } from '@opentelemetry/api'

/**
 * Which attempt of a {@link tracedRetry} operation a context runs in (1 for the first). The traced
 * clients read it, so an HTTP call made inside attempt N reports `http.request.resend_count` N - 1
 * (plus its own retries), as the semantic conventions ask of a resent request.
 */
const RETRY_ATTEMPT_KEY = createContextKey('traceweave retry attempt')

/** `ctx` marked as running attempt `attemptNumber` of a traced retry. */
export function withRetryAttempt(ctx: Context, attemptNumber: number): Context {
  return ctx.setValue(RETRY_ATTEMPT_KEY, attemptNumber)
}

/** Resends before this context's attempt: 0 outside a traced retry and in its first attempt. */
export function resendsBefore(ctx: Context): number {
  const attemptNumber = ctx.getValue(RETRY_ATTEMPT_KEY)
  return typeof attemptNumber === 'number' && attemptNumber > 1 ? attemptNumber - 1 : 0
}

/**
 * `ctx` with the retry attempt of `outer` (none when `outer` has none): a client that retries with
 * {@link tracedRetry} itself counts its own resends, so its attempts see only the caller's attempt.
 */
export function withOuterRetryAttempt(ctx: Context, outer: Context): Context {
  const attemptNumber = outer.getValue(RETRY_ATTEMPT_KEY)
  return attemptNumber === undefined
    ? ctx.deleteValue(RETRY_ATTEMPT_KEY)
    : ctx.setValue(RETRY_ATTEMPT_KEY, attemptNumber)
}
