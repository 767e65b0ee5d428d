import { copyFetchHeaders, deleteHeaders, readHeader, type OutgoingHeaders } from './headers'

const add: OutgoingHeaders = {
  replace: { traceparent: '00-' + 'a'.repeat(32) + '-' + 'b'.repeat(16) + '-01' },
  ifAbsent: { 'x-request-id': 'req-1' },
}

describe('copyFetchHeaders()', () => {
  it('copies a record, replacing trace headers in any casing, keeping the caller request ID', () => {
    const original = { TraceParent: 'stale', 'X-Request-Id': 'mine', accept: 'json' }
    const { headers, written } = copyFetchHeaders(original, add)
    expect(headers).toEqual({ 'X-Request-Id': 'mine', accept: 'json', traceparent: add.replace.traceparent })
    expect(written).toEqual(['traceparent'])
    expect(original).toEqual({ TraceParent: 'stale', 'X-Request-Id': 'mine', accept: 'json' })
  })

  it('copies Headers into new Headers', () => {
    const original = new Headers({ accept: 'json' })
    const { headers, written } = copyFetchHeaders(original, add)
    expect(headers).not.toBe(original)
    expect([...(headers as Headers).entries()]).toEqual([
      ['accept', 'json'],
      ['traceparent', add.replace.traceparent],
      ['x-request-id', 'req-1'],
    ])
    expect([...original.keys()]).toEqual(['accept'])
    expect(written).toEqual(['traceparent', 'x-request-id'])
  })

  it('copies pairs into new pairs, keeping repeated caller headers', () => {
    const original: [string, string][] = [
      ['accept', 'a'],
      ['accept', 'b'],
    ]
    const { headers } = copyFetchHeaders(original, add)
    expect(headers).toEqual([
      ['accept', 'a'],
      ['accept', 'b'],
      ['traceparent', add.replace.traceparent],
      ['x-request-id', 'req-1'],
    ])
    expect(original).toHaveLength(2)
  })

  it('creates a record when the caller gave none, and adds nothing when nothing is allowed', () => {
    expect(copyFetchHeaders(undefined, add).headers).toEqual({ ...add.replace, ...add.ifAbsent })
    expect(copyFetchHeaders({ a: '1' }, { replace: {}, ifAbsent: {} }).headers).toEqual({ a: '1' })
  })
})

describe('deleteHeaders() and readHeader()', () => {
  it('delete by lowercase name whatever the casing', () => {
    const headers: Record<string, unknown> = { TraceParent: 'x', 'x-request-id': 'y', Accept: 'z' }
    deleteHeaders(headers, ['traceparent', 'x-request-id'])
    expect(headers).toEqual({ Accept: 'z' })
  })

  it('read from Headers, get-able objects and records', () => {
    expect(readHeader(new Headers({ 'Retry-After': '5' }), 'retry-after')).toBe('5')
    expect(readHeader({ 'Retry-After': '6' }, 'retry-after')).toBe('6')
    expect(readHeader({ get: () => 7 }, 'retry-after')).toBeUndefined()
    expect(readHeader(null, 'retry-after')).toBeUndefined()
  })
})
