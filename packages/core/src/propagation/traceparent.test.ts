import fc from 'fast-check'
import { formatTraceParent, parseTraceParent } from './traceparent'

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'
const PARENT_ID = '00f067aa0ba902b7'
const VALID = `00-${TRACE_ID}-${PARENT_ID}-01`

const lowerHex = (length: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: length, maxLength: length })

describe('parseTraceParent', () => {
  it('reads the fields of a valid header (traceparent: version-format)', () => {
    expect(parseTraceParent(VALID)).toEqual({
      version: '00',
      traceId: TRACE_ID,
      parentId: PARENT_ID,
      traceFlags: 1,
    })
    expect(parseTraceParent(`00-${TRACE_ID}-${PARENT_ID}-00`)?.traceFlags).toBe(0)
  })

  it('reads the random-trace-id flag (trace-flags: Random Trace ID Flag, Level 2)', () => {
    expect(parseTraceParent(`00-${TRACE_ID}-${PARENT_ID}-02`)?.traceFlags).toBe(2)
    expect(parseTraceParent(`00-${TRACE_ID}-${PARENT_ID}-03`)?.traceFlags).toBe(3)
  })

  it('drops reserved flag bits (trace-flags: Other Flags, vendors MUST set those to zero)', () => {
    expect(parseTraceParent(`00-${TRACE_ID}-${PARENT_ID}-ff`)?.traceFlags).toBe(3)
    expect(parseTraceParent(`00-${TRACE_ID}-${PARENT_ID}-04`)?.traceFlags).toBe(0)
  })

  it('version ff is invalid (traceparent: version)', () => {
    expect(parseTraceParent(`ff-${TRACE_ID}-${PARENT_ID}-01`)).toBeUndefined()
  })

  it.each([
    ['.0', `.0-${TRACE_ID}-${PARENT_ID}-01`],
    ['0.', `0.-${TRACE_ID}-${PARENT_ID}-01`],
    ['uppercase', `0A-${TRACE_ID}-${PARENT_ID}-01`],
    ['too long (000)', `000-${TRACE_ID}-${PARENT_ID}-01`],
    ['too long (0000)', `0000-${TRACE_ID}-${PARENT_ID}-01`],
    ['too short', `0-${TRACE_ID}-${PARENT_ID}-01`],
  ])(
    'a version that is not 2 lowercase hex characters and a dash is invalid (versioning: %s)',
    (_, header) => {
      expect(parseTraceParent(header)).toBeUndefined()
    },
  )

  it.each([
    ['trailing character', `${VALID}.`],
    ['extra field', `${VALID}-what-the-future-will-be-like`],
    ['trailing dash', `${VALID}-`],
  ])('extra data on version 00 is invalid (version-format for 00: %s)', (_, header) => {
    expect(parseTraceParent(header)).toBeUndefined()
  })

  it('a higher version is parsed by its first 55 characters (versioning: higher version)', () => {
    expect(parseTraceParent(`cc-${TRACE_ID}-${PARENT_ID}-01`)).toEqual({
      version: 'cc',
      traceId: TRACE_ID,
      parentId: PARENT_ID,
      traceFlags: 1,
    })
    expect(parseTraceParent(`cc-${TRACE_ID}-${PARENT_ID}-01-what-the-future-will-be-like`)?.traceId).toBe(
      TRACE_ID,
    )
  })

  it('a higher version whose flags are not followed by the end or a dash is invalid (versioning: higher version)', () => {
    expect(parseTraceParent(`cc-${TRACE_ID}-${PARENT_ID}-01.what-the-future-will-be-like`)).toBeUndefined()
    expect(parseTraceParent(`cc-${TRACE_ID}-${PARENT_ID}-1`)).toBeUndefined()
  })

  it('an all-zero trace-id is invalid (trace-id)', () => {
    expect(parseTraceParent(`00-${'0'.repeat(32)}-${PARENT_ID}-01`)).toBeUndefined()
  })

  it('an all-zero parent-id is invalid (parent-id)', () => {
    expect(parseTraceParent(`00-${TRACE_ID}-${'0'.repeat(16)}-01`)).toBeUndefined()
  })

  it.each([
    ['illegal first character', `00-.${TRACE_ID.slice(1)}-${PARENT_ID}-01`],
    ['illegal last character', `00-${TRACE_ID.slice(0, 31)}.-${PARENT_ID}-01`],
    ['uppercase hex', `00-${TRACE_ID.toUpperCase()}-${PARENT_ID}-01`],
    ['too long', `00-${TRACE_ID}3-${PARENT_ID}-01`],
    ['too short', `00-${TRACE_ID.slice(1)}-${PARENT_ID}-01`],
  ])('a trace-id that is not 32 lowercase hex characters is invalid (trace-id: %s)', (_, header) => {
    expect(parseTraceParent(header)).toBeUndefined()
  })

  it.each([
    ['illegal first character', `00-${TRACE_ID}-.${PARENT_ID.slice(1)}-01`],
    ['illegal last character', `00-${TRACE_ID}-${PARENT_ID.slice(0, 15)}.-01`],
    ['uppercase hex', `00-${TRACE_ID}-00F067AA0BA902B7-01`],
    ['too long', `00-${TRACE_ID}-${PARENT_ID}7-01`],
    ['too short', `00-${TRACE_ID}-${PARENT_ID.slice(1)}-01`],
  ])('a parent-id that is not 16 lowercase hex characters is invalid (parent-id: %s)', (_, header) => {
    expect(parseTraceParent(header)).toBeUndefined()
  })

  it.each([
    ['.0', `00-${TRACE_ID}-${PARENT_ID}-.0`],
    ['0.', `00-${TRACE_ID}-${PARENT_ID}-0.`],
    ['uppercase', `00-${TRACE_ID}-${PARENT_ID}-0A`],
    ['too long', `00-${TRACE_ID}-${PARENT_ID}-001`],
    ['too short', `00-${TRACE_ID}-${PARENT_ID}-1`],
  ])('trace-flags that are not 2 lowercase hex characters are invalid (trace-flags: %s)', (_, header) => {
    expect(parseTraceParent(header)).toBeUndefined()
  })

  it.each([
    ['leading space', ` ${VALID}`],
    ['leading tab', `\t${VALID}`],
    ['trailing space', `${VALID} `],
    ['trailing tab', `${VALID}\t`],
    ['both', `\t ${VALID} \t`],
  ])('optional whitespace around the value is ignored (HTTP field value OWS: %s)', (_, header) => {
    expect(parseTraceParent(header)?.traceId).toBe(TRACE_ID)
  })

  it('two comma-joined values are invalid (a repeated traceparent cannot be chosen from)', () => {
    expect(parseTraceParent(`${VALID},${VALID}`)).toBeUndefined()
    expect(parseTraceParent(`${VALID}, ${VALID}`)).toBeUndefined()
    expect(parseTraceParent(`cc-${TRACE_ID}-${PARENT_ID}-01,cc-${TRACE_ID}-${PARENT_ID}-01`)).toBeUndefined()
  })

  it('a prohibitively large header is rejected (versioning: pass-through size limit)', () => {
    expect(parseTraceParent(`cc-${TRACE_ID}-${PARENT_ID}-01-${'a'.repeat(1024 * 1024)}`)).toBeUndefined()
    expect(parseTraceParent(' '.repeat(1024 * 1024) + VALID)).toBeUndefined()
  })

  it('anything that is not a string is invalid', () => {
    expect(parseTraceParent(undefined as unknown as string)).toBeUndefined()
    expect(parseTraceParent(42 as unknown as string)).toBeUndefined()
  })
})

