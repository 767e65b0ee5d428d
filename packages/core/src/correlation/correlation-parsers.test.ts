import fc from 'fast-check'
import { parseRequestId, resolveRequestId } from './request-id'
import { parseSessionId, readCookie, SessionCounters } from './session'
import { parseUserId } from './user'
import { createIdHasher } from './hashing'

describe('parseRequestId', () => {
  test('accepts 1-128 characters of [A-Za-z0-9._:-]', () => {
    expect(parseRequestId('req-1.2:3_x')).toBe('req-1.2:3_x')
    expect(parseRequestId('a'.repeat(128))).toBe('a'.repeat(128))
  })
  test.each([[''], ['a'.repeat(129)], ['has space'], ['nl\n'], ['é'], [['a', 'b']], [42], [undefined]])(
    'refuses %p',
    (value) => {
      expect(parseRequestId(value)).toBeUndefined()
    },
  )
  test('property: never throws; accepted values are unchanged and match the grammar', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.anything()), (value) => {
        const parsed = parseRequestId(value)
        if (parsed !== undefined) {
          expect(parsed).toBe(value)
          expect(parsed).toMatch(/^[A-Za-z0-9._:-]{1,128}$/)
        }
      }),
    )
  })
  test('an invalid ID is replaced by a UUID', () => {
    const policy = { header: 'x-request-id', accept: true, generate: undefined, echo: true }
    expect(resolveRequestId(policy, { 'x-request-id': 'bad id' }, undefined)).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    )
  })
})

describe('parseSessionId', () => {
  test('accepts visible ASCII without spaces, quotes, commas, semicolons (signed cookies pass)', () => {
    expect(parseSessionId('s:abc.def+/=')).toBe('s:abc.def+/=')
    for (const bad of ['', 'a b', 'a"b', "a'b", 'a,b', 'a;b', 'a\tb', 'é', 'x'.repeat(257)]) {
      expect(parseSessionId(bad)).toBeUndefined()
    }
  })
  test('property: never throws; whatever it accepts is 1-256 allowed characters', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.anything()), (value) => {
        const parsed = parseSessionId(value)
        if (parsed !== undefined)
          expect(parsed).toMatch(/^[\x21\x23-\x26\x28-\x2B\x2D-\x3A\x3C-\x7E]{1,256}$/)
      }),
    )
  })
})

describe('readCookie', () => {
  test('finds, unquotes and decodes the first occurrence', () => {
    expect(readCookie('a=1; sid="s%3Aabc"; sid=2', 'sid')).toBe('s:abc')
    expect(readCookie('asid=1; sid=2', 'sid')).toBe('2')
    expect(readCookie('a=1', 'sid')).toBeUndefined()
    expect(readCookie('sid=%E0%A4%A', 'sid')).toBeUndefined()
  })
  test('property: never throws on any header', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 500 }), fc.string({ maxLength: 10 }), (header, name) => {
        readCookie(header, name)
      }),
    )
  })
})

describe('parseUserId', () => {
  test('accepts up to 256 characters without control characters', () => {
    expect(parseUserId('ada@example.com')).toBe('ada@example.com')
    expect(parseUserId('名前')).toBe('名前')
    for (const bad of ['', 'a\nb', 'a\u0000', 'a\u009b', 'x'.repeat(257)])
      expect(parseUserId(bad)).toBeUndefined()
  })
  test('property: never throws; accepted values are unchanged', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300, unit: 'binary' }), fc.anything()), (value) => {
        const parsed = parseUserId(value)
        if (parsed !== undefined) expect(parsed).toBe(value)
      }),
    )
  })
})

describe('SessionCounters', () => {
  test('numbers operations per session and stays within its bound when driven past it twice over', () => {
    const counters = new SessionCounters(100)
    expect(counters.next('a').count).toBe(1)
    expect(counters.next('a').count).toBe(2)
    for (let i = 0; i < 200; i++) counters.next(`s${i}`)
    expect(counters.size).toBe(100)
    expect(counters.evicted).toBe(101)
    // 'a' was the least recently used: evicted, so it starts over.
    expect(counters.next('a').count).toBe(1)
    expect(counters.next('s199').count).toBe(2)
  })
})

describe('createIdHasher', () => {
  test('refuses short or missing keys at setup', () => {
    // The key is a secret: the message gives its length, never its text.
    expect(() => createIdHasher('short', 'hashIds.key')).toThrow(
      'traceweave: `hashIds.key` must be at least 16 bytes; got a key of 5 bytes',
    )
    expect(() => createIdHasher(42 as never, 'hashIds.key')).toThrow(
      'traceweave: `hashIds.key` must be a string or Uint8Array; got a value of type number',
    )
    expect(createIdHasher('k'.repeat(16), 'hashIds.key')('x')).toMatch(/^[0-9a-f]{64}$/)
  })
})
