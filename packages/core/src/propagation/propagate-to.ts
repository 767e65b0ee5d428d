import { logger } from '../internal/diag'
import { reportFailure } from '../internal/guard'
import { configError, describeValue, invalidOption } from '../internal/validate'

/**
 * One allowed destination: an origin (`https://api.example.com:8443`: scheme, host and port must all
 * match), a host (`orders.example.com`, any scheme and port; `orders.example.com:8080` pins the port;
 * `*.example.com` matches every subdomain but not `example.com` itself, as in CSP), `'*'` for every
 * destination, a RegExp tested against the URL without credentials, or a predicate on the URL.
 */
export type PropagateToEntry = string | RegExp | ((url: URL) => boolean)

/**
 * Where trace headers (`traceparent`, `tracestate`, baggage, the request ID) may be sent: `'*'`, a
 * predicate, or a list of {@link PropagateToEntry}. Default: private destinations only
 * ({@link isPrivateDestination}).
 */
export type PropagateTo = '*' | ((url: URL) => boolean) | readonly PropagateToEntry[]

/** A compiled {@link PropagateTo}: true when trace headers may go to `url`. */
export type PropagateToMatcher = (url: URL) => boolean

/**
 * How many distinct hosts a matcher remembers for its "headers withheld" message. Past the bound one
 * last message says so and further hosts go unreported, so a crawler-like service calling millions
 * of hosts neither grows memory nor floods the log.
 */
export const MAX_REPORTED_HOSTS = 1000

const VALID_VALUES =
  "'*', a predicate (url: URL) => boolean, or an array of origins " +
  "('https://api.example.com:8443'), hosts ('orders.example.com', '*.example.com', 'localhost:3000'), " +
  'RegExps and predicates'

// host, `*.` + suffix, or a bracketed IPv6 literal, with an optional port. Anchored and linear.
const HOST_PATTERN = /^(\*\.)?([a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?|\[[0-9a-f:.]+\])(?::(\d{1,5}))?$/i

const PRIVATE_SUFFIXES = ['.local', '.internal', '.svc', '.cluster.local', '.localhost']
const IPV4_PATTERN = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/

/**
 * True for destinations that stay inside the user's network: `localhost` (and `*.localhost`),
 * loopback 127.0.0.0/8 and `::1`, private IPv4 10/8, 172.16/12, 192.168/16, link-local 169.254/16,
 * IPv6 unique-local fc00::/7 and link-local fe80::/10 (also as IPv4-mapped IPv6), single-label hosts
 * (`orders`, a Docker or Kubernetes service name) and the `.local`, `.internal`, `.svc` and
 * `.cluster.local` suffixes. The default of `propagateTo`; combine it with other entries as a predicate.
 *
 * @example traceFetch(fetch, { propagateTo: [isPrivateDestination, 'api.partner.example'] })
 */
export function isPrivateDestination(url: URL): boolean {
  let host = url.hostname
  if (host.startsWith('[')) return isPrivateIPv6(host.slice(1, -1))
  if (host.endsWith('.')) host = host.slice(0, -1)
  if (host === '') return false
  const ipv4 = IPV4_PATTERN.exec(host)
  if (ipv4 !== null) return isPrivateIPv4(ipv4.slice(1, 5).map(Number))
  if (host === 'localhost' || !host.includes('.')) return true
  for (const suffix of PRIVATE_SUFFIXES) if (host.endsWith(suffix)) return true
  return false
}

function isPrivateIPv4([a, b]: number[]): boolean {
  return (
    a === 127 ||
    a === 10 ||
    (a === 172 && b! >= 16 && b! <= 31) ||
    (a === 192 && b === 168) ||
    (a === 169 && b === 254)
  )
}

function isPrivateIPv6(address: string): boolean {
  const groups = parseIPv6(address)
  if (groups === undefined) return false
  const [g0, g1, g2, g3, g4, g5, g6, g7] = groups as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ]
  const upperZero = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0
  if (upperZero && g5 === 0 && g6 === 0 && g7 === 1) return true // ::1
  if (upperZero && g5 === 0xffff) return isPrivateIPv4([g6 >> 8, g6 & 0xff]) // ::ffff:a.b.c.d
  return (g0 & 0xfe00) === 0xfc00 || (g0 & 0xffc0) === 0xfe80
}

