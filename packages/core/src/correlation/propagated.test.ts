import { ROOT_CONTEXT, diag, propagation } from '@opentelemetry/api'
import fc from 'fast-check'
import { formatBaggage, parseBaggage, MAX_BAGGAGE_BYTES } from '../propagation/baggage'
import { createIdHasher } from './hashing'
import {
  correlationBaggage,
  readPropagatedCorrelation,
  withoutCorrelationBaggage,
  type CorrelationPropagation,
} from './propagated'
import type { RequestState } from './request-state'
import { parseUserId } from './user'

const BOTH: CorrelationPropagation = { session: true, user: true, hasher: undefined }
const HEX = 'a'.repeat(64)

describe('readPropagatedCorrelation', () => {
  test('reads the session (ID, operation name and number) and the user, percent-decoded', () => {
    const header =
      'app=1, traceweave.session.id=s:abc.def, traceweave.session.operation=GET%20/checkout,' +
      'traceweave.session.operation_number=12,traceweave.user.id=Zo%C3%AB@example.com'
    expect(readPropagatedCorrelation(header, BOTH)).toEqual({
      sessionId: 's:abc.def',
      sessionHashed: false,
      sessionOperation: 'GET /checkout',
      sessionOperationNumber: 12,
      userId: 'Zoë@example.com',
      userHashed: false,
    })
  })

  test('a value with the hashed property must be an HMAC (64 lowercase hex digits)', () => {
    const header = `traceweave.session.id=${HEX};hashed,traceweave.session.operation_number=1,traceweave.user.id=${HEX};ttl=5;hashed`
    expect(readPropagatedCorrelation(header, BOTH)).toMatchObject({
      sessionId: HEX,
      sessionHashed: true,
      userId: HEX,
      userHashed: true,
    })
    expect(readPropagatedCorrelation(`traceweave.user.id=alice;hashed`, BOTH)).toBeUndefined()
    expect(readPropagatedCorrelation(`traceweave.user.id=${HEX.toUpperCase()};hashed`, BOTH)).toBeUndefined()
  })

  test('only the kinds the middleware propagates are read', () => {
    const header = 'traceweave.session.id=s1,traceweave.session.operation_number=3,traceweave.user.id=bob'
    expect(readPropagatedCorrelation(header, { ...BOTH, session: false })).toEqual({
      userId: 'bob',
      userHashed: false,
    })
    expect(readPropagatedCorrelation(header, { ...BOTH, user: false })).toEqual({
      sessionId: 's1',
      sessionHashed: false,
      sessionOperationNumber: 3,
    })
  })

  test.each([
    ['a session without its number', 'traceweave.session.id=s1'],
    ['a number without a session', 'traceweave.session.operation_number=3'],
    ['a number 0', 'traceweave.session.id=s1,traceweave.session.operation_number=0'],
    ['a leading zero', 'traceweave.session.id=s1,traceweave.session.operation_number=03'],
    ['a negative number', 'traceweave.session.id=s1,traceweave.session.operation_number=-3'],
    ['a huge number', `traceweave.session.id=s1,traceweave.session.operation_number=${'9'.repeat(17)}`],
    ['a session ID with a space', 'traceweave.session.id=a%20b,traceweave.session.operation_number=1'],
    ['a user ID with a newline', 'traceweave.user.id=eve%0Aforged'],
    ['a user ID over 256 characters', `traceweave.user.id=${'u'.repeat(257)}`],
    ['an empty user ID', 'traceweave.user.id='],
    ['only app members', 'app=1,other=2'],
    ['a header over 8192 bytes', `traceweave.user.id=bob,pad=${'x'.repeat(MAX_BAGGAGE_BYTES)}`],
  ])('ignores %s', (_name, header) => {
    expect(readPropagatedCorrelation(header, BOTH)).toBeUndefined()
  })

  test('an invalid operation name is left out, the session stays', () => {
    const header =
      'traceweave.session.id=s1,traceweave.session.operation=bad%07name,traceweave.session.operation_number=2'
    expect(readPropagatedCorrelation(header, BOTH)).toEqual({
      sessionId: 's1',
      sessionHashed: false,
      sessionOperationNumber: 2,
    })
  })

  test('a repeated key keeps its first value', () => {
    expect(
      readPropagatedCorrelation('traceweave.user.id=first,traceweave.user.id=second', BOTH),
    ).toMatchObject({
      userId: 'first',
    })
  })

  test('property: never throws, and what it returns passes the session and user rules', () => {
    const member = fc.oneof(
      fc.constantFrom(
        'traceweave.session.id',
        'traceweave.session.operation',
        'traceweave.session.operation_number',
        'traceweave.user.id',
        'x',
      ),
      fc.string({ maxLength: 40 }),
    )
    const header = fc
      .array(fc.tuple(member, fc.string({ maxLength: 80 }), fc.constantFrom('', ';hashed', ';x=1')), {
        maxLength: 8,
      })
      .map((members) => members.map(([key, value, metadata]) => `${key}=${value}${metadata}`).join(','))
    fc.assert(
      fc.property(fc.oneof(header, fc.anything()), (value) => {
        const read = readPropagatedCorrelation(value, BOTH)
        if (read === undefined) return
        if (read.sessionId !== undefined) {
          expect(read.sessionId.length).toBeLessThanOrEqual(256)
          expect(read.sessionId).toMatch(read.sessionHashed ? /^[0-9a-f]{64}$/ : /^[\x21-\x7e]+$/)
          expect(Number.isSafeInteger(read.sessionOperationNumber)).toBe(true)
          expect(read.sessionOperationNumber).toBeGreaterThan(0)
        }
        if (read.userId !== undefined) {
          expect(read.userId.length).toBeLessThanOrEqual(256)
          // eslint-disable-next-line no-control-regex -- checking control characters is the point
          expect(read.userId).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/)
        }
      }),
    )
  })

  test('property: what correlationBaggage writes, readPropagatedCorrelation reads back', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[\x21\x23-\x26\x28-\x2B\x2D-\x3A\x3C-\x7E]{1,256}$/),
        // Any user ID the user header would accept.
        fc.string({ minLength: 1, maxLength: 256 }).filter((s) => parseUserId(s) === s),
        fc.integer({ min: 1, max: 2 ** 31 }),
        (sessionId, userId, number) => {
          const state = stateWith({ sessionId, userId, number, config: BOTH })
          const header = correlationBaggage(state, undefined)
          expect(readPropagatedCorrelation(header, BOTH)).toEqual({
            sessionId,
            sessionHashed: false,
            sessionOperation: 'GET /x',
            sessionOperationNumber: number,
            userId,
            userHashed: false,
          })
        },
      ),
    )
  })
})

