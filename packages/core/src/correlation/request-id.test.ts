import { resolveRequestId, type RequestIdPolicy } from './request-id'
import { useDiagMessages } from '../../../../test/support/diag'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
const messages = useDiagMessages()

function policy(overrides: Partial<RequestIdPolicy<unknown>> = {}): RequestIdPolicy<unknown> {
  return { header: 'x-request-id', accept: true, generate: undefined, echo: true, ...overrides }
}

describe('resolveRequestId', () => {
  test('a valid incoming ID is kept when accepted, and ignored when not', () => {
    const headers = { 'x-request-id': 'req-1' }
    expect(resolveRequestId(policy(), headers, undefined)).toBe('req-1')
    expect(resolveRequestId(policy({ accept: false }), headers, undefined)).toMatch(UUID)
  })

  test('the ID is read from the configured header only', () => {
    const headers = { 'x-request-id': 'req-1', 'x-correlation-id': 'corr-1' }
    expect(resolveRequestId(policy({ header: 'x-correlation-id' }), headers, undefined)).toBe('corr-1')
  })

  test('an accept function decides per request; one that throws counts as false, reported once', () => {
    const accept = (request: unknown) => {
      if (request === 'boom') throw new Error('policy broke')
      return request === 'internal'
    }
    const headers = { 'x-request-id': 'req-1' }
    expect(resolveRequestId(policy({ accept }), headers, 'internal')).toBe('req-1')
    expect(resolveRequestId(policy({ accept }), headers, 'external')).toMatch(UUID)
    // Only `true` accepts: a truthy non-boolean is not a yes.
    expect(resolveRequestId(policy({ accept: () => 1 as never }), headers, undefined)).toMatch(UUID)
    messages.length = 0
    expect(resolveRequestId(policy({ accept }), headers, 'boom')).toMatch(UUID)
    expect(resolveRequestId(policy({ accept }), headers, 'boom')).toMatch(UUID)
    expect(messages.filter((message) => message.includes('options.requestId.accept'))).toHaveLength(1)
  })

  test('a generated ID is validated like an incoming one: invalid ones become UUIDs, reported once, never echoed', () => {
    const outputs = ['gen-1', 'bad id', 'x'.repeat(129), 42, 'gen-2']
    let next = 0
    const generate = () => outputs[next++] as string
    messages.length = 0
    const ids = outputs.map(() => resolveRequestId(policy({ generate }), {}, undefined))
    expect(ids[0]).toBe('gen-1')
    expect(ids[1]).toMatch(UUID)
    expect(ids[2]).toMatch(UUID)
    expect(ids[3]).toMatch(UUID)
    expect(ids[4]).toBe('gen-2')
    const reports = messages.filter((message) => message.includes('requestId.generate'))
    expect(reports).toHaveLength(1)
    expect(reports[0]).toContain('a string of 6 characters')
    expect(reports[0]).not.toContain('bad id')
  })

  test('a generator that throws is replaced by a UUID for that request, reported once', () => {
    const generate = () => {
      throw new Error('generator broke')
    }
    messages.length = 0
    expect(resolveRequestId(policy({ generate }), {}, undefined)).toMatch(UUID)
    expect(resolveRequestId(policy({ generate }), {}, undefined)).toMatch(UUID)
    expect(messages.filter((message) => message.includes('options.requestId.generate'))).toHaveLength(1)
  })

  test('a valid incoming ID wins over the generator; an invalid one does not', () => {
    const generate = () => 'generated'
    expect(resolveRequestId(policy({ generate }), { 'x-request-id': 'req-1' }, undefined)).toBe('req-1')
    expect(resolveRequestId(policy({ generate }), { 'x-request-id': 'a b' }, undefined)).toBe('generated')
    expect(resolveRequestId(policy({ generate }), { 'x-request-id': ['a', 'b'] }, undefined)).toBe(
      'generated',
    )
  })
})
