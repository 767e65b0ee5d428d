import { ConfigError } from '../internal/validate'
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
    [
      { nope: 1 },
      "traceweave: `traceweave(options)` must have only the keys requestId, requestIdHeader, session, user, hashIds, correlation, trustIncoming, ignore, captureHeaders, traceResponse, serverTiming, exposeHeaders, existingServerSpan, metrics, bindStreams, resources; got the key 'nope'",
    ],
    [
      { session: { header: 'x-s', cookie: 'sid' } },
      'traceweave: `session` must have one source: set only one of session.header, session.cookie, session.from; got 2 of them',
    ],
    [{ session: { maxSessions: 0 } }, 'traceweave: `session.maxSessions` must be an integer >= 1; got 0'],
    [
      { session: { cookie: 'bad name' } },
      "traceweave: `session.cookie` must be a cookie name (an RFC 6265 token); got 'bad name'",
    ],
    [
      { session: { extra: true } },
      "traceweave: `session` must have only the keys header, cookie, from, maxSessions, operation; got the key 'extra'",
    ],
    [
      { requestIdHeader: 'bad header' },
      "traceweave: `requestIdHeader` must be a header name (an RFC 9110 token); got 'bad header'",
    ],
    [
      { requestId: true },
      'traceweave: `requestId` must be an object { header, accept, generate, echo } or false; got true',
    ],
    [
      { requestId: { header: 'bad header' } },
      "traceweave: `requestId.header` must be a header name (an RFC 9110 token); got 'bad header'",
    ],
    [
      { requestId: { header: '' } },
      "traceweave: `requestId.header` must be a header name (an RFC 9110 token); got ''",
    ],
    [
      { requestId: { accept: 'yes' } },
      "traceweave: `requestId.accept` must be true, false or a function (request) => boolean; got 'yes'",
    ],
    [{ requestId: { echo: 'no' } }, "traceweave: `requestId.echo` must be true or false; got 'no'"],
    [
      { requestId: { generate: 'uuid' } },
      "traceweave: `requestId.generate` must be a function () => string returning 1-128 characters of [A-Za-z0-9._:-]; got 'uuid'",
    ],
    [
      { requestId: { prefix: 'x' } },
      "traceweave: `requestId` must have only the keys header, accept, generate, echo; got the key 'prefix'",
    ],
    [
      { requestId: { header: 'x-a' }, requestIdHeader: 'x-b' },
      'traceweave: `requestIdHeader` must be left out with requestId.header (it is an alias of it): set only one of them; got both',
    ],
    [
      { requestId: false, requestIdHeader: 'x-b' },
      "traceweave: `requestIdHeader` must be left out with requestId: false (it would have no effect); got 'x-b'",
    ],
    [
      { trustIncoming: 'yes' },
      "traceweave: `trustIncoming` must be true, false or a function (request) => boolean; got 'yes'",
    ],
    [
      { ignore: ['health'] },
      "traceweave: `ignore` must be an array of paths starting with '/' and RegExps; got 'health' in the list",
    ],
    [
      { ignore: [/x/g] },
      'traceweave: `ignore` must hold RegExps without the g or y flag; got the RegExp /x/g',
    ],
    [
      { captureHeaders: { request: ['ok', 'not ok'] } },
      "traceweave: `captureHeaders.request` must be a header name (an RFC 9110 token); got 'not ok'",
    ],
    [
      { hashIds: { key: 'short' } },
      'traceweave: `hashIds.key` must be at least 16 bytes; got a key of 5 bytes',
    ],
    [
      { existingServerSpan: 'replace' },
      "traceweave: `existingServerSpan` must be one of 'enrich', 'nest'; got 'replace'",
    ],
    [{ traceResponse: 'yes' }, "traceweave: `traceResponse` must be true or false; got 'yes'"],
    [{ user: 'id' }, "traceweave: `user` must be a function (request) => string | undefined; got 'id'"],
    [{ correlation: true }, 'traceweave: `correlation` must be an object { propagate }; got true'],
    [
      { correlation: { propagate: 'session' } },
      "traceweave: `correlation.propagate` must be an array of 'session', 'user'; got 'session'",
    ],
    [
      { correlation: { propagate: ['session', 'users'] } },
      "traceweave: `correlation.propagate` must be an array of 'session', 'user'; got 'users' in the list",
    ],
    [
      { correlation: { send: ['user'] } },
      "traceweave: `correlation` must have only the keys propagate; got the key 'send'",
    ],
    [{ resources: 'all' }, "traceweave: `resources` must be true, false or 'attributed'; got 'all'"],
  ])('%p throws a ConfigError naming the option and its valid values', (options, message) => {
    expect(() => resolveServerOptions(options as never)).toThrow(ConfigError)
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
      'traceweave: `requestId.generate` must be a function () => string returning 1-128 characters of [A-Za-z0-9._:-]; got a function that returned a string of 9 characters at setup',
    )
    expect(() => resolveServerOptions({ requestId: { generate: () => undefined as never } })).toThrow(
      /got a function that returned undefined at setup$/,
    )
    expect(() => resolveServerOptions({ requestId: { generate: () => 'x'.repeat(129) } })).toThrow(
      /got a function that returned a string of 129 characters at setup$/,
    )
    expect(() =>
      resolveServerOptions({
        requestId: {
          generate: () => {
            throw new Error('no entropy')
          },
        },
      }),
    ).toThrow(
      /^traceweave: `requestId.generate` must be .*; got a function that threw at setup: 'no entropy'$/,
    )
  })
})
