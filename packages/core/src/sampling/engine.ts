import type { IdHasher } from '../correlation/hashing'
import { AdaptiveStates, type AdaptiveState } from './adaptive'
import type { ResolvedSamplingOptions } from './options'
import { TokenBucket } from './rate-limit'
import { compileRules, type CompiledRule, type OutcomeReason, type SamplingInput } from './rules'
import type { SamplingReason } from './stats'
import { ALWAYS_THRESHOLD, isKept, probabilityToThreshold, type Threshold } from './threshold'

/** The outcome of one sampling decision. */
export interface SamplingDecision {
  readonly sampled: boolean
  readonly reason: SamplingReason
  /**
   * The threshold of a kept trace whose probability is known (`ot=th`, adjusted count); `undefined`
   * when it is not (rate-limited keeps, a parent without `th`): then both are erased, never guessed.
   */
  readonly threshold: Threshold | undefined
  /**
   * A keep that overrode an earlier "no" of the same request (an outcome rule, a downstream service's
   * sampled response): its probability is unknown, so `threshold` is `undefined`.
   */
  readonly upgraded?: boolean
}

/** 2^56: randomness values are 56-bit. */
const MAX_RANDOMNESS = 2 ** 56
/** Larger than half a unit of a threshold's 4th hex digit (2^-17), the coarsest rounding used. */
const REJECT_MARGIN = 2 ** -16

const KEEP_BY_USER: SamplingDecision = { sampled: true, reason: 'user', threshold: ALWAYS_THRESHOLD }
const DROP_BY_PARENT: SamplingDecision = { sampled: false, reason: 'parent', threshold: undefined }

/**
 * The decision order, free of OpenTelemetry types so it can be tested and benchmarked alone:
 * 1. parent, 2. users, 3. rules, 4. default (ratio, adaptive or steps), 5. rate limit.
 */
export class SamplingEngine {
  private readonly rules: CompiledRule[]
  /** The outcome rules (status, minDurationMs), first: an earlier route rule must not hide them. */
  private readonly outcomeRules: CompiledRule[]
  private readonly ratioThreshold: Threshold | undefined
  private readonly adaptive: AdaptiveStates
  private readonly bucket: TokenBucket | undefined
  /** The bound of upgrades: its own bucket, or the `maxPerSecond` one. */
  private readonly upgradeBucket: TokenBucket | undefined
  /**
   * HMACs of the `users` list, per hasher (one per middleware with `hashIds`), built at the first
   * hashed user that hasher brings. Bound: the hashers are few and weakly held; each set is the list.
   */
  private readonly hashedUsers = new WeakMap<IdHasher, ReadonlySet<string>>()

  constructor(private readonly options: ResolvedSamplingOptions) {
    const rules = compileRules(options.rules)
    this.outcomeRules = rules.filter((rule) => rule.outcome !== undefined)
    // Outcome rules go first; the others keep their order. Without outcome rules, the list as given.
    this.rules = [...this.outcomeRules, ...rules.filter((rule) => rule.outcome === undefined)]
    this.ratioThreshold = options.ratio > 0 ? probabilityToThreshold(options.ratio) : undefined
    this.adaptive = new AdaptiveStates(options.maxAdaptiveKeys, options.adaptiveWindowMs, options.clock)
    this.bucket =
      options.maxPerSecond === undefined ? undefined : new TokenBucket(options.maxPerSecond, options.clock)
    this.upgradeBucket =
      options.maxUpgradesPerSecond === undefined
        ? this.bucket
        : new TokenBucket(options.maxUpgradesPerSecond, options.clock)
  }

  /**
   * Whether an outcome rule keeps a request that was given a "no" before its outcome was known: the
   * reason of the first outcome rule that matches `input` and keeps `randomness`, else `undefined`.
   * A rule that matches but does not keep (a sample below 1) ends the search, as first-match would.
   */
  outcomeKeep(input: SamplingInput, randomness: string): OutcomeReason | undefined {
    for (const rule of this.outcomeRules) {
      if (!rule.matches(input)) continue
      const sample = rule.sample
      const kept =
        sample.kind === 'ratio'
          ? sample.threshold !== undefined && isKept(randomness, sample.threshold)
          : decideAdaptively('rule', this.adaptive.get(`rule:${rule.index}`), sample.target, randomness)
              .sampled
      return kept ? rule.outcome : undefined
    }
    return undefined
  }

  /** Takes one upgrade from the bound (`maxUpgradesPerSecond`, or the `maxPerSecond` bucket). */
  tryUpgrade(): boolean {
    return this.upgradeBucket === undefined || this.upgradeBucket.tryTake()
  }

