import { errorTypeOf, statusOf, toException } from './error-classification'

describe('errorTypeOf: error.type of a 5xx response', () => {
  class PaymentGatewayError extends Error {}

  test('the class of the error the app threw, so errors group by what failed', () => {
    expect(errorTypeOf(new PaymentGatewayError('down'), 500)).toBe('PaymentGatewayError')
    expect(errorTypeOf(new TypeError('x is undefined'), 500)).toBe('TypeError')
    expect(errorTypeOf(new Error('boom'), 503)).toBe('Error')
  })

  test('an error whose class has no name reports its `name`', () => {
    const anonymous = new (class extends Error {})('x')
    Object.defineProperty(anonymous.constructor, 'name', { value: '' })
    anonymous.name = 'UpstreamTimeout'
    expect(errorTypeOf(anonymous, 504)).toBe('UpstreamTimeout')
  })

  test('no Error seen (a plain 5xx response, or a thrown string or object): the status code', () => {
    expect(errorTypeOf(undefined, 502)).toBe('502')
    expect(errorTypeOf('failed', 500)).toBe('500')
    expect(errorTypeOf({ message: 'not an Error' }, 503)).toBe('503')
  })
})

describe('statusOf: the HTTP status an error carries', () => {
  test('status, else statusCode (http-errors, ctx.throw), only from 400 to 599', () => {
    expect(statusOf({ status: 404 })).toBe(404)
    expect(statusOf({ statusCode: 502 })).toBe(502)
    expect(statusOf({ status: 'nope', statusCode: 409 })).toBe(409)
    expect(statusOf({ status: 302 })).toBeUndefined()
    expect(statusOf({ status: 600 })).toBeUndefined()
    expect(statusOf(new Error('no status'))).toBeUndefined()
    expect(statusOf('404')).toBeUndefined()
    expect(statusOf(null)).toBeUndefined()
  })
})

describe('toException: what the span records of a thrown value', () => {
  test('errors and strings as they are; anything else as its string', () => {
    const error = new Error('boom')
    expect(toException(error)).toBe(error)
    expect(toException('failed')).toBe('failed')
    expect(toException(42)).toBe('42')
    expect(toException({ code: 1 })).toBe('[object Object]')
  })
})
