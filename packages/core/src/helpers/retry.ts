import { SpanKind, context, trace as traceApi, type Context, type Tracer } from '@opentelemetry/api'
import { TRACER_NAME, TRACER_VERSION } from '../internal/tracer'
import { failSpan } from './trace'
import { withRetryAttempt } from '../internal/retry-attempt'
import { checkBoolean, checkFunction, checkNumber, invalidOption } from '../internal/validate'

const HOOK_SIGNATURES = {
  shouldRetry: '(context) => boolean | Promise<boolean>',
  onFailedAttempt: '(context) => void | Promise<void>',
  retryDelay: '(context) => number | undefined',
} as const

/** What the hooks of {@link tracedRetry} see about a failed attempt. Frozen. */
export interface RetryContext {
  /** What the attempt threw or rejected with, unchanged. */
  readonly error: unknown
  /** 1 for the first attempt. */
  readonly attemptNumber: number
  /** Attempts still allowed after this one. */
  readonly retriesLeft: number
}

/** Options of {@link tracedRetry}, named like p-retry's. All optional. */
export interface RetryOptions {
  /** Retries after the first attempt, so at most `retries + 1` attempts. Integer >= 0. Default 3. */
  retries?: number
  /** Growth of the backoff per attempt. >= 1. Default 2. */
  factor?: number
  /** Backoff before the first retry, in ms. Default 1000. */
  minTimeout?: number
  /**
   * Upper bound of any wait, in ms, including a delay asked for by {@link RetryOptions.retryDelay}
   * (a server's `Retry-After`). Default 30000 (or `minTimeout` if larger): a hostile or confused server cannot park an operation
   * for hours.
   */
  maxTimeout?: number
  /** Multiply each backoff by a random factor in [1, 2), so clients do not retry in lockstep. Default false. */
  randomize?: boolean
  /**
   * Stops the loop: no attempt starts after it aborts, and a wait between attempts ends at once; the
   * operation rejects with `signal.reason`. An attempt in flight is not interrupted by us: pass the
   * signal to the work itself (fetch does).
   */
  signal?: AbortSignal
  /** Return false to stop retrying after this failure (the error is then rethrown). Default: retry any error. */
  shouldRetry?: (context: RetryContext) => boolean | Promise<boolean>
  /** Called after every failed attempt, before deciding whether to retry. An error it throws ends the operation. */
  onFailedAttempt?: (context: RetryContext) => void | Promise<void>
  /**
   * Milliseconds to wait before the next attempt instead of the computed backoff (a server's
   * `Retry-After`, say), capped by `maxTimeout`; `undefined` keeps the backoff.
   */
  retryDelay?: (context: RetryContext) => number | undefined
  /** Name of the parent span; attempts are `<name> attempt`. Default `retry`. */
  name?: string
  /** Tracer for the spans. Default: the global tracer `@traceweave/core`. */
  tracer?: Tracer
}

const DEFAULT_MAX_TIMEOUT = 30_000

interface RetrySettings {
  retries: number
  factor: number
  minTimeout: number
  maxTimeout: number
  randomize: boolean
}

/** Validates the numeric options once; configuration errors name the option and the valid values. */
function retrySettings(
  {
    retries = 3,
    factor = 2,
    minTimeout = 1000,
    maxTimeout = Math.max(DEFAULT_MAX_TIMEOUT, typeof minTimeout === 'number' ? minTimeout : 0),
    randomize = false,
  }: RetryOptions,
  option = 'retry',
): RetrySettings {
  checkNumber(`${option}.retries`, retries, { min: 0, integer: true })
  checkNumber(`${option}.factor`, factor, { min: 1 })
  checkNumber(`${option}.minTimeout`, minTimeout, { min: 0 })
  // setTimeout's limit: a longer delay is silently set to 1 ms by Node.
  if (!(typeof maxTimeout === 'number' && maxTimeout >= minTimeout && maxTimeout <= 2 ** 31 - 1)) {
    invalidOption(
      `${option}.maxTimeout`,
      `a number of ms from ${option}.minTimeout (${minTimeout}) to 2147483647`,
      maxTimeout,
    )
  }
  checkBoolean(`${option}.randomize`, randomize)
  return { retries, factor, minTimeout, maxTimeout, randomize }
}

/**
 * Checks `options` as {@link tracedRetry} would, throwing the same `ConfigError` (a TypeError); for
 * clients that take retry options at setup and want bad ones to fail there. `option` is where the
 * options sit, as the user wrote it (`traceFetch.retry`), and names them in the message.
 */
