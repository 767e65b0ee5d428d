import { SpanStatusCode } from '@opentelemetry/api'
import { tracedRetry, validateRetryOptions, type RetryContext } from './retry'
import { trace } from './trace'
import { onlySpanNamed, spansNamed, useTestTracing } from '../../../../test/support/tracing'

const tracing = useTestTracing()
const spans = (name: string) => spansNamed(tracing, name)
const only = (name: string) => onlySpanNamed(tracing, name)

/** An operation that fails `failures` times, then returns `value`. */
function flaky<T>(failures: number, value: T) {
  const calls: number[] = []
  const fn = async (attemptNumber: number) => {
    calls.push(attemptNumber)
    if (calls.length <= failures) throw new TypeError(`failure ${calls.length}`)
    return value
  }
  return { fn, calls }
}

describe('tracedRetry()', () => {
  it('retries until success and traces the operation and each attempt', async () => {
    const { fn, calls } = flaky(2, 'ok')
    await expect(tracedRetry(fn, { minTimeout: 1, factor: 3, name: 'load order' })).resolves.toBe('ok')
    expect(calls).toEqual([1, 2, 3])

    const operation = only('load order')
    expect(operation.attributes).toEqual({
      'retry.max_attempts': 4,
      'retry.total_attempts': 3,
      'retry.succeeded_at_attempt': 3,
    })
    expect(operation.status.code).toBe(SpanStatusCode.UNSET)

    const attempts = spans('load order attempt')
    expect(attempts.map((span) => span.attributes['retry.attempt'])).toEqual([1, 2, 3])
    for (const attempt of attempts) {
      expect(attempt.parentSpanContext?.spanId).toBe(operation.spanContext().spanId)
    }
    expect(attempts.map((span) => span.attributes['retry.backoff_ms'])).toEqual([1, 3, undefined])
    expect(attempts.map((span) => span.attributes['error.type'])).toEqual([
      'TypeError',
      'TypeError',
      undefined,
    ])
    expect(attempts.map((span) => span.status.code)).toEqual([
      SpanStatusCode.ERROR,
      SpanStatusCode.ERROR,
      SpanStatusCode.UNSET,
    ])
  })

  it('rejects with the last error unchanged when every attempt fails', async () => {
    const errors: Error[] = []
    const fn = async () => {
      errors.push(new Error(`attempt ${errors.length + 1}`))
      throw errors.at(-1)
    }
    const outcome = tracedRetry(fn, { retries: 2, minTimeout: 0 })
    const thrown = await outcome.catch((error: unknown) => error)
    expect(errors).toHaveLength(3)
    expect(thrown).toBe(errors[2])
    const operation = only('retry')
    expect(operation.attributes).toMatchObject({
      'retry.max_attempts': 3,
      'retry.total_attempts': 3,
      'retry.all_failed': true,
    })
    expect(operation.attributes['retry.succeeded_at_attempt']).toBeUndefined()
    expect(operation.status.code).toBe(SpanStatusCode.ERROR)
  })

  it('retries 3 times by default, so 4 attempts at most', async () => {
    const { fn, calls } = flaky(10, 'never')
    await expect(tracedRetry(fn, { minTimeout: 0 })).rejects.toThrow('failure 4')
    expect(calls).toEqual([1, 2, 3, 4])
  })

  it('handles a synchronous throw like a rejection', async () => {
    let calls = 0
    const value = await tracedRetry(
      () => {
        if (++calls === 1) throw new RangeError('sync')
        return 7
      },
      { minTimeout: 0 },
    )
    expect(value).toBe(7)
    expect(spans('retry attempt')[0]!.attributes['error.type']).toBe('RangeError')
  })

  it('gives hooks a frozen context and stops when shouldRetry says no', async () => {
    const seen: RetryContext[] = []
    const { fn, calls } = flaky(5, 'never')
    const outcome = tracedRetry(fn, {
      retries: 5,
      minTimeout: 0,
      onFailedAttempt: (failure) => void seen.push(failure),
      shouldRetry: ({ attemptNumber }) => attemptNumber < 2,
    })
    await expect(outcome).rejects.toThrow('failure 2')
    expect(calls).toEqual([1, 2])
    expect(seen.map(({ attemptNumber, retriesLeft }) => [attemptNumber, retriesLeft])).toEqual([
      [1, 5],
      [2, 4],
    ])
    expect(Object.isFrozen(seen[0])).toBe(true)
    expect(seen[0]!.error).toBeInstanceOf(TypeError)
  })

  it('an error thrown by onFailedAttempt ends the operation with that error', async () => {
    const hookError = new Error('hook says stop')
    const { fn, calls } = flaky(3, 'never')
    const outcome = tracedRetry(fn, {
      minTimeout: 0,
      onFailedAttempt: () => {
        throw hookError
      },
    })
    await expect(outcome).rejects.toBe(hookError)
    expect(calls).toEqual([1])
  })

  it('waits what retryDelay asks, capped by maxTimeout', async () => {
    const { fn } = flaky(2, 'ok')
    await tracedRetry(fn, {
      minTimeout: 0,
      maxTimeout: 5,
      retryDelay: ({ attemptNumber }) => (attemptNumber === 1 ? 2 : 10_000),
    })
    expect(spans('retry attempt').map((span) => span.attributes['retry.backoff_ms'])).toEqual([
      2,
      5,
      undefined,
    ])
  })

  it('randomize spreads the backoff over [min, 2*min)', async () => {
    const { fn } = flaky(3, 'ok')
    await tracedRetry(fn, { minTimeout: 4, factor: 1, randomize: true })
    const delays = spans('retry attempt')
      .map((span) => span.attributes['retry.backoff_ms'])
      .filter((delay) => delay !== undefined) as number[]
    expect(delays).toHaveLength(3)
    for (const delay of delays) {
      expect(delay).toBeGreaterThanOrEqual(4)
      expect(delay).toBeLessThanOrEqual(8)
    }
  })

  it('keeps the attempt span active while fn runs, so its work is a child of the attempt', async () => {
    await tracedRetry(() => trace('query', async () => 'rows'), { retries: 0 })
    expect(only('query').parentSpanContext?.spanId).toBe(only('retry attempt').spanContext().spanId)
  })

  it('is a child of the active span', async () => {
    await trace('handler', () => tracedRetry(async () => 1))
    expect(only('retry').parentSpanContext?.spanId).toBe(only('handler').spanContext().spanId)
  })

  it('an abort during the backoff rejects at once with the reason, long before the next attempt', async () => {
    const controller = new AbortController()
    const reason = new Error('caller gave up')
    const { fn, calls } = flaky(5, 'never')
    // A one-hour backoff: if the abort did not end the wait, this test would time out.
    const outcome = tracedRetry(fn, {
      minTimeout: 3_600_000,
      maxTimeout: 3_600_000,
      signal: controller.signal,
      onFailedAttempt: () => void setImmediate(() => controller.abort(reason)),
    })
    await expect(outcome).rejects.toBe(reason)
    expect(calls).toEqual([1])
    const operation = only('retry')
    expect(operation.attributes).toMatchObject({ 'retry.total_attempts': 1, 'retry.aborted': true })
    expect(operation.status.code).toBe(SpanStatusCode.ERROR)
    expect(spans('retry attempt')).toHaveLength(1)
  })

  it('an already aborted signal runs no attempt', async () => {
    const { fn, calls } = flaky(0, 'ok')
    const reason = new Error('too late')
    await expect(tracedRetry(fn, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason)
    expect(calls).toEqual([])
  })

  it('an abort while an attempt fails stops without another attempt', async () => {
    const controller = new AbortController()
    let calls = 0
    const outcome = tracedRetry(
      async () => {
        calls++
        controller.abort()
        throw new Error('failed while aborting')
      },
      { signal: controller.signal, minTimeout: 0 },
    )
    await expect(outcome).rejects.toThrow('failed while aborting')
    expect(calls).toBe(1)
  })
})

describe('retry options', () => {
  it.each([
    [{ retries: -1 }, 'traceweave: `retry.retries` must be an integer >= 0; got -1'],
    [{ retries: 1.5 }, 'traceweave: `retry.retries` must be an integer >= 0; got 1.5'],
    [{ retries: Infinity }, 'traceweave: `retry.retries` must be an integer >= 0; got Infinity'],
    [{ factor: 0.5 }, 'traceweave: `retry.factor` must be a number >= 1; got 0.5'],
    [{ minTimeout: -1 }, 'traceweave: `retry.minTimeout` must be a number >= 0; got -1'],
    [
      { minTimeout: 100, maxTimeout: 10 },
      'traceweave: `retry.maxTimeout` must be a number of ms from retry.minTimeout (100) to 2147483647; got 10',
    ],
    [{ maxTimeout: 2 ** 40 }, /^traceweave: `retry.maxTimeout` must be .*; got 1099511627776$/],
  ])('%p fails with a ConfigError naming the option and its valid values', async (options, message) => {
    expect(() => validateRetryOptions(options)).toThrow(TypeError)
    expect(() => validateRetryOptions(options)).toThrow(message)
    await expect(tracedRetry(async () => 1, options)).rejects.toThrow(message)
  })

  it.each([
    [{ randomize: 'yes' }, "traceweave: `retry.randomize` must be true or false; got 'yes'"],
    [
      { shouldRetry: true },
      'traceweave: `retry.shouldRetry` must be a function (context) => boolean | Promise<boolean>; got true',
    ],
    [{ signal: {} }, 'traceweave: `retry.signal` must be an AbortSignal; got an object with no keys'],
  ])('%p fails with a ConfigError naming the option and its valid values', (options, message) => {
    expect(() => validateRetryOptions(options as never)).toThrow(TypeError)
    expect(() => validateRetryOptions(options as never)).toThrow(message)
  })
})