/** The eight 16-bit groups of an IPv6 address as the URL parser serializes it, or `undefined`. */
function parseIPv6(address: string): number[] | undefined {
  const halves = address.split('::')
  if (halves.length > 2) return undefined
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)))
  const head = parse(halves[0]!)
  const tail = halves.length === 2 ? parse(halves[1]!) : []
  const missing = 8 - head.length - tail.length
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined
  const groups = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail]
  return groups.every((group) => Number.isInteger(group) && group >= 0 && group <= 0xffff)
    ? groups
    : undefined
}

/**
 * Compiles a {@link PropagateTo} option once, at setup, into a matcher. Invalid entries throw a
 * `TypeError` naming the option. The matcher never throws: a predicate that throws counts as "no"
 * (headers are withheld, the failure is reported once). The first time headers are withheld from a
 * host, a `diag` warning names the host and the option (at most {@link MAX_REPORTED_HOSTS} hosts).
 *
 * @example const allowed = compilePropagateTo(['*.example.com']); allowed(new URL('https://a.example.com'))
 */
export function compilePropagateTo(
  propagateTo: PropagateTo | undefined,
  optionName = 'propagateTo',
): PropagateToMatcher {
  const test = compileTest(propagateTo, optionName)
  const reportedHosts = new Set<string>()
  return function isPropagationAllowed(url: URL): boolean {
    let allowed: boolean
    try {
      allowed = test(url)
    } catch (error) {
      reportFailure(`${optionName} predicate`, error)
      allowed = false
    }
    if (!allowed) reportWithheld(reportedHosts, url.host, optionName)
    return allowed
  }
}

function reportWithheld(reported: Set<string>, host: string, optionName: string): void {
  if (reported.size > MAX_REPORTED_HOSTS || reported.has(host)) return
  if (reported.size === MAX_REPORTED_HOSTS) {
    // The extra marker makes size exceed the bound, which silences every later host.
    reported.add('\0overflow')
    logger.warn(
      `trace headers withheld from more than ${MAX_REPORTED_HOSTS} hosts; further hosts are not reported`,
    )
    return
  }
  reported.add(host)
  logger.warn(
    `trace headers withheld from ${host}: it is not in the ${optionName} option; add it there to continue traces through it`,
  )
}

const allowAll = () => true

function compileTest(propagateTo: PropagateTo | undefined, optionName: string): (url: URL) => boolean {
  if (propagateTo === undefined) return isPrivateDestination
  if (propagateTo === '*') return allowAll
  if (typeof propagateTo === 'function') return propagateTo
  if (!Array.isArray(propagateTo)) {
    invalidOption(optionName, VALID_VALUES, propagateTo)
  }
  const hosts = new Set<string>() // `host` or `host:port`
  const suffixes: string[] = [] // `.example.com` (port-free) ...
  const suffixPorts: (string | undefined)[] = [] // ... with its pinned port, if any
  const origins = new Set<string>()
  const patterns: RegExp[] = []
  const predicates: ((url: URL) => boolean)[] = []
  for (const entry of propagateTo as readonly unknown[]) {
    if (entry === '*') return allowAll
    if (typeof entry === 'function') predicates.push(entry as (url: URL) => boolean)
    else if (entry instanceof RegExp)
      patterns.push(new RegExp(entry.source, entry.flags.replace(/[gy]/g, '')))
    else if (typeof entry === 'string' && entry.includes('://')) origins.add(parseOrigin(entry, optionName))
    else if (typeof entry === 'string') {
      const { wildcard, host, port } = parseHost(entry, optionName)
      if (wildcard) {
        suffixes.push(`.${host}`)
        suffixPorts.push(port)
      } else hosts.add(port === undefined ? host : `${host}:${port}`)
    } else {
      configError(optionName, `be ${VALID_VALUES}`, `${describeValue(entry)} in the list`)
    }
  }
  return function matchesPropagateTo(url: URL): boolean {
    const hostname = url.hostname.endsWith('.') ? url.hostname.slice(0, -1) : url.hostname
    const port = url.port === '' ? defaultPort(url.protocol) : url.port
    if (hosts.has(hostname) || hosts.has(`${hostname}:${port}`)) return true
    for (let i = 0; i < suffixes.length; i++) {
      const pinned = suffixPorts[i]
      if (hostname.endsWith(suffixes[i]!) && (pinned === undefined || pinned === port)) return true
    }
    if (origins.size > 0 && origins.has(url.origin)) return true
    if (patterns.length > 0) {
      const href = withoutCredentials(url)
      for (const pattern of patterns) if (pattern.test(href)) return true
    }
    for (const predicate of predicates) if (predicate(url) === true) return true
    return false
  }
}

