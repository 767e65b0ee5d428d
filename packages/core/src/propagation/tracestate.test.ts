import type { TraceState } from '@opentelemetry/api'
import fc from 'fast-check'
import {
  MAX_TRACESTATE_MEMBERS,
  TraceStateList,
  createTraceState,
  formatTraceState,
  getOtSubKey,
  isValidTraceStateKey,
  isValidTraceStateValue,
  parseTraceState,
  setOtSubKey,
  toTraceStateList,
} from './tracestate'

const members = (value: string) =>
  parseTraceState(value)
    ?.members()
    .map(([k, v]) => `${k}=${v}`)

describe('parseTraceState', () => {
  it('keeps the members in order (tracestate: list)', () => {
    expect(members('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE')).toEqual([
      'rojo=00f067aa0ba902b7',
      'congo=t61rcWkgMzE',
    ])
  })

  it('accepts an empty header (Vendors MUST accept empty tracestate headers)', () => {
    expect(parseTraceState('')?.size).toBe(0)
    expect(parseTraceState(' \t ')?.size).toBe(0)
  })

  it('skips empty and whitespace-only list members (list-member = OWS)', () => {
    expect(members('foo=1,')).toEqual(['foo=1'])
    expect(members(',foo=1')).toEqual(['foo=1'])
    expect(members('foo=1, ,\t,bar=2')).toEqual(['foo=1', 'bar=2'])
  })

  it.each([['foo=1 \t , \t bar=2, \t baz=3'], ['foo=1\t \t,\t \tbar=2,\t \tbaz=3']])(
    'ignores optional whitespace around list members (tracestate: OWS) %j',
    (header) => {
      expect(members(header)).toEqual(['foo=1', 'bar=2', 'baz=3'])
    },
  )

  it.each([[' foo=1'], ['\tfoo=1'], ['foo=1 '], ['foo=1\t'], ['\t foo=1 \t']])(
    'ignores leading and trailing whitespace of the header (tracestate: OWS) %j',
    (header) => {
      expect(parseTraceState(header)?.get('foo')).toBe('1')
    },
  )

  it('keeps leading spaces of a value (value: leading spaces MUST be preserved)', () => {
    expect(parseTraceState('foo=  bar')?.get('foo')).toBe('  bar')
  })

  it('accepts every allowed key and value character (key, value)', () => {
    const key = 'abcdefghijklmnopqrstuvwxyz0123456789_-*/'
    let value = ''
    for (let c = 0x20; c <= 0x7e; c++) if (c !== 0x2c && c !== 0x3d) value += String.fromCharCode(c)
    expect(parseTraceState(`${key}=${value}`)?.get(key)).toBe(value)
    expect(parseTraceState(`${key}@a-z0-9_-*/=${value}`)?.get(`${key}@a-z0-9_-*/`)).toBe(value)
  })

  it.each([['foo =1'], ['FOO=1'], ['foo.bar=1'], ['_foo=1'], ['foo=1,Bar=2'], ['=1']])(
    'discards the whole list when a key breaks the grammar (key) %j',
    (header) => {
      expect(parseTraceState(`ok=1,${header}`)).toBeUndefined()
    },
  )

  it('a key may start with a digit (key = ( lcalpha / DIGIT ) ...)', () => {
    expect(parseTraceState('1foo=1')?.get('1foo')).toBe('1')
  })

  it.each([
    ['foo@=1,bar=2'],
    ['@foo=1,bar=2'],
    ['foo@@bar=1,bar=2'],
    ['foo@bar@baz=1,bar=2'],
    ['foo@1bar=1,bar=2'],
  ])('discards the whole list for a malformed multi-tenant key (key: tenant@system) %j', (header) => {
    expect(parseTraceState(header)).toBeUndefined()
  })

  it('limits keys to 256 characters, tenants to 241 and systems to 14 (key length)', () => {
    expect(parseTraceState(`foo=1,${'z'.repeat(256)}=1`)?.get('foo')).toBe('1')
    expect(parseTraceState(`foo=1,${'z'.repeat(257)}=1`)).toBeUndefined()
    expect(parseTraceState(`foo=1,${'t'.repeat(241)}@${'v'.repeat(14)}=1`)?.get('foo')).toBe('1')
    expect(parseTraceState(`foo=1,${'t'.repeat(242)}@v=1`)).toBeUndefined()
    expect(parseTraceState(`foo=1,t@${'v'.repeat(15)}=1`)).toBeUndefined()
  })

  it.each([
    ['empty value', 'foo='],
    ['whitespace value', 'foo=  '],
    ['equals in value', 'foo=a=b'],
    ['tab in value', 'foo=a\tb'],
    ['non-ASCII value', 'foo=é'],
    ['control character', 'foo=a\u0001'],
    ['no equals', 'foo'],
    ['257-character value', `foo=${'v'.repeat(257)}`],
  ])('discards the whole list when a value breaks the grammar (value: %s)', (_, header) => {
    expect(parseTraceState(`ok=1,${header}`)).toBeUndefined()
  })

  it('accepts a 256-character value (value: up to 256 printable characters)', () => {
    expect(parseTraceState(`foo=${'v'.repeat(256)}`)?.get('foo')).toHaveLength(256)
  })

  it('accepts 32 list members and discards a list of 33 (tracestate: maximum of 32 list-members)', () => {
    const list = (n: number) => Array.from({ length: n }, (_, i) => `bar${i + 1}=${i + 1}`).join(',')
    expect(parseTraceState(list(32))?.size).toBe(32)
    expect(parseTraceState(list(33))).toBeUndefined()
  })

  it('discards a list with a duplicated key (Adding a key/value pair MUST NOT result in the same key being present multiple times)', () => {
    expect(parseTraceState('foo=1,foo=1')).toBeUndefined()
    expect(parseTraceState('foo=1,foo=2')).toBeUndefined()
    expect(parseTraceState('foo=1,bar=2,foo=3')).toBeUndefined()
  })

  it('rejects a prohibitively large header before reading it (tracestate limits)', () => {
    expect(parseTraceState('a=1,' + ','.repeat(1024 * 1024))).toBeUndefined()
  })
})

