import { LruMap } from '../internal/lru'

/** Length of one counting interval of the rate estimate, in ms. */
const INTERVAL_MS = 1000
/**
 * How strongly the kept-trace balance corrects the probability. Kept traces are Bernoulli draws, so
 * with the rate estimate alone the kept count of a 10 s window wanders by about ±7% at 20/s; feeding
 * back the balance (traces owed minus traces kept, at most one second's worth either way) holds it
 * within about ±3%. The correction depends only on earlier traces, never on the current trace's
 * randomness, so the decision stays consistent and adjusted counts stay unbiased.
 */
const BALANCE_GAIN = 0.5

/**
 * Requests over which the mean time between requests is averaged for `targetPerSecond`. Small enough
 * that a tenfold jump in traffic, up or down, is followed within 32 requests (16 ms at 2,000/s, 160 ms
 * at 200/s), so a surge does not run at the old probability for seconds; the average's noise (about
 * 13%) lasts as many requests and cancels out over a second.
 */
const GAP_AVERAGE_REQUESTS = 32
/**
 * The longest gap between two requests that counts in full. A lull longer than this is worth one
 * second of budget, not its whole length: the requests after an idle hour must not all be kept.
 */
const MAX_GAP_MS = 1000

/**
 * Adaptive sampling state for one key.
 *
 * For `targetPerSecond` ({@link probability}): the probability is `target x mean gap between
 * requests`, the gap averaged over the last ~32 requests (an exponential moving average; a plain mean
 * while fewer have been seen). The expected number kept is then the target times the time elapsed,
 * whatever the rate does, because the average hands on every gap in full, only spread over the next
 * requests; and since it follows the requests rather than a clock window, a jump in traffic is taken
 * in within a few dozen requests. The balance of kept traces corrects the Bernoulli noise on top.
 *
 * For `steps` ({@link recordRequest}): an exponential moving average of the request rate per
 * `windowMs` (per-second counts, weighted by `alpha = 1 - e^(-interval/window)`).
 */
export class AdaptiveState {
  private intervalStart: number
  private count = 0
  private average: number | undefined
  private balance = 0
  private lastBalanceAt: number
  private readonly alpha: number
  /** Mean gap between requests in ms (targetPerSecond); `-1` before the first request. */
  private meanGap = -1
  private lastRequestAt: number
  private requestsSeen = 0

  constructor(
    windowMs: number,
    private readonly clock: () => number,
  ) {
    this.alpha = 1 - Math.exp(-INTERVAL_MS / windowMs)
    this.intervalStart = clock()
    this.lastBalanceAt = this.intervalStart
    this.lastRequestAt = this.intervalStart
  }

  /** Counts one request and returns the windowed rate estimate in requests per second (for `steps`). */
  recordRequest(now = this.clock()): number {
    const elapsed = now - this.intervalStart
    if (elapsed >= INTERVAL_MS) {
      const intervals = Math.floor(elapsed / INTERVAL_MS)
      // The completed interval's rate, then the empty intervals in between (a lull lowers the estimate).
      this.fold(this.count)
      for (let i = 1; i < Math.min(intervals, 64); i++) this.fold(0)
      this.intervalStart += intervals * INTERVAL_MS
      this.count = 0
    }
    this.count++
    if (this.average === undefined) {
      // Before the first full interval, the partial count is the best estimate there is.
      return (this.count * 1000) / Math.max(now - this.intervalStart, 100)
    }
    return this.average
  }

  /** Counts one request and returns the probability that keeps about `target` traces per second. */
  probability(target: number): number {
    const now = this.clock()
    let gap: number
    if (this.meanGap < 0) {
      // The first request of a key: assume the rate is the target, so it is kept.
      gap = 1000 / target
      this.meanGap = 0
    } else {
      gap = Math.min(MAX_GAP_MS, Math.max(0, now - this.lastRequestAt))
    }
    this.lastRequestAt = now
    if (this.requestsSeen < GAP_AVERAGE_REQUESTS) this.requestsSeen++
    // Gaps longer than the target's own (a rate below the target) are kept whole anyway: capping the
    // average there stops a quiet key from carrying seconds of unspent budget into a sudden surge.
    this.meanGap = Math.min(1000 / target, this.meanGap + (gap - this.meanGap) / this.requestsSeen)

    const balance = Math.min(
      target,
      Math.max(-target, this.balance + (target * (now - this.lastBalanceAt)) / 1000),
    )
    this.balance = balance
    this.lastBalanceAt = now
    const base = (target * this.meanGap) / 1000
    return Math.min(1, base * Math.max(0.1, 1 + (BALANCE_GAIN * balance) / target))
  }

  /** Tells the state that the last request was kept. */
  recordKept(): void {
    this.balance -= 1
  }

  private fold(countPerInterval: number): void {
    const rate = (countPerInterval * 1000) / INTERVAL_MS
    this.average = this.average === undefined ? rate : this.average + this.alpha * (rate - this.average)
  }
}

/**
 * Adaptive states per key (one global key, one per rule, or one per route), in an LRU bounded by
 * `maxKeys` (default 1,000): the least recently used key is evicted, and starts fresh if seen again.
 */
export class AdaptiveStates {
  private readonly states: LruMap<string, AdaptiveState>

  constructor(
    maxKeys: number,
    private readonly windowMs: number,
    private readonly clock: () => number,
  ) {
    this.states = new LruMap(maxKeys)
  }

  get size(): number {
    return this.states.size
  }

  /** The state of `key`, created on first use. */
  get(key: string): AdaptiveState {
    let state = this.states.get(key)
    if (state === undefined) {
      state = new AdaptiveState(this.windowMs, this.clock)
      this.states.set(key, state)
    }
    return state
  }
}
