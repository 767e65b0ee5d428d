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
      /sampling.rules\[0\]: unknown field "path"; valid fields are method, route, pathPrefix, header, sample/,
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
    })
  })
})
