import { diag, DiagLogLevel } from '@opentelemetry/api'
import fc from 'fast-check'
import {
  MAX_REPORTED_HOSTS,
  compilePropagateTo,
  isPrivateDestination,
  isPropagationAllowedTo,
  type PropagateTo,
} from './propagate-to'

const warnings: string[] = []
const errors: string[] = []

beforeAll(() => {
  diag.setLogger(
    {
      error: (...args: unknown[]) => errors.push(args.join(' ')),
      warn: (...args: unknown[]) => warnings.push(args.join(' ')),
      info: () => {},
      debug: () => {},
      verbose: () => {},
    },
    DiagLogLevel.WARN,
  )
})
beforeEach(() => {
  warnings.length = 0
  errors.length = 0
})
afterAll(() => diag.disable())

const allowed = (propagateTo: PropagateTo | undefined, url: string) =>
  compilePropagateTo(propagateTo)(new URL(url))

describe('isPrivateDestination() (the default)', () => {
  it.each([
    'http://localhost:3000/x',
    'http://api.localhost/',
    'http://127.0.0.1/',
    'http://127.1.2.3:8080/',
    'http://127.1/', // the URL parser normalizes this to 127.0.0.1
    'http://[::1]:3000/',
    'http://10.0.0.1/',
    'http://10.255.255.255/',
    'http://172.16.0.1/',
    'http://172.31.255.255/',
    'http://192.168.1.20/',
    'http://169.254.169.254/',
    'http://[fc00::1]/',
    'http://[fd12:3456::1]/',
    'http://[fe80::1]/',
    'http://[febf::1]/',
    'http://[::ffff:10.0.0.1]/',
    'http://orders/',
    'http://orders:8080/api',
    'http://printer.local/',
    'http://billing.internal/',
    'http://orders.default.svc/',
    'http://orders.default.svc.cluster.local/',
    'http://orders.default.svc.cluster.local./',
  ])('allows %s', (url) => {
    expect(isPrivateDestination(new URL(url))).toBe(true)
  })

  it.each([
    'https://api.example.com/',
    'https://example.com:8443/',
    'http://8.8.8.8/',
    'http://172.15.0.1/',
    'http://172.32.0.1/',
    'http://192.169.0.1/',
    'http://169.253.0.1/',
    'http://11.0.0.1/',
    'http://[2001:db8::1]/',
    'http://[fec0::1]/',
    'http://[::ffff:8.8.8.8]/',
    'http://localhost.example.com/',
    'http://local.example/',
    'http://svc.example.com/',
    'file:///etc/passwd',
  ])('withholds from %s', (url) => {
    expect(isPrivateDestination(new URL(url))).toBe(false)
  })

  it('never throws, whatever the URL', () => {
    fc.assert(
      fc.property(fc.webUrl({ withQueryParameters: true, withFragments: true }), (url) => {
        expect(typeof isPrivateDestination(new URL(url))).toBe('boolean')
      }),
    )
  })

  it('is the default of compilePropagateTo()', () => {
    expect(allowed(undefined, 'http://127.0.0.1:1234/')).toBe(true)
    expect(allowed(undefined, 'https://api.example.com/')).toBe(false)
  })
})