describe('formatTraceParent', () => {
  it('writes version 00 with the sampled and random bits (traceparent: version-format)', () => {
    expect(formatTraceParent({ traceId: TRACE_ID, parentId: PARENT_ID, traceFlags: 3 })).toBe(
      `00-${TRACE_ID}-${PARENT_ID}-03`,
    )
    expect(formatTraceParent({ traceId: TRACE_ID, parentId: PARENT_ID, traceFlags: 0 })).toBe(
      `00-${TRACE_ID}-${PARENT_ID}-00`,
    )
  })

  it('never writes reserved flag bits (trace-flags: Other Flags)', () => {
    expect(formatTraceParent({ traceId: TRACE_ID, parentId: PARENT_ID, traceFlags: 0xff })).toBe(
      `00-${TRACE_ID}-${PARENT_ID}-03`,
    )
    expect(formatTraceParent({ traceId: TRACE_ID, parentId: PARENT_ID, traceFlags: 0x05 })).toBe(
      `00-${TRACE_ID}-${PARENT_ID}-01`,
    )
  })

  it('downgrades a higher version to 00 (Mutating the traceparent Field: downgrade the version)', () => {
    const parsed = parseTraceParent(`cc-${TRACE_ID}-${PARENT_ID}-01-future`)!
    expect(formatTraceParent(parsed)).toBe(VALID)
  })

  it('refuses invalid IDs instead of writing an invalid header', () => {
    expect(formatTraceParent({ traceId: '0'.repeat(32), parentId: PARENT_ID, traceFlags: 1 })).toBeUndefined()
    expect(formatTraceParent({ traceId: TRACE_ID, parentId: '0'.repeat(16), traceFlags: 1 })).toBeUndefined()
    expect(
      formatTraceParent({ traceId: TRACE_ID.toUpperCase(), parentId: PARENT_ID, traceFlags: 1 }),
    ).toBeUndefined()
    expect(
      formatTraceParent({ traceId: TRACE_ID.slice(1), parentId: PARENT_ID, traceFlags: 1 }),
    ).toBeUndefined()
  })
})

