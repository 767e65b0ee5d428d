import { createIdHasher } from '../correlation/hashing'
import { SamplingEngine } from './engine'
import { resolveSamplingOptions, type SamplingOptions } from './options'
import { seededTraceIds } from './test-ids'
import { traceRandomness } from './threshold'

const engine = (options: SamplingOptions) => new SamplingEngine(resolveSamplingOptions(options))

/** A clock the test moves by hand. */
function manualClock() {
  let now = 0
  return { now: () => now, advance: (ms: number) => (now += ms) }
}

describe('consistent ratio sampling', () => {
  it('keeps 0.25 of 20,000 new traces within 0.01', () => {
    const sampler = engine({ ratio: 0.25 })
    const nextId = seededTraceIds(7)
    let kept = 0
    for (let i = 0; i < 20_000; i++) if (sampler.decideHere({}, traceRandomness(nextId())).sampled) kept++
    expect(Math.abs(kept / 20_000 - 0.25)).toBeLessThan(0.01)
  })

  it('two services with the same ratio keep exactly the same traces', () => {
    const first = engine({ ratio: 0.25 })
    const second = engine({ ratio: 0.25 })
    const nextId = seededTraceIds(11)
    const ids = Array.from({ length: 20_000 }, nextId)
    const keptBy = (sampler: SamplingEngine) =>
      ids.filter((id) => sampler.decideHere({}, traceRandomness(id)).sampled)
    const keptByFirst = keptBy(first)
    expect(keptByFirst.length).toBeGreaterThan(4000)
    expect(keptBy(second)).toEqual(keptByFirst)
  })

  it('a kept trace carries the ratio threshold; ratio 0 keeps nothing and ratio 1 keeps all with th:0', () => {
    const kept = engine({ ratio: 0.25 }).decideHere({}, 'ffffffffffffff')
    expect(kept).toMatchObject({ sampled: true, reason: 'ratio' })
    expect(kept.threshold?.th).toBe('c')
    expect(engine({ ratio: 0 }).decideHere({}, 'ffffffffffffff').sampled).toBe(false)
    expect(engine({ ratio: 1 }).decideHere({}, '00000000000000').threshold?.th).toBe('0')
  })
})

