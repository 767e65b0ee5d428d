import fc from 'fast-check'
import { isKept, probabilityToThreshold, thresholdFromTh, traceRandomness } from './threshold'

describe('probability to threshold (OTel probability sampling spec, "Algorithms")', () => {
  // The spec's table, precision 4 column.
  it.each([
    [1, '0'],
    [0.5, '8'],
    [1 / 3, 'aaab'],
    [0.25, 'c'],
    [0.2, 'cccd'],
    [0.125, 'e'],
    [0.1, 'e666'],
    [0.0625, 'f'],
    [0.01, 'fd70a'],
    [0.001, 'ffbe77'],
    [0.0001, 'fff9724'],
    [0.00001, 'ffff583a'],
    [0.000001, 'ffffef39'],
  ])('probability %p encodes as th:%s', (probability, th) => {
    expect(probabilityToThreshold(probability).th).toBe(th)
  })

  it('th:c is 25% with adjusted count 4 (tracestate handling, "th" example)', () => {
    const threshold = thresholdFromTh('c')!
    expect(threshold.probability).toBe(0.25)
    expect(threshold.adjustedCount).toBe(4)
    expect(threshold.padded).toBe('c0000000000000')
  })

  it('th values are 1 to 14 lowercase hex digits; anything else is rejected', () => {
    for (const bad of ['', 'C', 'g', '0x1', '123456789012345', ' c', 'c;'])
      expect(thresholdFromTh(bad)).toBeUndefined()
  })

  it('keeps when R >= T (decision algorithm)', () => {
    const quarter = thresholdFromTh('c')!
    expect(isKept('c0000000000000', quarter)).toBe(true)
    expect(isKept('bfffffffffffff', quarter)).toBe(false)
    expect(isKept('00000000000000', probabilityToThreshold(1))).toBe(true)
  })

  it('takes randomness from the rightmost 56 bits of the trace ID, or a valid explicit rv', () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736'
    expect(traceRandomness(traceId)).toBe('ce929d0e0e4736')
    expect(traceRandomness(traceId, '6e6d1a75832a2f')).toBe('6e6d1a75832a2f')
    expect(traceRandomness(traceId, 'XYZ')).toBe('ce929d0e0e4736')
  })

  it('property: encoded thresholds parse back, and the probability is within 0.1% relative (p >= 2^-32)', () => {
    fc.assert(
      fc.property(fc.double({ min: 2 ** -32, max: 1, noNaN: true }), (p) => {
        const threshold = probabilityToThreshold(p)
        const parsed = thresholdFromTh(threshold.th)!
        expect(parsed.th).toBe(threshold.th)
        expect(Math.abs(parsed.probability - p) / p).toBeLessThan(1e-3)
      }),
    )
  })
})
