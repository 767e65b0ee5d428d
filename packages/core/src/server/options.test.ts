import { resolveServerOptions } from './options'

describe('resolveServerOptions', () => {
  test('defaults', () => {
    const resolved = resolveServerOptions()
    expect(resolved.requestIdHeader).toBe('x-request-id')
    expect(resolved.session).toEqual({ kind: 'header', name: 'x-session-id' })
    expect(resolved.maxSessions).toBe(10_000)
    expect(resolved.trustIncoming).toBe(true)
    expect(resolved.traceResponse).toBe(false)
    expect(resolved.exposeHeaders).toBe(false)
    expect(resolved.existingServerSpan).toBe('enrich')
    expect(resolved.metrics).toBe(true)
    expect(resolved.hasher).toBeUndefined()
  })

  test.each([
    [{ nope: 1 }, /unknown option traceweave.nope/],
    [
      { session: { header: 'x-s', cookie: 'sid' } },
      /set only one of session.header, session.cookie, session.from/,
    ],
    [{ session: { maxSessions: 0 } }, /session.maxSessions must be an integer >= 1/],
    [{ session: { cookie: 'bad name' } }, /session.cookie must be a cookie name/],
    [{ session: { extra: true } }, /unknown option session.extra/],
    [{ requestIdHeader: 'bad header' }, /requestIdHeader must be a header name/],
    [{ trustIncoming: 'yes' }, /trustIncoming must be true, false or a function/],
    [{ ignore: ['health'] }, /ignore entries must be paths starting with '\/' or RegExps/],
    [{ ignore: [/x/g] }, /must not use the g or y flag/],
    [{ captureHeaders: { request: ['ok', 'not ok'] } }, /captureHeaders.request must be a header name/],
    [{ hashIds: { key: 'short' } }, /hashIds.key must be at least 16 bytes/],
    [{ existingServerSpan: 'replace' }, /existingServerSpan must be 'enrich' or 'nest'/],
    [{ traceResponse: 'yes' }, /traceResponse must be true or false/],
    [{ user: 'id' }, /user must be a function/],
  ])('%p throws at setup', (options, message) => {
    expect(() => resolveServerOptions(options as never)).toThrow(message)
  })

  test('header names are lowercased; redaction extends the defaults', () => {
    const resolved = resolveServerOptions({
      requestIdHeader: 'X-Correlation-Id',
      captureHeaders: { request: ['Authorization', 'X-Tenant', 'X-Secret'], redact: ['x-secret'] },
    })
    expect(resolved.requestIdHeader).toBe('x-correlation-id')
    expect(resolved.captureRequestHeaders.map((header) => [header.name, header.redacted])).toEqual([
      ['authorization', true],
      ['x-tenant', false],
      ['x-secret', true],
    ])
  })
})