export function validateRetryOptions(options: RetryOptions, option = 'retry'): void {
  retrySettings(options, option)
  for (const hook of ['shouldRetry', 'onFailedAttempt', 'retryDelay'] as const) {
    if (options[hook] !== undefined) checkFunction(`${option}.${hook}`, options[hook], HOOK_SIGNATURES[hook])
  }
  if (options.signal !== undefined && typeof options.signal?.addEventListener !== 'function') {
    invalidOption(`${option}.signal`, 'an AbortSignal', options.signal)
  }
}

/** The p-retry backoff for the wait after attempt `attemptNumber`, before the cap. */
function backoff(settings: RetrySettings, attemptNumber: number): number {
  const random = settings.randomize ? 1 + Math.random() : 1
  return Math.round(random * settings.minTimeout * settings.factor ** (attemptNumber - 1))
}

/**
 * Runs `fn` until it succeeds, at most `retries + 1` times, waiting an exponential backoff between
 * attempts, and traces it: one parent span for the whole operation (`retry.max_attempts`, then
 * `retry.total_attempts` and `retry.succeeded_at_attempt` or `retry.all_failed`), and one child span
 * per attempt (`retry.attempt`, `error.type` on failure, `retry.backoff_ms` before the next one) that
 * is active while `fn` runs, so an HTTP call made by `fn` is its child. Resolves with `fn`'s value, or
 * rejects with the last error unchanged (or the signal's reason when aborted).
 *
 * @example const order = await tracedRetry(() => loadOrder(id), { retries: 2, signal: AbortSignal.timeout(5000) })
 */
export async function tracedRetry<T>(
  fn: (attemptNumber: number) => T | PromiseLike<T>,
  options: RetryOptions = {},
): Promise<T> {
  checkFunction('tracedRetry(fn)', fn, '(attemptNumber) => value or promise')
  validateRetryOptions(options)
  const settings = retrySettings(options)
  const { signal, shouldRetry, onFailedAttempt, retryDelay, name = 'retry' } = options
  const tracer = options.tracer ?? traceApi.getTracer(TRACER_NAME, TRACER_VERSION)
  const maxAttempts = settings.retries + 1

  const parentContext = context.active()
  const operation = tracer.startSpan(
    name,
    { kind: SpanKind.INTERNAL, attributes: { 'retry.max_attempts': maxAttempts } },
    parentContext,
  )
  const operationContext = traceApi.setSpan(parentContext, operation)
  let attemptNumber = 0
  try {
    for (;;) {
      signal?.throwIfAborted()
      attemptNumber++
      const attempt = tracer.startSpan(
        `${name} attempt`,
        { kind: SpanKind.INTERNAL, attributes: { 'retry.attempt': attemptNumber } },
        operationContext,
      )
      try {
        const attemptContext = withRetryAttempt(traceApi.setSpan(operationContext, attempt), attemptNumber)
        const value = await runAttempt(fn, attemptNumber, attemptContext)
        attempt.end()
        operation.setAttributes({
          'retry.total_attempts': attemptNumber,
          'retry.succeeded_at_attempt': attemptNumber,
        })
        operation.end()
        return value
      } catch (error) {
        failSpan(attempt, error)
        let delay: number
        try {
          const failure: RetryContext = Object.freeze({
            error,
            attemptNumber,
            retriesLeft: maxAttempts - attemptNumber,
          })
          await onFailedAttempt?.(failure)
          if (failure.retriesLeft === 0 || signal?.aborted === true) throw error
          if (shouldRetry !== undefined && !(await shouldRetry(failure))) throw error
          const asked = retryDelay?.(failure)
          const wanted = typeof asked === 'number' && asked >= 0 ? asked : backoff(settings, attemptNumber)
          delay = Math.min(wanted, settings.maxTimeout)
          attempt.setAttribute('retry.backoff_ms', delay)
        } finally {
          attempt.end() // before the wait, so the attempt's duration is the work, not the backoff
        }
        await wait(delay, signal)
      }
    }
  } catch (error) {
    operation.setAttributes({ 'retry.total_attempts': attemptNumber, 'retry.all_failed': true })
    if (signal?.aborted === true && error === signal.reason) operation.setAttribute('retry.aborted', true)
    failSpan(operation, error)
    operation.end()
    throw error
  }
}

function runAttempt<T>(
  fn: (attemptNumber: number) => T | PromiseLike<T>,
  attemptNumber: number,
  ctx: Context,
) {
  // Called inside an async function, so a synchronous throw becomes a rejection like any other failure.
  return context.with(ctx, async () => fn(attemptNumber))
}

/** Resolves after `ms`, or rejects with the signal's reason the moment it aborts. */
function wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) return reject(signal.reason)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal!.reason)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
