import { isAttributeValue as sdkIsAttributeValue } from '@opentelemetry/core'
import fc from 'fast-check'
import {
  ConfigError,
  checkBoolean,
  checkFunction,
  checkKeys,
  checkNonEmptyString,
  checkNumber,
  checkObject,
  checkOneOf,
  describeNumberRule,
  describeValue,
  isAttributeValue,
  MAX_DESCRIBED_LENGTH,
} from './validate'

/** The message a check throws, or `undefined` when it accepts. */
function messageOf(check: () => unknown): string | undefined {
  try {
    check()
    return undefined
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return (error as Error).message
  }
}

describe('the checks throw one ConfigError form: traceweave: `option` must <rule>; got <value>', () => {
  test.each<[string, () => unknown, string]>([
    [
      'a probability above 1',
      () => checkNumber('sampling.ratio', 1.5, { min: 0, max: 1 }),
      'traceweave: `sampling.ratio` must be a number from 0 to 1; got 1.5',
    ],
    [
      'a fraction where an integer is needed',
      () => checkNumber('memory.maxSpans', 1.5, { min: 1, integer: true }),
      'traceweave: `memory.maxSpans` must be an integer >= 1; got 1.5',
    ],
    [
      'zero where a positive rate is needed',
      () => checkNumber('maxPerSecond', 0, { min: 0, exclusiveMin: true }),
      'traceweave: `maxPerSecond` must be a number > 0; got 0',
    ],
    ['NaN', () => checkNumber('n', Number.NaN), 'traceweave: `n` must be a finite number; got NaN'],
    [
      'Infinity',
      () => checkNumber('n', Infinity, { min: 0 }),
      'traceweave: `n` must be a number >= 0; got Infinity',
    ],
    [
      'a numeric string',
      () => checkNumber('n', '5', { min: 0 }),
      "traceweave: `n` must be a number >= 0; got '5'",
    ],
    [
      'a string boolean',
      () => checkBoolean('metrics', 'true'),
      "traceweave: `metrics` must be true or false; got 'true'",
    ],
    [
      'a value outside a list',
      () => checkOneOf('decide', 'later', ['start', 'deferred']),
      "traceweave: `decide` must be one of 'start', 'deferred'; got 'later'",
    ],
    [
      'a non-function',
      () => checkFunction('user', 42, '(request) => string | undefined'),
      'traceweave: `user` must be a function (request) => string | undefined; got 42',
    ],
    [
      'a blank string',
      () => checkNonEmptyString('serviceName', '  '),
      "traceweave: `serviceName` must be a non-empty string; got '  '",
    ],
    [
      'an array for an object',
      () => checkObject('otlp', []),
      'traceweave: `otlp` must be an object; got an array of 0 items',
    ],
    [
      'null for an object',
      () => checkObject('otlp', null, 'an object { url }'),
      'traceweave: `otlp` must be an object { url }; got null',
    ],
    [
      'an unknown key',
      () => checkKeys('otlp', { url: 'x', endpoint: 'y' }, ['url', 'headers']),
      "traceweave: `otlp` must have only the keys url, headers; got the key 'endpoint'",
    ],
  ])('%s', (_label, check, message) => {
    expect(messageOf(check)).toBe(message)
  })

  test('valid values pass through unchanged', () => {
    expect(checkNumber('n', 0, { min: 0, max: 1 })).toBe(0)
    expect(checkNumber('n', 1, { min: 0, max: 1 })).toBe(1)
    expect(checkBoolean('b', false)).toBe(false)
    expect(checkOneOf('d', 'start', ['start', 'deferred'])).toBe('start')
    const fn = () => 1
    expect(checkFunction('f', fn, '() => number')).toBe(fn)
    expect(() => checkKeys('o', { a: 1 }, new Set(['a']))).not.toThrow()
  })

  test('the error is a TypeError carrying the option, rule and got-text', () => {
    const error = new ConfigError('otlp.url', 'be an http:// or https:// URL', "'x'")
    expect(error).toBeInstanceOf(TypeError)
    expect(error.name).toBe('ConfigError')
    expect([error.option, error.rule, error.got]).toEqual([
      'otlp.url',
      'be an http:// or https:// URL',
      "'x'",
    ])
  })

  test.each([
    [{ min: 100, max: 2 ** 31 - 1, integer: true }, 'an integer from 100 to 2147483647'],
    [{ min: 0 }, 'a number >= 0'],
    [{ max: 10 }, 'a number <= 10'],
    [{ min: 0, max: 1, exclusiveMin: true }, 'a number > 0 and <= 1'],
    [{ integer: true }, 'a finite integer'],
  ])('describeNumberRule(%j) is %p', (rule, text) => {
    expect(describeNumberRule(rule)).toBe(text)
  })
})