  /** Step 1: a trusted parent's sampled bit decides; its `th` is kept only if it is consistent. */
  decideByParent(
    parentSampled: boolean,
    parentThreshold: Threshold | undefined,
    randomness: string,
  ): SamplingDecision {
    if (!parentSampled) return DROP_BY_PARENT
    // A sampled context whose randomness is below its own threshold is inconsistent: erase th.
    const threshold =
      parentThreshold !== undefined && isKept(randomness, parentThreshold) ? parentThreshold : undefined
    return { sampled: true, reason: 'parent', threshold }
  }

  /** Steps 2-5, where this service makes the decision (a trace root, or an untrusted caller). */
  decideHere(input: SamplingInput, randomness: string): SamplingDecision {
    if (input.userId !== undefined && this.isListedUser(input.userId, input.userIdHashedWith))
      return KEEP_BY_USER

    for (const rule of this.rules) {
      if (!rule.matches(input)) continue
      if (rule.sample.kind === 'ratio') return decideWith('rule', rule.sample.threshold, randomness)
      return decideAdaptively('rule', this.adaptive.get(`rule:${rule.index}`), rule.sample.target, randomness)
    }

    const byDefault = this.decideByDefault(input, randomness)
    if (!byDefault.sampled || this.bucket === undefined) return byDefault
    if (!this.bucket.tryTake()) return { sampled: false, reason: 'rateLimited', threshold: undefined }
    // While the limiter is refusing traces, the kept ones' probability is not the configured one.
    return this.bucket.isLimiting() ? { ...byDefault, threshold: undefined } : byDefault
  }

  /** Whether the user is in `sampling.users`; an HMAC from a caller is compared with the list's HMACs. */
  private isListedUser(userId: string, hashedWith: IdHasher | null | undefined): boolean {
    if (hashedWith === undefined) return this.options.users?.(userId) === true
    const list = this.options.userList
    if (hashedWith === null || list === undefined) return false
    let hashes = this.hashedUsers.get(hashedWith)
    if (hashes === undefined) {
      hashes = new Set(list.map((user) => hashedWith(user)))
      this.hashedUsers.set(hashedWith, hashes)
    }
    return hashes.has(userId)
  }

  private decideByDefault(input: SamplingInput, randomness: string): SamplingDecision {
    const { targetPerSecond, steps, ratio } = this.options
    if (targetPerSecond !== undefined) {
      return decideAdaptively(
        'adaptive',
        this.adaptive.get(this.adaptiveKey(input)),
        targetPerSecond,
        randomness,
      )
    }
    if (steps.length > 0) {
      const rate = this.adaptive.get(this.adaptiveKey(input)).recordRequest()
      const step = steps.find((candidate) => rate > candidate.above)
      if (step !== undefined) {
        const probability = ratio * step.factor
        return decideWith(
          'adaptive',
          probability > 0 ? probabilityToThreshold(probability) : undefined,
          randomness,
        )
      }
    }
    return decideWith('ratio', this.ratioThreshold, randomness)
  }

  private adaptiveKey(input: SamplingInput): string {
    if (this.options.adaptiveKey === 'global') return 'global'
    return `${input.method ?? ''} ${input.route ?? firstSegment(input.path)}`
  }
}

function decideWith(
  reason: SamplingReason,
  threshold: Threshold | undefined,
  randomness: string,
): SamplingDecision {
  if (threshold === undefined) return { sampled: false, reason, threshold: undefined } // probability 0
  return isKept(randomness, threshold)
    ? { sampled: true, reason, threshold }
    : { sampled: false, reason, threshold: undefined }
}

function decideAdaptively(
  reason: SamplingReason,
  state: AdaptiveState,
  target: number,
  randomness: string,
): SamplingDecision {
  const probability = state.probability(target)
  // Most requests are dropped under adaptive sampling: reject them on a numeric comparison, and encode
  // a threshold only near or above it. The margin exceeds the rounding of a 4-digit threshold, so the
  // shortcut never disagrees with the encoded threshold's own R >= T.
  if (parseInt(randomness, 16) < (1 - probability - REJECT_MARGIN) * MAX_RANDOMNESS) {
    return { sampled: false, reason, threshold: undefined }
  }
  const decision = decideWith(reason, probabilityToThreshold(probability), randomness)
  if (decision.sampled) state.recordKept()
  return decision
}

/** `/users/7/orders` -> `/users`: a bounded stand-in for the route before routing. */
function firstSegment(path: string | undefined): string {
  if (path === undefined) return ''
  const end = path.indexOf('/', 1)
  return end === -1 ? path.split('?', 1)[0]! : path.slice(0, end)
}
