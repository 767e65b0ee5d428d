import {
  ROOT_CONTEXT,
  baggageEntryMetadataFromString,
  defaultTextMapGetter,
  defaultTextMapSetter,
  propagation,
} from '@opentelemetry/api'
import { suppressTracing } from '@opentelemetry/core'
import fc from 'fast-check'
import {
  BaggagePropagator,
  MAX_BAGGAGE_BYTES,
  MAX_BAGGAGE_MEMBERS,
  formatBaggage,
  parseBaggage,
  percentDecode,
  percentEncode,
} from './baggage'

describe('parseBaggage', () => {
  it('reads members in order (baggage-string = list-member *( "," list-member ))', () => {
    expect(parseBaggage('userId=alice,serverNode=DF%2028,isProduction=false')).toEqual([
      { key: 'userId', value: 'alice' },
      { key: 'serverNode', value: 'DF 28' },
      { key: 'isProduction', value: 'false' },
    ])
  })

  it('ignores optional whitespace around members, keys and values (OWS)', () => {
    expect(parseBaggage(' a = 1 ,\tb=2\t')).toEqual([
      { key: 'a', value: '1' },
      { key: 'b', value: '2' },
    ])
  })

  it('keeps properties as metadata (property = key OWS "=" OWS value / key)', () => {
    expect(parseBaggage('a=1;ttl=60 ; secret')).toEqual([{ key: 'a', value: '1', metadata: 'ttl=60;secret' }])
  })

  it('percent-decodes values as UTF-8 (value: percent-encoded)', () => {
    expect(parseBaggage('name=Zo%C3%AB%20%E2%9C%93')?.[0].value).toBe('Zoë ✓')
  })

  it('never throws on bad escapes: a stray % stays, invalid UTF-8 becomes U+FFFD', () => {
    expect(parseBaggage('a=100%,b=%zz,c=%E2%28')).toEqual([
      { key: 'a', value: '100%' },
      { key: 'b', value: '%zz' },
      { key: 'c', value: '\uFFFD(' },
    ])
  })

  it('accepts an empty value (value = *baggage-octet)', () => {
    expect(parseBaggage('a=')).toEqual([{ key: 'a', value: '' }])
  })

  it.each([
    ['key with a space', 'a b=1'],
    ['key with a separator', 'a/b=1'],
    ['empty key', '=1'],
    ['no equals', 'justakey'],
    ['value with a double quote', 'a="x"'],
    ['value with a backslash', 'a=x\\y'],
    ['value with a space inside', 'a=x y'],
    ['non-ASCII value', 'a=é'],
    ['invalid property', 'a=1;b c'],
  ])('drops a list-member that breaks the grammar, alone (%s)', (_, member) => {
    expect(parseBaggage(`ok=1,${member},also=2`)).toEqual([
      { key: 'ok', value: '1' },
      { key: 'also', value: '2' },
    ])
  })

  it(`keeps at most ${MAX_BAGGAGE_MEMBERS} list-members (W3C Baggage limits)`, () => {
    const header = Array.from({ length: 100 }, (_, i) => `k${i}=${i}`).join(',')
    const parsed = parseBaggage(header)!
    expect(parsed).toHaveLength(64)
    expect(parsed[63]).toEqual({ key: 'k63', value: '63' })
  })

  it(`drops a header over ${MAX_BAGGAGE_BYTES} bytes whole, before reading it (W3C Baggage limits)`, () => {
    expect(parseBaggage(`a=${'x'.repeat(MAX_BAGGAGE_BYTES - 2)}`)).toHaveLength(1)
    expect(parseBaggage(`a=${'x'.repeat(MAX_BAGGAGE_BYTES - 1)}`)).toBeUndefined()
    expect(parseBaggage('a=1,' + 'x'.repeat(1024 * 1024))).toBeUndefined()
  })
})

describe('formatBaggage', () => {
  it('percent-encodes values, including % itself, as UTF-8', () => {
    expect(formatBaggage([{ key: 'name', value: 'Zoë 100%, ok;' }])).toBe('name=Zo%C3%AB%20100%25%2C%20ok%3B')
  })

  it('never throws on a lone surrogate (encodes U+FFFD instead)', () => {
    expect(formatBaggage([{ key: 'a', value: '\uD800' }])).toBe('a=%EF%BF%BD')
  })

  it('writes valid metadata and leaves invalid metadata off', () => {
    expect(formatBaggage([{ key: 'a', value: '1', metadata: 'ttl=60' }])).toBe('a=1;ttl=60')
    expect(formatBaggage([{ key: 'a', value: '1', metadata: 'bad key' }])).toBe('a=1')
  })

  it('skips keys that are not tokens', () => {
    expect(
      formatBaggage([
        { key: 'bad key', value: '1' },
        { key: 'ok', value: '2' },
      ]),
    ).toBe('ok=2')
  })

  it(`writes at most ${MAX_BAGGAGE_MEMBERS} members and ${MAX_BAGGAGE_BYTES} bytes, dropping a member that does not fit`, () => {
    const many = Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, value: `${i}` }))
    expect(formatBaggage(many).split(',')).toHaveLength(64)
    const header = formatBaggage([
      { key: 'a', value: 'x'.repeat(5000) },
      { key: 'huge', value: 'y'.repeat(5000) },
      { key: 'b', value: 'small' },
    ])
    expect(header.length).toBeLessThanOrEqual(MAX_BAGGAGE_BYTES)
    expect(parseBaggage(header)?.map((m) => m.key)).toEqual(['a', 'b'])
  })
})