describe('traceparent properties', () => {
  const anyString = fc.oneof(
    fc.string({ maxLength: 4096 }),
    fc.string({ maxLength: 4096, unit: 'binary' }),
    fc.string({ maxLength: 4096, unit: 'binary-ascii' }),
    fc.string({ maxLength: 4096, unit: 'grapheme' }),
  )
  // Strings shaped like a header, so the interesting branches are reached often.
  const headerLike = fc
    .tuple(
      fc.oneof(lowerHex(2), fc.string({ maxLength: 3 })),
      fc.oneof(lowerHex(32), fc.string({ maxLength: 33 })),
      fc.oneof(lowerHex(16), fc.string({ maxLength: 17 })),
      fc.oneof(lowerHex(2), fc.string({ maxLength: 3 })),
      fc.oneof(fc.constant(''), fc.string({ maxLength: 20 })),
    )
    .map(([v, t, p, f, rest]) => `${v}-${t}-${p}-${f}${rest}`)

  it('parsing never throws on any string up to 4 KiB', () => {
    fc.assert(
      fc.property(fc.oneof(anyString, headerLike), (value) => {
        parseTraceParent(value)
      }),
      { numRuns: 2000 },
    )
  })

  it('whatever is accepted formats back to an equivalent header', () => {
    let accepted = 0
    fc.assert(
      fc.property(headerLike, (value) => {
        const parsed = parseTraceParent(value)
        if (parsed === undefined) return
        accepted++
        const formatted = formatTraceParent(parsed)
        expect(formatted).toBeDefined()
        expect(parseTraceParent(formatted!)).toEqual({ ...parsed, version: '00' })
        // Same IDs in the same places; only the version and reserved flag bits may change.
        expect(formatted!.slice(2, 53)).toBe(value.replace(/^[ \t]+/, '').slice(2, 53))
      }),
      { numRuns: 2000 },
    )
    expect(accepted).toBeGreaterThan(0)
  })

  it('formatting always yields a valid header', () => {
    fc.assert(
      fc.property(
        lowerHex(32),
        lowerHex(16),
        fc.integer({ min: 0, max: 255 }),
        (traceId, parentId, traceFlags) => {
          const formatted = formatTraceParent({ traceId, parentId, traceFlags })
          if (/^0+$/.test(traceId) || /^0+$/.test(parentId)) {
            expect(formatted).toBeUndefined()
            return
          }
          expect(formatted).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[0-3]$/)
          expect(parseTraceParent(formatted!)).toEqual({
            version: '00',
            traceId,
            parentId,
            traceFlags: traceFlags & 3,
          })
        },
      ),
    )
  })
})