describe('describeValue prints a bad value bounded and never raw', () => {
  test.each<[string, unknown, string]>([
    ['a short string, quoted', 'jaeger', "'jaeger'"],
    ['a long string, cut at 40 characters', 'x'.repeat(10_000), `'${'x'.repeat(40)}...'`],
    ['control characters, escaped', 'a\nb\u001b[31m', "'a\\u000ab\\u001b[31m'"],
    ['a quote, escaped', "it's", "'it\\'s'"],
    ['non-ASCII (a bidi override), escaped', 'a\u202eb', "'a\\u202eb'"],
    ['a number', -0.5, '-0.5'],
    ['NaN', Number.NaN, 'NaN'],
    ['a bigint', 10n, '10n'],
    ['null', null, 'null'],
    ['undefined', undefined, 'undefined'],
    ['a symbol, by kind only', Symbol('secret'), 'a symbol'],
    ['a function, by kind only', function secret() {}, 'a function'],
    ['an array, by length only', ['secret', 'values'], 'an array of 2 items'],
    ['an object, by its first key names only', { token: 'secret' }, 'an object with keys token'],
    [
      'an object with many keys',
      Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`k${i}`, i])),
      'an object with keys k0, k1, k2, k3, k4, ... (9 keys)',
    ],
    [
      'a hostile key name, cut and escaped',
      { ['\n'.repeat(50)]: 1 },
      `an object with keys ${'\\u000a'.repeat(4)}...`,
    ],
    ['a RegExp, by its source', /ab+c/gi, 'the RegExp /ab+c/gi'],
  ])('%s', (_label, value, text) => {
    expect(describeValue(value)).toBe(text)
  })

  test('calls no getter or toString of the value, and survives a Proxy whose traps throw', () => {
    const touched: string[] = []
    const value = {
      get secret() {
        touched.push('getter')
        return 'x'
      },
      toString() {
        touched.push('toString')
        return 'x'
      },
    }
    expect(describeValue(value)).toBe('an object with keys secret, toString')
    expect(touched).toEqual([])
    const hostile = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('trap')
        },
      },
    )
    expect(describeValue(hostile)).toBe('an unreadable value')
  })

  test('any value prints as at most MAX_DESCRIBED_LENGTH printable ASCII characters (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.string({ unit: 'binary', maxLength: 5000 })), (value) => {
        const text = describeValue(value)
        expect(text.length).toBeLessThanOrEqual(MAX_DESCRIBED_LENGTH)
        expect(text).toMatch(/^[\x20-\x7e]*$/)
      }),
    )
  })
})

describe('isAttributeValue follows the OpenTelemetry attribute rule', () => {
  test.each<[string, unknown, boolean]>([
    // "A primitive type: string, boolean, double precision floating point (IEEE 754-1985) or signed 64 bit integer."
    ['a string', 'x', true],
    ['an empty string (meaningful, the spec says)', '', true],
    ['a boolean', false, true],
    ['a number', 1.5, true],
    ['NaN and Infinity (IEEE 754 doubles)', Number.NaN, true],
    // "An array of primitive type values. The array MUST be homogeneous"
    ['an empty array', [], true],
    ['a homogeneous array', ['a', 'b'], true],
    // "null values within arrays MUST be preserved as-is"
    ['an array with null and undefined entries', [1, null, undefined, 2], true],
    ['an array mixing types', [1, '2'], false],
    ['an array of objects', [{}], false],
    ['a nested array', [[1]], false],
    // "Attribute values of null are not valid"
    ['null', null, false],
    ['undefined', undefined, false],
    ['an object', { a: 1 }, false],
    ['a function', () => 1, false],
    ['a bigint', 1n, false],
    ['a symbol', Symbol('s'), false],
  ])('%s: %p', (_label, value, valid) => {
    expect(isAttributeValue(value)).toBe(valid)
  })

  test('agrees with the OTel JS SDK on every value but a lone null/undefined, which the SDK drops (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything(),
          fc.array(fc.oneof(fc.string(), fc.double(), fc.boolean(), fc.constant(null))),
        ),
        (value) => {
          fc.pre(value !== null && value !== undefined)
          expect(isAttributeValue(value)).toBe(sdkIsAttributeValue(value))
        },
      ),
    )
  })
})