describe('formatTraceState', () => {
  it('writes members in order without optional whitespace (the caller SHOULD NOT generate OWS)', () => {
    expect(formatTraceState(parseTraceState(' rojo=1 ,\tcongo=2 ')!)).toBe('rojo=1,congo=2')
  })

  it('writes an empty list as an empty string, so no header is sent (SHOULD avoid sending empty tracestate)', () => {
    expect(formatTraceState(TraceStateList.EMPTY)).toBe('')
  })

  it('keeps a list of 512 characters whole (Vendors SHOULD propagate at least 512 characters)', () => {
    // 4 members of 127 characters and 3 commas = 511, plus one more character.
    const list = createTraceState([
      ['a', 'x'.repeat(125)],
      ['b', 'x'.repeat(125)],
      ['c', 'x'.repeat(125)],
      ['d', 'x'.repeat(126)],
    ])!
    expect(formatTraceState(list)).toHaveLength(512)
  })

  it('removes members longer than 128 characters first (tracestate limits: truncation)', () => {
    const list = createTraceState([
      ['big', 'x'.repeat(200)],
      ['a', 'x'.repeat(120)],
      ['b', 'x'.repeat(120)],
      ['c', 'x'.repeat(120)],
      ['d', 'x'.repeat(120)],
    ])!
    const written = formatTraceState(list)
    expect(written.split(',').map((m) => m.split('=')[0])).toEqual(['a', 'b', 'c', 'd'])
    expect(written.length).toBeLessThanOrEqual(512)
  })

  it('then removes members from the end (tracestate limits: truncation)', () => {
    const list = createTraceState(Array.from({ length: 6 }, (_, i) => [`k${i}`, 'x'.repeat(100)] as const))!
    const written = formatTraceState(list)
    expect(written.split(',').map((m) => m.split('=')[0])).toEqual(['k0', 'k1', 'k2', 'k3'])
  })

  it('truncates whole entries only (the vendor MUST truncate whole entries)', () => {
    const list = createTraceState(Array.from({ length: 32 }, (_, i) => [`key${i}`, 'v'.repeat(40)] as const))!
    const written = formatTraceState(list)
    expect(written.length).toBeLessThanOrEqual(512)
    for (const member of written.split(',')) expect(member).toMatch(/^key\d+=v{40}$/)
  })
})