describe('compilePropagateTo(): allowlists', () => {
  it("'*' allows everything, alone or in a list", () => {
    expect(allowed('*', 'https://anything.example/')).toBe(true)
    expect(allowed(['a.example', '*'], 'https://anything.example/')).toBe(true)
  })

  it('an origin needs scheme, host and port to match; default ports are normalized', () => {
    const list = ['https://api.example.com:8443', 'http://other.example.com:80']
    expect(allowed(list, 'https://api.example.com:8443/v1/orders?x=1')).toBe(true)
    expect(allowed(list, 'https://API.example.com:8443/')).toBe(true)
    expect(allowed(list, 'https://api.example.com/')).toBe(false)
    expect(allowed(list, 'http://api.example.com:8443/')).toBe(false)
    expect(allowed(list, 'http://other.example.com/')).toBe(true)
  })

  it('a host matches any scheme and port; host:port pins the port', () => {
    expect(allowed(['orders.example.com'], 'http://orders.example.com:8080/')).toBe(true)
    expect(allowed(['orders.example.com'], 'https://orders.example.com/')).toBe(true)
    expect(allowed(['orders.example.com'], 'https://evil-orders.example.com/')).toBe(false)
    expect(allowed(['orders.example.com'], 'https://orders.example.com.evil.test/')).toBe(false)
    expect(allowed(['localhost:3000'], 'http://localhost:3000/')).toBe(true)
    expect(allowed(['localhost:3000'], 'http://localhost:3001/')).toBe(false)
    expect(allowed(['api.example.com:443'], 'https://api.example.com/')).toBe(true)
    expect(allowed(['[::1]'], 'http://[::1]:9/')).toBe(true)
  })

  it('*.domain matches subdomains at any depth, not the domain itself or look-alikes', () => {
    const list = ['*.example.com']
    expect(allowed(list, 'https://a.example.com/')).toBe(true)
    expect(allowed(list, 'https://a.b.example.com:9000/')).toBe(true)
    expect(allowed(list, 'https://example.com/')).toBe(false)
    expect(allowed(list, 'https://badexample.com/')).toBe(false)
    expect(allowed(list, 'https://a.example.com.evil.test/')).toBe(false)
  })

  it('RegExps see the URL without credentials; g and y flags do not make them stateful', () => {
    const list = [/^https:\/\/[^/]*\.partner\.test\//g]
    const matcher = compilePropagateTo(list)
    for (let i = 0; i < 3; i++) expect(matcher(new URL('https://api.partner.test/x'))).toBe(true)
    expect(compilePropagateTo([/secret/])(new URL('https://user:secret@host.test/'))).toBe(false)
  })

  it('predicates decide; one that throws counts as no and is reported once', () => {
    expect(allowed((url) => url.port === '9000', 'http://x.test:9000/')).toBe(true)
    expect(allowed([(url) => url.port === '9000'], 'http://x.test:9001/')).toBe(false)
    const throwing = compilePropagateTo(() => {
      throw new Error('predicate bug')
    })
    expect(throwing(new URL('http://a.test/'))).toBe(false)
    expect(throwing(new URL('http://b.test/'))).toBe(false)
    expect(errors.filter((e) => e.includes('propagateTo predicate'))).toHaveLength(1)
  })

  it('composes with isPrivateDestination', () => {
    const list = [isPrivateDestination, 'api.partner.test']
    expect(allowed(list, 'http://10.1.2.3/')).toBe(true)
    expect(allowed(list, 'https://api.partner.test/')).toBe(true)
    expect(allowed(list, 'https://api.other.test/')).toBe(false)
  })

  it('never throws on any URL, whatever the list', () => {
    const matcher = compilePropagateTo([
      'https://api.example.com:8443',
      '*.example.com',
      'localhost:3000',
      /x/,
    ])
    fc.assert(
      fc.property(fc.webUrl({ withQueryParameters: true, withFragments: true }), (url) => {
        expect(typeof matcher(new URL(url))).toBe('boolean')
      }),
    )
  })
})

describe('compilePropagateTo(): bad configuration fails at setup', () => {
  it.each([
    [
      ['https://api.example.com/v1'],
      /must list origins as .*; got 'https:\/\/api.example.com\/v1' in the list$/,
    ],
    [['https://*.example.com'], /must list origins as /],
    // Credentials in an origin are never printed back.
    [
      ['https://user:pw@api.example.com'],
      /must list origins as .*; got an origin with credentials in the list$/,
    ],
    [
      ['api.example.com/path'],
      /must list hosts as host\[:port\] or '\*.' \+ domain, or origins; got 'api.example.com\/path'/,
    ],
    [[''], /must list hosts as /],
    [['host:99999'], /must list hosts as /],
    [['exa mple.com'], /must list hosts as /],
    [
      [42],
      /must be '\*', a predicate \(url: URL\) => boolean, or an array of origins .*; got 42 in the list$/,
    ],
    [[null], /; got null in the list$/],
    ['example.com', /must be '\*', a predicate .*; got 'example.com'$/],
    [{}, /; got an object with no keys$/],
  ])('%p throws a ConfigError naming the option and its valid values', (value, message) => {
    expect(() => compilePropagateTo(value as PropagateTo)).toThrow(TypeError)
    expect(() => compilePropagateTo(value as PropagateTo)).toThrow(message)
    expect(() => compilePropagateTo(value as PropagateTo, 'client.propagateTo')).toThrow(
      /^traceweave: `client\.propagateTo` must /,
    )
  })
})

describe('withheld-host messages', () => {
  it('names the host and the option, once per host', () => {
    const matcher = compilePropagateTo(undefined, 'traceFetch.propagateTo')
    matcher(new URL('https://api.example.com/a'))
    matcher(new URL('https://api.example.com/b'))
    matcher(new URL('http://127.0.0.1/'))
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toContain('api.example.com')
    expect(warnings[0]).toContain('traceFetch.propagateTo')
  })

  it(`remembers at most ${MAX_REPORTED_HOSTS} hosts, then says so once and goes quiet`, () => {
    const matcher = compilePropagateTo([])
    for (let i = 0; i < MAX_REPORTED_HOSTS + 500; i++) matcher(new URL(`https://h${i}.example.com/`))
    for (let i = 0; i < 10; i++) matcher(new URL(`https://h${i}.example.com/`))
    expect(warnings).toHaveLength(MAX_REPORTED_HOSTS + 1)
    expect(warnings.at(-1)).toContain(`more than ${MAX_REPORTED_HOSTS} hosts`)
  })
})

describe('isPropagationAllowedTo()', () => {
  it('compiles each option once and accepts strings', () => {
    const option = ['*.example.com']
    expect(isPropagationAllowedTo('https://a.example.com/', option)).toBe(true)
    expect(isPropagationAllowedTo(new URL('https://b.test/'), option)).toBe(false)
    expect(isPropagationAllowedTo('http://127.0.0.1:1/', undefined)).toBe(true)
    expect(isPropagationAllowedTo('https://b.test/', '*')).toBe(true)
  })

  it('never throws: a bad URL or option is a no', () => {
    expect(isPropagationAllowedTo('not a url', '*')).toBe(false)
    expect(isPropagationAllowedTo('https://a.test/', [42] as never)).toBe(false)
  })
})
