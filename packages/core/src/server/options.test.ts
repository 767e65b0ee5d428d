import { resolveServerOptions } from './options'

describe('resolveServerOptions', () => {
  test('defaults', () => {
    const resolved = resolveServerOptions()
    expect(resolved.requestId).toEqual({
      header: 'x-request-id',
      accept: true,
      generate: undefined,
      echo: true,
    })
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
    [{ requestId: true }, /requestId must be an object \{ header, accept, generate, echo \} or false/],
    [{ requestId: { header: 'bad header' } }, /requestId.header must be a header name \(an RFC 9110 token\)/],
    [{ requestId: { header: '' } }, /requestId.header must be a header name/],
    [{ requestId: { accept: 'yes' } }, /requestId.accept must be true, false or a function/],
    [{ requestId: { echo: 'no' } }, /requestId.echo must be true or false/],
    [{ requestId: { generate: 'uuid' } }, /requestId.generate must be a function \(\) => string/],
    [{ requestId: { prefix: 'x' } }, /unknown option requestId.prefix; valid options: header, accept/],
    [
      { requestId: { header: 'x-a' }, requestIdHeader: 'x-b' },
      /set only one of requestIdHeader, requestId.header/,
    ],
    [{ requestId: false, requestIdHeader: 'x-b' }, /requestIdHeader has no effect with requestId: false/],
    [{ trustIncoming: 'yes' }, /trustIncoming must be true, false or a function/],
    [{ ignore: ['health'] }, /ignore entries must be paths starting with '\/' or RegExps/],
    [{ ignore: [/x/g] }, /must not use the g or y flag/],
    [{ captureHeaders: { request: ['ok', 'not ok'] } }, /captureHeaders.request must be a header name/],
    [{ hashIds: { key: 'short' } }, /hashIds.key must be at least 16 bytes/],
    [{ existingServerSpan: 'replace' }, /existingServerSpan must be 'enrich' or 'nest'/],
    [{ traceResponse: 'yes' }, /traceResponse must be true or false/],
    [{ user: 'id' }, /user must be a function/],
    [{ correlation: true }, /correlation must be an object/],
    [
      { correlation: { propagate: 'session' } },
      /correlation.propagate must be an array of 'session', 'user', got string/,
    ],
    [
      { correlation: { propagate: ['session', 'users'] } },
      /correlation.propagate must be an array of 'session', 'user', got "users" in it/,
    ],
    [{ correlation: { send: ['user'] } }, /unknown option correlation.send; valid options: propagate/],
  ])('%p throws at setup', (options, message) => {
    expect(() => resolveServerOptions(options as never)).toThrow(message)
  })

  test('header names are lowercased; redaction extends the defaults', () => {
    const resolved = resolveServerOptions({
      requestIdHeader: 'X-Correlation-Id',
      captureHeaders: { request: ['Authorization', 'X-Tenant', 'X-Secret'], redact: ['x-secret'] },
    })
    expect(resolved.requestId?.header).toBe('x-correlation-id')
    expect(resolved.captureRequestHeaders.map((header) => [header.name, header.redacted])).toEqual([
      ['authorization', true],
      ['x-tenant', false],
      ['x-secret', true],
    ])
  })

  test('correlation is off by default and with an empty list; propagate compiles with the hasher', () => {
    expect(resolveServerOptions().correlation).toBeUndefined()
    expect(resolveServerOptions({ correlation: { propagate: [] } }).correlation).toBeUndefined()
    expect(resolveServerOptions({ correlation: {} }).correlation).toBeUndefined()
    expect(resolveServerOptions({ correlation: { propagate: ['user'] } }).correlation).toEqual({
      session: false,
      user: true,
      hasher: undefined,
    })
    const hashed = resolveServerOptions({
      correlation: { propagate: ['session', 'user'] },
      hashIds: { key: '0123456789abcdef' },
    })
    expect(hashed.correlation).toMatchObject({ session: true, user: true })
    expect(hashed.correlation!.hasher).toBe(hashed.hasher)
  })

  test('requestId: false compiles to no policy', () => {
    expect(resolveServerOptions({ requestId: false }).requestId).toBeUndefined()
  })

  test('requestIdHeader is an alias of requestId.header', () => {
    expect(resolveServerOptions({ requestIdHeader: 'X-Trace-Ref' }).requestId?.header).toBe('x-trace-ref')
    expect(resolveServerOptions({ requestId: { header: 'X-Trace-Ref' } }).requestId?.header).toBe(
      'x-trace-ref',
    )
    const withAlias = resolveServerOptions({ requestIdHeader: 'x-trace-ref', requestId: { echo: false } })
    expect(withAlias.requestId).toMatchObject({ header: 'x-trace-ref', echo: false, accept: true })
  })

  test('requestId.generate is called once at setup, so one that cannot make a valid ID fails there', () => {
    let calls = 0
    const ok = () => `id-${++calls}`
    expect(resolveServerOptions({ requestId: { generate: ok } }).requestId?.generate).toBe(ok)
    expect(calls).toBe(1)
    expect(() => resolveServerOptions({ requestId: { generate: () => 'has space' } })).toThrow(
      /requestId.generate must be a function \(\) => string returning 1-128 characters of \[A-Za-z0-9._:-\]; at setup it returned a string of 9 characters/,
    )
    expect(() => resolveServerOptions({ requestId: { generate: () => undefined as never } })).toThrow(
      /at setup it returned undefined/,
    )
    expect(() => resolveServerOptions({ requestId: { generate: () => 'x'.repeat(129) } })).toThrow(RangeError)
    expect(() =>
      resolveServerOptions({
        requestId: {
          generate: () => {
            throw new Error('no entropy')
          },
        },
      }),
    ).toThrow(/requestId.generate must be .*; it threw when called at setup: no entropy/)
  })
})