describe('TraceStateList (OpenTelemetry TraceState)', () => {
  it('set adds a new member at the front (Mutating tracestate: add a new key/value pair)', () => {
    const list = parseTraceState('congo=t61rcWkgMzE')!.set('rojo', '00f067aa0ba902b7')
    expect(list.serialize()).toBe('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE')
  })

  it('set moves an updated member to the front (Mutating tracestate: update an existing value)', () => {
    const list = parseTraceState('congo=ucfJifl5GOE,rojo=00f067aa0ba902b7')!.set('rojo', 'new')
    expect(list.serialize()).toBe('rojo=new,congo=ucfJifl5GOE')
  })

  it('set drops the right-most member past 32 (If adding an entry would cause more than 32 list-members)', () => {
    const full = createTraceState(Array.from({ length: 32 }, (_, i) => [`k${i}`, `${i}`] as const))!
    const added = full.set('new', '1')
    expect(added.size).toBe(32)
    expect(added.members()[0]).toEqual(['new', '1'])
    expect(added.get('k31')).toBeUndefined()
    expect(added.get('k30')).toBe('30')
  })

  it('set ignores an invalid key or value, leaving the list as it was', () => {
    const list = parseTraceState('a=1')!
    expect(list.set('Bad', '1')).toBe(list)
    expect(list.set('ok', 'a,b')).toBe(list)
  })

  it('unset removes a member and keeps the order of the others (Mutating tracestate: delete)', () => {
    expect(parseTraceState('a=1,b=2,c=3')!.unset('b').serialize()).toBe('a=1,c=3')
  })

  it('is immutable', () => {
    const list = parseTraceState('a=1')!
    list.set('b', '2')
    list.unset('a')
    expect(list.serialize()).toBe('a=1')
    expect(Object.isFrozen(list.members())).toBe(true)
  })

  it('satisfies the OpenTelemetry TraceState interface', () => {
    const state: TraceState = parseTraceState('a=1')!
    expect(state.set('b', '2').get('b')).toBe('2')
    expect(state.unset('a').serialize()).toBe('')
  })

  it('createTraceState rejects invalid members, duplicates and more than 32', () => {
    expect(createTraceState([['A', '1']])).toBeUndefined()
    expect(
      createTraceState([
        ['a', '1'],
        ['a', '2'],
      ]),
    ).toBeUndefined()
    expect(createTraceState(Array.from({ length: 33 }, (_, i) => [`k${i}`, '1'] as const))).toBeUndefined()
  })

  it('toTraceStateList re-reads another TraceState implementation and drops an invalid one', () => {
    const foreign = (serialized: string): TraceState => ({
      get: () => undefined,
      set: () => foreign(serialized),
      unset: () => foreign(serialized),
      serialize: () => serialized,
    })
    expect(toTraceStateList(foreign('a=1,b=2'))?.serialize()).toBe('a=1,b=2')
    expect(toTraceStateList(foreign('a=1,a=2'))).toBeUndefined()
    const throwing: TraceState = {
      ...foreign(''),
      serialize: () => {
        throw new Error('boom')
      },
    }
    expect(toTraceStateList(throwing)).toBeUndefined()
  })
})

describe('the ot member (OpenTelemetry tracestate handling)', () => {
  it('setOtSubKey adds ot at the front (modified keys move to the beginning)', () => {
    const list = setOtSubKey(parseTraceState('rojo=1,congo=2'), 'th', 'c')
    expect(list?.serialize()).toBe('ot=th:c,rojo=1,congo=2')
  })

  it('setOtSubKey updates one sub-key, keeps the others, and moves ot to the front', () => {
    const list = setOtSubKey(parseTraceState('rojo=1,ot=th:c;rv:6e6d1a75832a2f'), 'th', '8')
    expect(list?.members()[0]).toEqual(['ot', 'rv:6e6d1a75832a2f;th:8'])
    expect(getOtSubKey(list, 'th')).toBe('8')
    expect(getOtSubKey(list, 'rv')).toBe('6e6d1a75832a2f')
  })

  it('setOtSubKey with undefined erases the sub-key, and the member once it is empty', () => {
    const list = parseTraceState('rojo=1,ot=th:c;rv:ab')!
    expect(setOtSubKey(list, 'th', undefined)?.serialize()).toBe('ot=rv:ab,rojo=1')
    expect(setOtSubKey(parseTraceState('rojo=1,ot=th:c'), 'th', undefined)?.serialize()).toBe('rojo=1')
  })

  it('setOtSubKey starts from no tracestate at all', () => {
    expect(setOtSubKey(undefined, 'th', '0')?.serialize()).toBe('ot=th:0')
  })

  it('setOtSubKey refuses a sub-key or value outside the OpenTelemetry grammar, or an ot value over 256 characters', () => {
    expect(setOtSubKey(undefined, 'TH', '0')).toBeUndefined()
    expect(setOtSubKey(undefined, 'th', 'a;b')).toBeUndefined()
    expect(setOtSubKey(undefined, 'th', 'x'.repeat(260))).toBeUndefined()
  })

  it('getOtSubKey does not confuse sub-keys sharing a prefix', () => {
    expect(getOtSubKey(parseTraceState('ot=thx:1;th:2'), 'th')).toBe('2')
    expect(getOtSubKey(parseTraceState('rojo=1'), 'th')).toBeUndefined()
  })
})

