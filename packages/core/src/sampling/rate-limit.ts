/**
 * A token bucket: at most `perSecond` takes per second on average, with bursts up to one second's
 * worth. Refills continuously from the injected clock; no timers.
 */
export class TokenBucket {
  private tokens: number
  private last: number
  private lastRefusal = -Infinity

  constructor(
    private readonly perSecond: number,
    private readonly clock: () => number,
  ) {
    this.tokens = perSecond
    this.last = clock()
  }

  /** Takes a token if one is left. */
  tryTake(): boolean {
    const now = this.clock()
    this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.last) / 1000) * this.perSecond)
    this.last = now
    if (this.tokens >= 1) {
      this.tokens -= 1
      return true
    }
    this.lastRefusal = now
    return false
  }

  /**
   * True while the bucket has refused a take in the last second: the kept traces' probability is then
   * not the configured one, so it is unknown and must not be reported.
   */
  isLimiting(): boolean {
    return this.clock() - this.lastRefusal < 1000
  }
}