function stateWith(options: {
  sessionId?: string
  userId?: string
  number?: number
  config: CorrelationPropagation
  attributeOf?: (value: string) => string
  sessionIdHashed?: boolean
  userIdHashed?: boolean
}): RequestState {
  const toAttribute = options.attributeOf ?? ((value: string) => value)
  const correlationAttributes: Record<string, string | number> = {}
  const state: RequestState = { correlationAttributes, propagateCorrelation: options.config }
  if (options.sessionId !== undefined) {
    state.sessionId = options.sessionId
    state.sessionIdHashed = options.sessionIdHashed
    correlationAttributes['session.id'] = options.sessionIdHashed
      ? options.sessionId
      : toAttribute(options.sessionId)
    correlationAttributes['session.operation'] = 'GET /x'
    correlationAttributes['session.operation_number'] = options.number ?? 1
  }
  if (options.userId !== undefined) {
    state.userId = options.userId
    state.userIdHashed = options.userIdHashed
    correlationAttributes['user.id'] = options.userIdHashed ? options.userId : toAttribute(options.userId)
  }
  return state
}

describe('correlationBaggage', () => {
  test('writes the values recorded on spans; with hashIds they are HMACs marked hashed', () => {
    const hasher = createIdHasher('0123456789abcdef', 'key')
    const config = { ...BOTH, hasher }
    const state = stateWith({ sessionId: 's1', userId: 'alice', number: 4, config, attributeOf: hasher })
    expect(correlationBaggage(state, undefined)).toBe(
      `traceweave.session.id=${hasher('s1')};hashed,traceweave.session.operation=GET%20/x,` +
        `traceweave.session.operation_number=4,traceweave.user.id=${hasher('alice')};hashed`,
    )
  })

  test('an HMAC received from a caller is forwarded marked hashed by a service without hashIds', () => {
    const state = stateWith({ userId: HEX, userIdHashed: true, config: BOTH })
    expect(correlationBaggage(state, undefined)).toBe(`traceweave.user.id=${HEX};hashed`)
  })

  test('only the kinds propagated, and nothing when the request has neither', () => {
    const config = { ...BOTH, session: false }
    expect(correlationBaggage(stateWith({ sessionId: 's1', userId: 'bob', config }), undefined)).toBe(
      'traceweave.user.id=bob',
    )
    expect(correlationBaggage(stateWith({ config: BOTH }), 'app=1')).toBe('app=1')
    expect(correlationBaggage(stateWith({ config: BOTH }), undefined)).toBeUndefined()
  })

  test("keeps the app's members first and replaces its traceweave.* members", () => {
    const state = stateWith({ userId: 'bob', config: BOTH })
    expect(correlationBaggage(state, 'app=1;ttl=3,traceweave.user.id=forged,other=Zo%C3%AB')).toBe(
      'app=1;ttl=3,other=Zo%C3%AB,traceweave.user.id=bob',
    )
  })

  test("when the header is full, the app's members stay, ours are left off, and that is reported once", () => {
    const warnings: string[] = []
    const record = (...args: unknown[]) => warnings.push(args.join(' '))
    diag.setLogger({ error: record, warn: record, info: () => {}, debug: () => {}, verbose: () => {} })
    try {
      const state = stateWith({ userId: 'bob', config: BOTH })
      const sixtyFour = Array.from({ length: 64 }, (_, i) => `m${i}=v`).join(',')
      expect(correlationBaggage(state, sixtyFour)).toBe(sixtyFour)
      const big = `app=${'x'.repeat(MAX_BAGGAGE_BYTES - 10)}`
      expect(correlationBaggage(state, big)).toBe(big)
    } finally {
      diag.disable()
    }
    expect(warnings.filter((message) => message.includes('baggage header is full'))).toHaveLength(1)
  })

  test('property: the merged header stays within the limits and keeps every app member', () => {
    const app = fc.array(fc.tuple(fc.stringMatching(/^[a-z]{1,8}$/), fc.string({ maxLength: 200 })), {
      maxLength: 70,
    })
    fc.assert(
      fc.property(app, (members) => {
        const existing = formatBaggage(members.map(([key, value]) => ({ key: `app.${key}`, value })))
        const merged = correlationBaggage(stateWith({ userId: 'bob', config: BOTH }), existing)!
        expect(merged.length).toBeLessThanOrEqual(MAX_BAGGAGE_BYTES)
        const parsed = parseBaggage(merged)!
        expect(parsed.length).toBeLessThanOrEqual(64)
        expect(parsed.filter((m) => m.key.startsWith('app.'))).toEqual(parseBaggage(existing))
      }),
    )
  })
})