describe('decision order', () => {
  it('parent: keeps the sampled bit; keeps a consistent th and erases an inconsistent one', () => {
    const sampler = engine({ ratio: 0 })
    const quarter = { th: 'c', padded: 'c0000000000000', probability: 0.25, adjustedCount: 4 }
    expect(sampler.decideByParent(true, quarter, 'd0000000000000')).toEqual({
      sampled: true,
      reason: 'parent',
      threshold: quarter,
    })
    expect(sampler.decideByParent(true, quarter, '10000000000000').threshold).toBeUndefined()
    expect(sampler.decideByParent(true, undefined, 'd0000000000000').threshold).toBeUndefined()
    expect(sampler.decideByParent(false, quarter, 'd0000000000000').sampled).toBe(false)
  })

  it('users are kept with th:0 before rules and ratio', () => {
    const sampler = engine({ ratio: 0, users: ['alice'], rules: [{ pathPrefix: '/', sample: 0 }] })
    expect(sampler.decideHere({ userId: 'alice', path: '/x' }, '00000000000000')).toMatchObject({
      sampled: true,
      reason: 'user',
    })
    expect(sampler.decideHere({ userId: 'bob', path: '/x' }, 'ffffffffffffff')).toMatchObject({
      sampled: false,
      reason: 'rule',
    })
  })

  it('a user predicate works like a list', () => {
    const sampler = engine({ ratio: 0, users: (id) => id.endsWith('@example.com') })
    expect(sampler.decideHere({ userId: 'a@example.com' }, '0'.repeat(14)).sampled).toBe(true)
    expect(sampler.decideHere({ userId: 'a@other.org' }, 'f'.repeat(14)).sampled).toBe(false)
  })

  it("a caller's HMAC of a user matches the list by HMAC with this service's hasher, never hashed again", () => {
    const hasher = createIdHasher('0123456789abcdef', 'key')
    const sampler = engine({ ratio: 0, users: ['alice'] })
    const keep = sampler.decideHere({ userId: hasher('alice'), userIdHashedWith: hasher }, 'f'.repeat(14))
    expect(keep).toMatchObject({ sampled: true, reason: 'user' })
    // The HMAC itself is not a listed user, nor is the HMAC of the HMAC.
    expect(
      sampler.decideHere({ userId: hasher('bob'), userIdHashedWith: hasher }, 'f'.repeat(14)).sampled,
    ).toBe(false)
    expect(sampler.decideHere({ userId: hasher('alice') }, 'f'.repeat(14)).sampled).toBe(false)
    // Without a hasher here (no hashIds), or with another key, an HMAC matches nothing.
    expect(
      sampler.decideHere({ userId: hasher('alice'), userIdHashedWith: null }, 'f'.repeat(14)).sampled,
    ).toBe(false)
    const other = createIdHasher('another-key-0123456', 'key')
    expect(
      sampler.decideHere({ userId: hasher('alice'), userIdHashedWith: other }, 'f'.repeat(14)).sampled,
    ).toBe(false)
  })

  it('a user predicate is not asked about an HMAC (it expects raw IDs)', () => {
    const hasher = createIdHasher('0123456789abcdef', 'key')
    const seen: string[] = []
    const sampler = engine({ ratio: 0, users: (id) => (seen.push(id), true) })
    expect(
      sampler.decideHere({ userId: hasher('a'), userIdHashedWith: hasher }, 'f'.repeat(14)).sampled,
    ).toBe(false)
    expect(seen).toEqual([])
  })

  it('rules match on method, path prefix (at a segment boundary) and header; the first match wins', () => {
    const sampler = engine({
      ratio: 1,
      rules: [
        { pathPrefix: '/health', sample: 0 },
        { method: 'post', header: ['x-debug', /^(1|true)$/], sample: 1 },
        { method: 'POST', sample: 0 },
      ],
    })
    const r = 'ffffffffffffff'
    expect(sampler.decideHere({ method: 'GET', path: '/health/db' }, r)).toMatchObject({
      sampled: false,
      reason: 'rule',
    })
    expect(sampler.decideHere({ method: 'GET', path: '/healthy' }, r)).toMatchObject({
      sampled: true,
      reason: 'ratio',
    })
    expect(
      sampler.decideHere({ method: 'POST', path: '/a', headers: { 'x-debug': 'true' } }, r),
    ).toMatchObject({ sampled: true, reason: 'rule' })
    expect(sampler.decideHere({ method: 'POST', path: '/a', headers: { 'x-debug': 'no' } }, r)).toMatchObject(
      { sampled: false, reason: 'rule' },
    )
  })

  it('a route rule matches the route once known (deferred mode)', () => {
    const sampler = engine({ decide: 'deferred', ratio: 0, rules: [{ route: '/users/:id', sample: 1 }] })
    expect(sampler.decideHere({ route: '/users/:id' }, '0'.repeat(14))).toMatchObject({
      sampled: true,
      reason: 'rule',
    })
    expect(sampler.decideHere({ route: '/teams/:id' }, 'f'.repeat(14)).sampled).toBe(false)
  })

  it('the rate limit caps new traces per second but not user or rule keeps, and erases th while limiting', () => {
    const clock = manualClock()
    const sampler = engine({ ratio: 1, maxPerSecond: 5, users: ['vip'], clock: clock.now })
    const decisions = Array.from({ length: 8 }, () => sampler.decideHere({}, '0'.repeat(14)))
    expect(decisions.filter((d) => d.sampled)).toHaveLength(5)
    expect(decisions.filter((d) => d.reason === 'rateLimited')).toHaveLength(3)
    expect(sampler.decideHere({ userId: 'vip' }, '0'.repeat(14)).sampled).toBe(true)
    clock.advance(200) // one token back
    const keptWhileLimiting = sampler.decideHere({}, '0'.repeat(14))
    expect(keptWhileLimiting).toEqual({ sampled: true, reason: 'ratio', threshold: undefined })
    clock.advance(5000)
    expect(sampler.decideHere({}, '0'.repeat(14)).threshold?.th).toBe('0')
  })
})

