import { metrics, type Counter, type MeterProvider } from '@opentelemetry/api'
import { TRACER_NAME, TRACER_VERSION } from '../internal/tracer'

/** Why a sampling decision came out as it did. */
export type SamplingReason = 'parent' | 'user' | 'rule' | 'ratio' | 'adaptive' | 'rateLimited'

/** Counts of sampling decisions in this process, from {@link getSamplingStats}. */
export interface SamplingStats {
  /** Decisions made for server requests and root spans: one per request. */
  total: number
  /** Decisions that kept the trace. */
  sampled: number
  /** `sampled / total` (0 before any decision). */
  rate: number
  /** Decisions by reason, kept or not. */
  byReason: Partial<Record<SamplingReason, number>>
  /**
   * Deferred decisions forced early because a bound was reached (spans held per trace, or undecided
   * traces held at once). Each is also counted under its reason.
   */
  decidedEarly: number
  /**
   * Requests kept after an earlier "no" (outcome rules, `decide: 'deferred'`): each request is counted
   * once in `total` (its first decision) and, once upgraded, in `sampled` too.
   */
  upgraded: number
  /** Upgrades by cause: an outcome rule's `status` or `minDurationMs`, or a downstream service's response. */
  upgradedByReason: Partial<Record<UpgradeReason, number>>
  /** Upgrades refused by their bound (`maxUpgradesPerSecond`, or `maxPerSecond`). */
  upgradesRefused: number
  /**
   * Sampled responses from downstream that arrived too late to apply (the request had ended or was
   * evicted; a fire-and-forget call) or that named no request recorded here. Counted, not applied.
   */
  upgradesMissed: number
  /** Undecided or not-yet-final requests evicted at a bound and dropped, and the spans lost with them. */
  evicted: { requests: number; spans: number }
}

/** Why a request was upgraded. */
export type UpgradeReason = 'error' | 'duration' | 'downstream'

// Process-wide counters: the CommonJS build is the one copy an ESM app and the adapters share.
let total = 0
let sampled = 0
let byReason: Partial<Record<SamplingReason, number>> = {}
let decidedEarly = 0
let upgraded = 0
let upgradedByReason: Partial<Record<UpgradeReason, number>> = {}
let upgradesRefused = 0
let upgradesMissed = 0
let evictedRequests = 0
let evictedSpans = 0

let meterProvider: MeterProvider | undefined
let decisionsCounter: Counter | undefined

/** Records one decision in the stats and, when a MeterProvider is registered, in OTel metrics. */
export function recordDecision(reason: SamplingReason, kept: boolean): void {
  total++
  if (kept) sampled++
  byReason[reason] = (byReason[reason] ?? 0) + 1
  // A MeterProvider may be registered after start: pick it up on the first decision that sees it.
  if (decisionsCounter === undefined || metrics.getMeterProvider() !== meterProvider)
    decisionsCounter = currentCounter()
  decisionsCounter.add(1, { 'sampling.reason': reason, 'sampling.sampled': kept })
}

/** Counts a deferred decision forced early by a buffer bound. */
export function recordDecidedEarly(): void {
  decidedEarly++
}

/** Records an upgrade: the request, already counted once, is now kept. */
export function recordUpgrade(reason: UpgradeReason): void {
  sampled++
  upgraded++
  upgradedByReason[reason] = (upgradedByReason[reason] ?? 0) + 1
}

/** Records an upgrade its bound refused. */
export function recordUpgradeRefused(): void {
  upgradesRefused++
}

/** Records a sampled downstream response that could not be applied (late, or nothing recorded). */
export function recordUpgradeMissed(): void {
  upgradesMissed++
}

/** Records a request dropped by eviction with `spans` held spans. */
export function recordEvicted(spans: number): void {
  evictedRequests++
  evictedSpans += spans
}

function currentCounter(): Counter {
  meterProvider = metrics.getMeterProvider()
  return meterProvider.getMeter(TRACER_NAME, TRACER_VERSION).createCounter('traceweave.sampling.decisions', {
    description: 'Sampling decisions for server requests and root spans, by reason and outcome',
    unit: '{decision}',
  })
}

/**
 * The sampling decisions this process has made since start or the last {@link resetSamplingStats}.
 *
 * @example
 * const { total, sampled, rate, byReason } = getSamplingStats()
 */
export function getSamplingStats(): SamplingStats {
  return {
    total,
    sampled,
    rate: total === 0 ? 0 : sampled / total,
    byReason: { ...byReason },
    decidedEarly,
    upgraded,
    upgradedByReason: { ...upgradedByReason },
    upgradesRefused,
    upgradesMissed,
    evicted: { requests: evictedRequests, spans: evictedSpans },
  }
}

/** Starts the sampling stats over from zero. */
export function resetSamplingStats(): void {
  total = 0
  sampled = 0
  byReason = {}
  decidedEarly = 0
  upgraded = 0
  upgradedByReason = {}
  upgradesRefused = 0
  upgradesMissed = 0
  evictedRequests = 0
  evictedSpans = 0
}
