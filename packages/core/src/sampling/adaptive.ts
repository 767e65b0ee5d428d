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
 * Adaptive sampling state for one key: an exponential moving average of the request rate (per-second
 * counts, weighted by `alpha = 1 - e^(-interval/window)`) sets the probability `min(1, target / rate)`,
 * corrected by the balance of kept traces so kept traces per second stay near the target.
 */
export class AdaptiveState {
  private intervalStart: number
  private count = 0
  private average: number | undefined
  private balance = 0
  private lastBalanceAt: number
  private readonly alpha: number

  constructor(
    windowMs: number,
    private readonly clock: () => number,
  ) {
    this.alpha = 1 - Math.exp(-INTERVAL_MS / windowMs)
    this.intervalStart = clock()
    this.lastBalanceAt = this.intervalStart
  }

  /** Counts one request and returns the current rate estimate in requests per second. */
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
    const rate = this.recordRequest(now)
    this.balance = Math.min(
      target,
      Math.max(-target, this.balance + (target * (now - this.lastBalanceAt)) / 1000),
    )
    this.lastBalanceAt = now
    const base = rate <= target ? 1 : target / rate
    return Math.min(1, base * Math.max(0.1, 1 + (BALANCE_GAIN * this.balance) / target))
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