describe('adaptive sampling', () => {
  it.each([100, 1000, 10_000])(
    'holds 18-22 kept traces/s at %i requests/s, and adjusted counts estimate the total within 10%',
    (requestsPerSecond) => {
      const clock = manualClock()
      const sampler = engine({ targetPerSecond: 20, clock: clock.now })
      const nextId = seededTraceIds(requestsPerSecond)
      const step = 1000 / requestsPerSecond
      const seconds = 60
      const warmUp = 10
      let total = 0
      let adjustedSum = 0
      const keptPerWindow: number[] = []
      let keptInWindow = 0
      for (let second = 0; second < seconds; second++) {
        for (let i = 0; i < requestsPerSecond; i++) {
          const decision = sampler.decideHere({}, traceRandomness(nextId()))
          if (second >= warmUp) {
            total++
            if (decision.sampled) {
              keptInWindow++
              adjustedSum += decision.threshold!.adjustedCount
            }
          }
          clock.advance(step)
        }
        if (second >= warmUp && (second - warmUp) % 10 === 9) {
          keptPerWindow.push(keptInWindow / 10)
          keptInWindow = 0
        }
      }
      for (const perSecond of keptPerWindow) {
        expect(perSecond).toBeGreaterThanOrEqual(18)
        expect(perSecond).toBeLessThanOrEqual(22)
      }
      expect(Math.abs(adjustedSum - total) / total).toBeLessThan(0.1)
    },
  )

  /**
   * Drives a 20/s adaptive sampler through `phases` of [requests per second, seconds] on a simulated
   * clock, with Poisson arrivals (seeded, so the run is the same every time) or evenly spaced ones.
   * Returns the kept traces per second of each 10 s window and the adjusted counts' sum over the
   * request count.
   */
  function runTraffic(phases: Array<[perSecond: number, seconds: number]>, arrivals: 'poisson' | 'even') {
    const clock = manualClock()
    const sampler = engine({ targetPerSecond: 20, clock: clock.now })
    const nextId = seededTraceIds(42)
    const nextGapWord = seededTraceIds(43)
    const uniform = () => (parseInt(nextGapWord().slice(0, 8), 16) + 0.5) / 2 ** 32
    const keptPerSecond: number[] = []
    let keptInWindow = 0
    let requests = 0
    let adjustedSum = 0
    let second = 0
    for (const [perSecond, seconds] of phases) {
      for (let end = second + seconds; second < end; second++) {
        // Requests arrive within this second only, so every 10 s window sees exactly its own traffic.
        let at = arrivals === 'even' ? 0 : (-Math.log(uniform()) * 1000) / perSecond
        for (let i = 0; at < 1000; i++) {
          clock.advance(second * 1000 + at - clock.now())
          const decision = sampler.decideHere({}, traceRandomness(nextId()))
          requests++
          if (decision.sampled) {
            keptInWindow++
            adjustedSum += decision.threshold!.adjustedCount
          }
          at += arrivals === 'even' ? 1000 / perSecond : (-Math.log(uniform()) * 1000) / perSecond
        }
        if (second % 10 === 9) {
          keptPerSecond.push(keptInWindow / 10)
          keptInWindow = 0
        }
      }
    }
    return { keptPerSecond, adjustedRatio: adjustedSum / requests }
  }

  it.each(['poisson', 'even'] as const)(
    'keeps every 10 s window within 25%% of the target through a tenfold jump up and back down, 200 -> 2,000 -> 200 requests/s (%s arrivals), and adjusted counts sum to the request count within 10%%',
    (arrivals) => {
      const { keptPerSecond, adjustedRatio } = runTraffic(
        [
          [200, 30],
          [2000, 30],
          [200, 30],
        ],
        arrivals,
      )
      expect(keptPerSecond).toHaveLength(9)
      // Windows 4 and 7 are the first after each jump: a moving average over 10 s kept 36-38/s in
      // the first and 6-10/s in the second.
      for (const perSecond of keptPerSecond) {
        expect(perSecond).toBeGreaterThanOrEqual(15)
        expect(perSecond).toBeLessThanOrEqual(25)
      }
      expect(Math.abs(adjustedRatio - 1)).toBeLessThan(0.1)
    },
  )

  it('a quiet key that surges, or traffic back after an idle minute, does not spend seconds of budget at once', () => {
    // 5/s keeps everything (below the target); a jump to 2,000/s must not run on that probability.
    const quiet = runTraffic(
      [
        [5, 10],
        [2000, 10],
      ],
      'poisson',
    )
    expect(quiet.keptPerSecond[1]).toBeLessThanOrEqual(25)
    expect(quiet.keptPerSecond[1]).toBeGreaterThanOrEqual(15)
    // A minute of 1 request per second, then 2,000/s: the long gaps count as one second each at most.
    const idle = runTraffic(
      [
        [200, 10],
        [1, 60],
        [2000, 10],
      ],
      'even',
    )
    expect(idle.keptPerSecond[7]).toBeLessThanOrEqual(25)
    expect(idle.keptPerSecond[7]).toBeGreaterThanOrEqual(15)
  })

  it('steps lower the ratio as traffic rises', () => {
    const clock = manualClock()
    const sampler = engine({
      ratio: 1,
      steps: [
        { above: 50, factor: 0.5 },
        { above: 100, factor: 0.1 },
      ],
      clock: clock.now,
    })
    const keptAt = (perSecond: number) => {
      let kept = 0
      const nextId = seededTraceIds(perSecond)
      for (let s = 0; s < 30; s++) {
        for (let i = 0; i < perSecond; i++) {
          if (sampler.decideHere({}, traceRandomness(nextId())).sampled && s >= 20) kept++
          clock.advance(1000 / perSecond)
        }
      }
      return kept / 10 / perSecond
    }
    expect(keptAt(20)).toBe(1)
    expect(keptAt(400)).toBeCloseTo(0.1, 1)
  })

  it('per-route adaptive state is bounded by maxAdaptiveKeys', () => {
    const sampler = engine({ targetPerSecond: 5, adaptiveKey: 'route', maxAdaptiveKeys: 100 })
    for (let i = 0; i < 200; i++) sampler.decideHere({ method: 'GET', path: `/r${i}/x` }, '0'.repeat(14))
    expect((sampler as unknown as { adaptive: { size: number } }).adaptive.size).toBe(100)
  })
})