describe('BaggagePropagator', () => {
  const propagator = new BaggagePropagator()

  it('extracts baggage into the context and injects it back', () => {
    const ctx = propagator.extract(
      ROOT_CONTEXT,
      { baggage: 'userId=alice,tier=gold;ttl=60' },
      defaultTextMapGetter,
    )
    const baggage = propagation.getBaggage(ctx)!
    expect(baggage.getEntry('userId')?.value).toBe('alice')
    expect(baggage.getEntry('tier')?.metadata?.toString()).toBe('ttl=60')
    const carrier: Record<string, string> = {}
    propagator.inject(ctx, carrier, defaultTextMapSetter)
    expect(carrier.baggage).toBe('userId=alice,tier=gold;ttl=60')
  })

  it("injects nothing when tracing is suppressed (@opentelemetry/core's suppressTracing, like OpenTelemetry's baggage propagator)", () => {
    const ctx = propagation.setBaggage(ROOT_CONTEXT, propagation.createBaggage({ a: { value: '1' } }))
    const carrier: Record<string, string> = {}
    propagator.inject(suppressTracing(ctx), carrier, defaultTextMapSetter)
    expect(carrier).toEqual({})
    propagator.inject(ctx, carrier, defaultTextMapSetter)
    expect(carrier).toEqual({ baggage: 'a=1' })
  })

  it('joins several baggage header lines in order', () => {
    const ctx = propagator.extract(ROOT_CONTEXT, { baggage: ['a=1', 'b=2'] }, defaultTextMapGetter)
    expect(
      propagation
        .getBaggage(ctx)!
        .getAllEntries()
        .map(([k]) => k),
    ).toEqual(['a', 'b'])
  })

  it('keeps the first value of a repeated key and treats __proto__ as an ordinary key', () => {
    const ctx = propagator.extract(ROOT_CONTEXT, { baggage: 'a=1,a=2,__proto__=x' }, defaultTextMapGetter)
    const baggage = propagation.getBaggage(ctx)!
    expect(baggage.getEntry('a')?.value).toBe('1')
    expect(baggage.getEntry('__proto__')?.value).toBe('x')
  })

  it('leaves the context unchanged for a missing, empty or oversized header', () => {
    expect(propagator.extract(ROOT_CONTEXT, {}, defaultTextMapGetter)).toBe(ROOT_CONTEXT)
    expect(propagator.extract(ROOT_CONTEXT, { baggage: ' , ' }, defaultTextMapGetter)).toBe(ROOT_CONTEXT)
    expect(propagator.extract(ROOT_CONTEXT, { baggage: 'a='.padEnd(9000, 'x') }, defaultTextMapGetter)).toBe(
      ROOT_CONTEXT,
    )
  })

  it('injects values with characters that need encoding so they decode back', () => {
    const baggage = propagation.createBaggage({
      note: { value: 'a, b; c=d %' },
      tagged: { value: '1', metadata: baggageEntryMetadataFromString('p') },
    })
    const carrier: Record<string, string> = {}
    propagator.inject(propagation.setBaggage(ROOT_CONTEXT, baggage), carrier, defaultTextMapSetter)
    expect(parseBaggage(carrier.baggage)).toEqual([
      { key: 'note', value: 'a, b; c=d %' },
      { key: 'tagged', value: '1', metadata: 'p' },
    ])
  })

  it('reports its field', () => {
    expect(propagator.fields()).toEqual(['baggage'])
  })
})

describe('baggage properties', () => {
  it('parsing never throws on any string up to 4 KiB', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 4096 }),
          fc.string({ maxLength: 4096, unit: 'binary' }),
          fc.string({ maxLength: 4096, unit: 'binary-ascii' }),
        ),
        (value) => {
          parseBaggage(value)
          percentDecode(value)
        },
      ),
      { numRuns: 1000 },
    )
  })

  it('any string value survives encode and decode', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200, unit: 'grapheme' }), (value) => {
        expect(percentDecode(percentEncode(value))).toBe(value)
      }),
    )
  })

  it('whatever is accepted formats back to an equivalent header', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300, unit: 'binary-ascii' }), (value) => {
        const parsed = parseBaggage(value)
        if (parsed === undefined) return
        expect(parseBaggage(formatBaggage(parsed))).toEqual(parsed)
      }),
    )
  })

  it('formatting always yields a valid header within the limits', () => {
    const token = fc.string({
      unit: fc.constantFrom(...'abcXYZ09!#$%&*+-.^_`|~'),
      minLength: 1,
      maxLength: 20,
    })
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ key: token, value: fc.string({ maxLength: 300, unit: 'binary' }) }), {
          selector: (m) => m.key,
          maxLength: 80,
        }),
        (members) => {
          const header = formatBaggage(members)
          expect(header.length).toBeLessThanOrEqual(MAX_BAGGAGE_BYTES)
          const parsed = parseBaggage(header)!
          expect(parsed.length).toBeLessThanOrEqual(MAX_BAGGAGE_MEMBERS)
          for (const member of parsed) {
            const original = members.find((m) => m.key === member.key)!
            expect(member.value).toBe(percentDecode(percentEncode(original.value)))
          }
        },
      ),
    )
  })
})