function parseOrigin(entry: string, optionName: string): string {
  let url: URL | undefined
  try {
    url = new URL(entry)
  } catch {
    url = undefined
  }
  if (
    url === undefined ||
    url.origin === 'null' ||
    url.username !== '' ||
    url.password !== '' ||
    url.search !== '' ||
    url.hash !== '' ||
    url.pathname !== '/' ||
    entry.includes('*')
  ) {
    configError(
      optionName,
      'list origins as scheme://host[:port], without credentials, path, query or wildcard',
      // An origin's credentials are secrets: never printed back.
      url !== undefined && (url.username !== '' || url.password !== '')
        ? 'an origin with credentials in the list'
        : `${describeValue(entry)} in the list`,
    )
  }
  return url.origin
}

function parseHost(entry: string, optionName: string): { wildcard: boolean; host: string; port?: string } {
  const match = HOST_PATTERN.exec(entry)
  const port = match?.[3]
  if (match === null || (port !== undefined && Number(port) > 65535)) {
    configError(
      optionName,
      "list hosts as host[:port] or '*.' + domain, or origins",
      `${describeValue(entry)} in the list`,
    )
  }
  // Let the URL parser normalize the host (case, IDN to punycode, IPv4 and IPv6 forms) the same way
  // it normalizes the URLs the matcher will see.
  let host = new URL(`http://${match[2]!}`).hostname
  if (host.endsWith('.')) host = host.slice(0, -1)
  return {
    wildcard: match[1] !== undefined,
    host,
    port: port === undefined ? undefined : String(Number(port)),
  }
}

function defaultPort(protocol: string): string {
  return protocol === 'https:' || protocol === 'wss:'
    ? '443'
    : protocol === 'http:' || protocol === 'ws:'
      ? '80'
      : ''
}

function withoutCredentials(url: URL): string {
  if (url.username === '' && url.password === '') return url.href
  const copy = new URL(url.href)
  copy.username = ''
  copy.password = ''
  return copy.href
}

const compiledOptions = new WeakMap<object, PropagateToMatcher>()
let defaultMatcher: PropagateToMatcher | undefined
let allowAllMatcher: PropagateToMatcher | undefined

/**
 * Whether trace headers may go to `url` under `propagateTo`, compiling each option object once (kept
 * in a `WeakMap`, so it lives as long as the caller's option). For code that receives the option per
 * call, like `injectContext`; a client compiles its option at setup with {@link compilePropagateTo}.
 * Never throws: an invalid option or URL counts as "no" and is reported once.
 *
 * @example if (isPropagationAllowedTo(url, options.propagateTo)) propagation.inject(ctx, headers)
 */
export function isPropagationAllowedTo(url: string | URL, propagateTo: PropagateTo | undefined): boolean {
  try {
    const parsed = typeof url === 'string' ? new URL(url) : url
    return matcherFor(propagateTo)(parsed)
  } catch (error) {
    reportFailure('isPropagationAllowedTo', error)
    return false
  }
}

function matcherFor(propagateTo: PropagateTo | undefined): PropagateToMatcher {
  if (propagateTo === undefined) return (defaultMatcher ??= compilePropagateTo(undefined))
  if (propagateTo === '*') return (allowAllMatcher ??= compilePropagateTo('*'))
  let matcher = compiledOptions.get(propagateTo)
  if (matcher === undefined) {
    matcher = compilePropagateTo(propagateTo)
    compiledOptions.set(propagateTo, matcher)
  }
  return matcher
}
