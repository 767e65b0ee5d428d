import { resolveSamplingOptions } from './options'

describe('sampling options fail fast with the option name and valid values', () => {
  it.each([
    [{ ratio: 1.5 }, /sampling.ratio must be a number within 0..1, got 1.5/],
    [{ ratio: -0.1 }, /sampling.ratio/],
    [{ ratio: Number.NaN }, /sampling.ratio/],
    [{ targetPerSecond: -1 }, /sampling.targetPerSecond must be a positive/],
    [{ maxPerSecond: 0 }, /sampling.maxPerSecond/],
    [
      { rules: [{ path: '/x', sample: 1 }] },
      /sampling.rules\[0\]: unknown field "path"; valid fields are method, route, pathPrefix, header, status, minDurationMs, sample/,
    ],
    [{ rules: [{ route: '/users/:id', sample: 1 }] }, /rules\[0\].route needs sampling.decide: 'deferred'/],
    [{ rules: [{ method: 'GET', sample: 2 }] }, /rules\[0\].sample must be a number within 0..1/],
    [{ rules: [{ method: 'GET', sample: { perSecond: -1 } }] }, /rules\[0\].sample.perSecond/],
    [{ rules: [{ header: ['x'], sample: 1 }] }, /rules\[0\].header must be \[name, string \| RegExp\]/],
    [{ decide: 'later' }, /sampling.decide must be 'start' or 'deferred'/],
    [{ ratoi: 0.5 }, /unknown option "ratoi"/],
    [{ users: 'alice' }, /sampling.users must be/],
    [{ targetPerSecond: 5, steps: [{ above: 1, factor: 0.5 }] }, /either targetPerSecond/],
    [{ maxAdaptiveKeys: 0 }, /maxAdaptiveKeys must be an integer >= 1/],
    // Outcome rules: the status and duration are known at the end, so they need deferred decisions.
    [
      { rules: [{ status: 'error', sample: 1 }] },
      /sampling.rules\[0\].status needs sampling.decide: 'deferred' \(got 'start'\)/,
    ],
    [
      { rules: [{ minDurationMs: 1000, sample: 1 }] },
      /sampling.rules\[0\].minDurationMs needs sampling.decide: 'deferred'/,
    ],
    [
      { decide: 'deferred', rules: [{ status: 'failed', sample: 1 }] },
      /rules\[0\].status must be 'error', a status code 100..599 or a class '1xx'..'5xx', got 'failed'/,
    ],
    [{ decide: 'deferred', rules: [{ status: 600, sample: 1 }] }, /rules\[0\].status must be/],
    [{ decide: 'deferred', rules: [{ status: '6xx', sample: 1 }] }, /rules\[0\].status must be/],
    [{ decide: 'deferred', rules: [{ status: 500.5, sample: 1 }] }, /rules\[0\].status must be/],
    [
      { decide: 'deferred', rules: [{ minDurationMs: -1, sample: 1 }] },
      /rules\[0\].minDurationMs must be a finite number of ms >= 0, got -1/,
    ],
    [{ decide: 'deferred', rules: [{ minDurationMs: '1s', sample: 1 }] }, /rules\[0\].minDurationMs/],
    [{ maxUpgradesPerSecond: 0 }, /sampling.maxUpgradesPerSecond must be a positive finite number/],
  ])('%j', (options, message) => {
    expect(() => resolveSamplingOptions(options as never)).toThrow(message)
  })

  it('fills in the documented defaults', () => {
    expect(resolveSamplingOptions()).toMatchObject({
      decide: 'start',
      respectParent: true,
      ratio: 1,
      adaptiveWindowMs: 10_000,
      maxAdaptiveKeys: 1000,
      maxBufferedSpansPerTrace: 512,
      maxPendingTraces: 1000,
      maxUpgradesPerSecond: 100,
      hasOutcomeRules: false,
    })
  })

  it('accepts the outcome forms with deferred decisions, and bounds upgrades by maxPerSecond when set', () => {
    const resolved = resolveSamplingOptions({
      decide: 'deferred',
      maxPerSecond: 5,
      rules: [
        { status: 'error', sample: 1 },
        { status: 503, sample: 1 },
        { status: '4xx', method: 'POST', sample: 0.5 },
        { minDurationMs: 0, sample: 1 },
      ],
    })
    expect(resolved).toMatchObject({ hasOutcomeRules: true, maxUpgradesPerSecond: undefined })
    expect(resolveSamplingOptions({ maxPerSecond: 5, maxUpgradesPerSecond: 2 }).maxUpgradesPerSecond).toBe(2)
  })
})