describe('tracestate properties', () => {
  const keyChars = 'abcdefghijklmnopqrstuvwxyz0123456789_-*/'
  const keyArb = fc.oneof(
    fc
      .tuple(
        fc.constantFrom(...'abcxyz019'),
        fc.string({ unit: fc.constantFrom(...keyChars), maxLength: 20 }),
      )
      .map(([first, rest]) => first + rest),
    fc
      .tuple(
        fc.constantFrom(...'abc019'),
        fc.string({ unit: fc.constantFrom(...keyChars), maxLength: 10 }),
        fc.constantFrom(...'abc'),
        fc.string({ unit: fc.constantFrom(...keyChars), maxLength: 13 }),
      )
      .map(([t, tr, s, sr]) => `${t}${tr}@${s}${sr}`),
  )
  const valueChars = Array.from({ length: 0x7e - 0x20 + 1 }, (_, i) => String.fromCharCode(0x20 + i)).filter(
    (c) => c !== ',' && c !== '=',
  )
  const valueArb = fc
    .tuple(fc.string({ unit: fc.constantFrom(...valueChars), maxLength: 30 }), fc.constantFrom(...'abc!~'))
    .map(([body, last]) => body + last)
  const listArb = fc.uniqueArray(fc.tuple(keyArb, valueArb), {
    selector: ([key]) => key,
    maxLength: MAX_TRACESTATE_MEMBERS,
  })
  const ows = fc.constantFrom('', ' ', '\t', ' \t ')
  const headerArb = fc
    .tuple(listArb, ows, ows)
    .map(([list, before, after]) => list.map(([k, v]) => `${before}${k}=${v}${after}`).join(','))

  it('parsing never throws on any string up to 4 KiB', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 4096 }),
          fc.string({ maxLength: 4096, unit: 'binary' }),
          fc.string({ maxLength: 4096, unit: 'binary-ascii' }),
          headerArb,
        ),
        (value) => {
          parseTraceState(value)
        },
      ),
      { numRuns: 1000 },
    )
  })

  it('whatever is accepted formats back to an equivalent header', () => {
    fc.assert(
      fc.property(fc.oneof(headerArb, fc.string({ maxLength: 200, unit: 'binary-ascii' })), (value) => {
        const parsed = parseTraceState(value)
        if (parsed === undefined) return
        const reparsed = parseTraceState(formatTraceState(parsed, Infinity))
        expect(reparsed?.members()).toEqual(parsed.members())
      }),
    )
  })

  it('a generated valid list is accepted with its members in order', () => {
    fc.assert(
      fc.property(listArb, ows, (list, pad) => {
        const header = list.map(([k, v]) => `${pad}${k}=${v}`).join(`,${pad}`)
        expect(parseTraceState(header)?.members()).toEqual(list)
      }),
    )
  })

  it('formatting always yields a valid header within 512 characters', () => {
    fc.assert(
      fc.property(listArb, (list) => {
        const state = createTraceState(list)!
        const written = formatTraceState(state)
        expect(written.length).toBeLessThanOrEqual(512)
        const reparsed = parseTraceState(written)
        expect(reparsed).toBeDefined()
        // What is kept is a subsequence of the original members, in the same order.
        let cursor = 0
        for (const member of reparsed!.members()) {
          while (cursor < list.length && list[cursor][0] !== member[0]) cursor++
          expect(list[cursor]).toEqual(member)
        }
        for (const [k, v] of reparsed!.members()) {
          expect(isValidTraceStateKey(k)).toBe(true)
          expect(isValidTraceStateValue(v)).toBe(true)
        }
      }),
    )
  })
})
