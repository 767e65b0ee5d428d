import { resolveSamplingOptions } from './options'

describe('sampling options fail fast with the option name and valid values', () => {
  it.each([
    [{ ratio: 1.5 }, 'traceweave: `sampling.ratio` must be a number from 0 to 1; got 1.5'],
    [{ ratio: -0.1 }, 'traceweave: `sampling.ratio` must be a number from 0 to 1; got -0.1'],
    [{ ratio: Number.NaN }, 'traceweave: `sampling.ratio` must be a number from 0 to 1; got NaN'],
    [{ targetPerSecond: -1 }, 'traceweave: `sampling.targetPerSecond` must be a number > 0; got -1'],
    [{ maxPerSecond: 0 }, 'traceweave: `sampling.maxPerSecond` must be a number > 0; got 0'],
    [
      { rules: [{ path: '/x', sample: 1 }] },
      "traceweave: `sampling.rules[0]` must have only the keys method, route, pathPrefix, header, status, minDurationMs, sample; got the key 'path'",
    ],
    [
      { rules: [{ route: '/users/:id', sample: 1 }] },
      "traceweave: `sampling.rules[0].route` must go with sampling.decide: 'deferred' (the route is known only after routing, after a decision at request start); got sampling.decide 'start'",
    ],
    [
      { rules: [{ method: 'GET', sample: 2 }] },
      'traceweave: `sampling.rules[0].sample` must be a number from 0 to 1; got 2',
    ],
    [
      { rules: [{ method: 'GET', sample: { perSecond: -1 } }] },
      'traceweave: `sampling.rules[0].sample.perSecond` must be a number > 0; got -1',
    ],
    [
      { rules: [{ header: ['x'], sample: 1 }] },
      'traceweave: `sampling.rules[0].header` must be [name, string | RegExp]; got an array of 1 item',
    ],
    [{ decide: 'later' }, "traceweave: `sampling.decide` must be one of 'start', 'deferred'; got 'later'"],
    [
      { ratoi: 0.5 },
      "traceweave: `sampling` must have only the keys decide, respectParent, users, rules, ratio, targetPerSecond, adaptiveKey, adaptiveWindowMs, steps, maxPerSecond, maxUpgradesPerSecond, maxAdaptiveKeys, maxBufferedSpansPerTrace, maxPendingTraces, clock; got the key 'ratoi'",
    ],
    [
      { users: 'alice' },
      "traceweave: `sampling.users` must be an array of user IDs or a function (userId) => boolean; got 'alice'",
    ],
    [
      { targetPerSecond: 5, steps: [{ above: 1, factor: 0.5 }] },
      'traceweave: `sampling.steps` must be left out with sampling.targetPerSecond (adaptive): use one of them; got both',
    ],
    [{ maxAdaptiveKeys: 0 }, 'traceweave: `sampling.maxAdaptiveKeys` must be an integer >= 1; got 0'],
    // Outcome rules: the status and duration are known at the end, so they need deferred decisions.
    [
      { rules: [{ status: 'error', sample: 1 }] },
      "traceweave: `sampling.rules[0].status` must go with sampling.decide: 'deferred' (the status is known when the response is written, after a decision at request start); got sampling.decide 'start'",
    ],
    [
      { rules: [{ minDurationMs: 1000, sample: 1 }] },
      "traceweave: `sampling.rules[0].minDurationMs` must go with sampling.decide: 'deferred' (the duration is known at the end of the request, after a decision at request start); got sampling.decide 'start'",
    ],
    [
      { decide: 'deferred', rules: [{ status: 'failed', sample: 1 }] },
      "traceweave: `sampling.rules[0].status` must be 'error', a status code from 100 to 599 or a class '1xx'..'5xx'; got 'failed'",
    ],
    [
      { decide: 'deferred', rules: [{ status: 600, sample: 1 }] },
      /`sampling.rules\[0\].status` must be .*; got 600$/,
    ],
    [
      { decide: 'deferred', rules: [{ status: '6xx', sample: 1 }] },
      /`sampling.rules\[0\].status` must be .*; got '6xx'$/,
    ],
    [
      { decide: 'deferred', rules: [{ status: 500.5, sample: 1 }] },
      /`sampling.rules\[0\].status` must be .*; got 500.5$/,
    ],
    [
      { decide: 'deferred', rules: [{ minDurationMs: -1, sample: 1 }] },
      'traceweave: `sampling.rules[0].minDurationMs` must be a number >= 0; got -1',
    ],
    [
      { decide: 'deferred', rules: [{ minDurationMs: '1s', sample: 1 }] },
      "traceweave: `sampling.rules[0].minDurationMs` must be a number >= 0; got '1s'",
    ],
    [{ maxUpgradesPerSecond: 0 }, 'traceweave: `sampling.maxUpgradesPerSecond` must be a number > 0; got 0'],
    [{ clock: 'now' }, "traceweave: `sampling.clock` must be a function () => number (ms); got 'now'"],
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