describe('withoutCorrelationBaggage', () => {
  test("removes our members and keeps the app's", () => {
    const baggage = propagation.createBaggage({
      'traceweave.user.id': { value: 'bob' },
      'app.tenant': { value: 'acme' },
    })
    const stripped = propagation.getBaggage(
      withoutCorrelationBaggage(propagation.setBaggage(ROOT_CONTEXT, baggage)),
    )!
    expect(stripped.getAllEntries().map(([key]) => key)).toEqual(['app.tenant'])
  })

  test('given the request headers, looks at the context only when their baggage has our prefix', () => {
    const baggage = propagation.createBaggage({ 'traceweave.user.id': { value: 'bob' } })
    const ctx = propagation.setBaggage(ROOT_CONTEXT, baggage)
    expect(withoutCorrelationBaggage(ctx, {})).toBe(ctx)
    expect(withoutCorrelationBaggage(ctx, { baggage: 'app=1' })).toBe(ctx)
    const stripped = withoutCorrelationBaggage(ctx, { baggage: 'traceweave.user.id=bob' })
    expect(propagation.getBaggage(stripped)!.getAllEntries()).toEqual([])
  })

  test('the same context when there is nothing to remove', () => {
    expect(withoutCorrelationBaggage(ROOT_CONTEXT)).toBe(ROOT_CONTEXT)
    const ctx = propagation.setBaggage(ROOT_CONTEXT, propagation.createBaggage({ a: { value: '1' } }))
    expect(withoutCorrelationBaggage(ctx)).toBe(ctx)
  })
})
