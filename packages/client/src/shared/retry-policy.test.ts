import fc from 'fast-check'
import { isRetryableStatus, parseRetryAfter } from './retry-policy'

describe('parseRetryAfter()', () => {
  const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT')

  it('reads delay-seconds and HTTP dates', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000)
    expect(parseRetryAfter(' 0 ', now)).toBe(0)
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:30 GMT', now)).toBe(30_000)
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:27:00 GMT', now)).toBe(0) // in the past
  })

  it.each([undefined, null, '', '-1', '1.5', 'soon', '12abc', 'x'.repeat(100), '99999999999'])(
    'ignores %p',
    (value) => {
      expect(parseRetryAfter(value as string, now)).toBeUndefined()
    },
  )

  it('never throws and never returns a negative or non-finite delay', () => {
    fc.assert(
      fc.property(fc.string(), (value) => {
        const delay = parseRetryAfter(value, now)
        expect(delay === undefined || (Number.isFinite(delay) && delay >= 0)).toBe(true)
      }),
    )
  })

  it('whatever number of seconds it accepts, it reads back exactly', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 9_999_999_999 }), (seconds) => {
        expect(parseRetryAfter(String(seconds), now)).toBe(seconds * 1000)
      }),
    )
  })
})

describe('isRetryableStatus()', () => {
  it('retries 408, 429 and 5xx only', () => {
    const retried = [100, 200, 301, 400, 404, 408, 409, 429, 499, 500, 503, 599, 600].filter(
      isRetryableStatus,
    )
    expect(retried).toEqual([408, 429, 500, 503, 599])
  })
})
