import { createIdHasher, type IdHasher } from '../correlation/hashing'
import {
  DEFAULT_REQUEST_ID_HEADER,
  describeRequestId,
  parseRequestId,
  REQUEST_ID_RULE,
  type RequestIdPolicy,
} from '../correlation/request-id'
import type { CorrelationPropagation } from '../correlation/propagated'
import { DEFAULT_MAX_SESSIONS, DEFAULT_SESSION_HEADER } from '../correlation/session'
import { logger } from '../internal/diag'
import {
  checkBoolean,
  checkFunction,
  checkKeys,
  checkNumber,
  checkObject,
  checkOneOf,
  configError,
  describeValue,
  invalidOption,
  quoteList,
} from '../internal/validate'
import { resolveResourcesOption, type ResourcesOption } from './resources'

/** Where the session ID comes from. Give at most one of `header`, `cookie`, `from`. */
export interface SessionOptions<Request = unknown> {
  /** Request header carrying the session ID. Default `x-session-id` when no other source is given. */
  header?: string
  /**
   * Cookie carrying the session ID (e.g. `connect.sid`). A session cookie is often a bearer
   * credential: use it with `hashIds`, so the raw value never reaches your tracing backend.
   */
  cookie?: string
  /** Reads the session ID from the request (Express `req`, Koa `ctx`). */
  from?: (request: Request) => string | undefined
  /** Sessions whose operation counters are kept per process (least recently used evicted). Default 10,000. */
  maxSessions?: number
  /**
   * Names the operation (`session.operation`) from the request, e.g. a GraphQL operation name. Default:
   * the span name (`GET /users/:id`, updated when the route becomes known). A result that is not a
   * string of 1-256 characters without control characters falls back to the default.
   */
  operation?: (request: Request) => string | undefined
}

/** Headers recorded as `http.request.header.<name>` / `http.response.header.<name>` span attributes. */
export interface CaptureHeadersOptions {
  /** Request header names to record. Default: none. */
  request?: readonly string[]
  /** Response header names to record. Default: none. */
  response?: readonly string[]
  /**
   * Further header names whose values are recorded as `[REDACTED]`. Always redacted: `authorization`,
   * `proxy-authorization`, `cookie`, `set-cookie`, `x-api-key`.
   */
  redact?: readonly string[]
}

/**
 * Where a request's ID comes from and where it goes. A valid ID is 1-128 characters of
 * `[A-Za-z0-9._:-]`, incoming or generated alike.
 */
export interface RequestIdOptions<Request = unknown> {
  /** Header the ID is read from, echoed in, and forwarded in by the traced clients. Default `x-request-id`. */
  header?: string
  /**
   * Use the caller's ID when it is valid (`true`, default), never (`false`: every request gets a new
   * ID, so a caller cannot choose the ID your logs are searched by), or decide per request. A function
   * that throws counts as `false`. Independent of `trustIncoming`, which governs the trace context.
   */
  accept?: boolean | ((request: Request) => boolean)
  /**
   * Makes a new ID. Default `crypto.randomUUID()`. Called once at setup to check it; an invalid ID it
   * returns later is replaced by a UUID and reported once.
   */
  generate?: () => string
  /** Set the ID on the response. Default `true`. */
  echo?: boolean
}

/** Records an HMAC-SHA256 of session and user IDs on spans instead of the raw values. */
export interface HashIdsOptions {
  /** Secret key, at least 16 bytes; the same on every service so hashes match across a trace. */
  key: string | Uint8Array
}

/** What a request's correlation may travel with: `'session'` (ID, operation name and number), `'user'`. */
export type PropagatedCorrelationKind = 'session' | 'user'

/** Session and user correlation across services, in W3C Baggage. */
export interface CorrelationOptions {
  /**
   * Correlation that crosses services, both ways: the traced clients add it to the `baggage` header of
   * calls to `propagateTo` destinations made while handling a request, and it is accepted from callers
   * `trustIncoming` trusts (and ignored from the others). Values are HMACs marked `hashed` with
   * `hashIds`, so a downstream never hashes them twice. Default: `[]` (nothing travels).
   */
  propagate?: readonly PropagatedCorrelationKind[]
}

/**
 * Options of `traceweave()` for Express and Koa. All optional; the defaults are listed on each field
 * and applied in one place ({@link resolveServerOptions}). Invalid values throw at setup.
 */
export interface TraceweaveOptions<Request = unknown> {
  /**
   * Request-ID policy: header, whether a caller's ID is accepted, the generator, the echo; `false` for
   * no request ID at all (none read, generated, echoed, recorded or forwarded). Default: read and
   * validate `x-request-id`, else a UUID, echoed.
   */
  requestId?: RequestIdOptions<Request> | false
  /** Alias of `requestId.header`: header the request ID is read from and echoed in. Default `x-request-id`. */
  requestIdHeader?: string
  /** Session source and counter bound, or `false` for no sessions. Default: header `x-session-id`. */
  session?: SessionOptions<Request> | false
  /** Reads the user ID at request start (from a header or a decoded token). Later: `identifyUser()`. */
  user?: (request: Request) => string | undefined
  /** Record HMACs of session and user IDs instead of the raw IDs. Default: off (raw IDs). */
  hashIds?: HashIdsOptions
  /**
   * Carry the session and user to downstream services and accept them from trusted callers, so every
   * span of a request, in every service, has the same `session.*` and `user.id`. Default: off.
   */
  correlation?: CorrelationOptions
  /**
   * Continue the caller's trace (`true`, default), always start a new one linked to the caller
   * (`false`), or decide per request.
   */
  trustIncoming?: boolean | ((request: Request) => boolean)
  /** Requests that get no span and no correlation: exact paths, path patterns, or a predicate. */
  ignore?: ReadonlyArray<string | RegExp> | ((request: Request) => boolean)
  /** Headers to record on the server span, with redaction. Default: none. */
  captureHeaders?: CaptureHeadersOptions
  /**
   * Send the `traceresponse` header (W3C Trace Context): the server span's IDs, the sampling decision as
   * it stands when the head is written (a deferred one is judged then), and the caller's random bit.
   * Traced clients read it to follow a callee's upgrade. Default `false`.
   */
  traceResponse?: boolean
  /**
   * Add the trace context metric to `Server-Timing` (`trace;desc=00-<trace-id>-<span-id>-<flags>`), as
   * Trace Context's response format describes: the same value as `traceresponse`. Default `false`.
   */
  serverTiming?: boolean
  /** Add the request ID header (and `traceresponse`) to `Access-Control-Expose-Headers`. Default `false`. */
  exposeHeaders?: boolean
  /**
   * When OpenTelemetry's http instrumentation already opened a server span for the request: `'enrich'`
   * it (default) or `'nest'` our own server span under it.
   */
  existingServerSpan?: 'enrich' | 'nest'
  /** Record `http.server.request.duration` when a MeterProvider is registered. Default `true`. */
  metrics?: boolean
  /**
   * Run the events of `req` and `res` in the request's context, so listeners added by code that reads
   * the request stream itself (multipart parsers such as multer/busboy, a raw `req.on('data')`) and the
   * handlers they call see the request's span and IDs. Common body parsers (body-parser, raw-body,
   * co-body) keep the context themselves. Default: `true` in Koa, where it costs nothing measurable;
   * `false` in Express, which replaces the prototype of every request so that attaching anything to
   * `req`/`res` costs about 3 µs per request.
   */
  bindStreams?: boolean
  /**
   * Record resource figures on server spans of sampled requests (an unsampled request pays nothing;
   * under `decide: 'deferred'` an undecided request is recorded, so it pays):
   * - `true`: the PROCESS's CPU time, heap and external memory, event-loop utilization and requests
   *   in flight while the request was open (`traceweave.process.*`; about 10 µs per span), plus
   *   the latest `setupTracing({ resources })` sample (CPU percent, RSS).
   * - `'attributed'`: the same, plus the request's own CPU time (`traceweave.request.cpu_us`): the
   *   time the JS thread spent in callbacks of this request's async context. It enables an async hook
   *   for the whole process, which makes every `await` and callback dearer (see the README), so it is
   *   for debugging.
   * Default `false`.
   */
  resources?: ResourcesOption
}

/** A header to capture: its lowercase name, the attribute it becomes, and whether it is redacted. */
export interface CapturedHeader {
  readonly name: string
  readonly attribute: string
  readonly redacted: boolean
}

/** Session source after validation. */
export type SessionSource<Request> =
  | { readonly kind: 'header'; readonly name: string }
  | { readonly kind: 'cookie'; readonly name: string }
  | { readonly kind: 'function'; readonly from: (request: Request) => string | undefined }

/** Options with defaults applied and values checked; built once per `traceweave()` call. */
export interface ResolvedServerOptions<Request> {
  /** `undefined` with `requestId: false`. */
  readonly requestId: RequestIdPolicy<Request> | undefined
  readonly session: SessionSource<Request> | undefined
  readonly maxSessions: number
  readonly sessionOperation: ((request: Request) => string | undefined) | undefined
  readonly user: ((request: Request) => string | undefined) | undefined
  readonly hasher: IdHasher | undefined
  /** `undefined` when nothing is propagated (the default). */
  readonly correlation: CorrelationPropagation | undefined
  readonly trustIncoming: boolean | ((request: Request) => boolean)
  readonly ignorePaths: ReadonlySet<string>
  readonly ignorePatterns: readonly RegExp[]
  readonly ignoreRequest: ((request: Request) => boolean) | undefined
  readonly captureRequestHeaders: readonly CapturedHeader[]
  readonly captureResponseHeaders: readonly CapturedHeader[]
  readonly traceResponse: boolean
  readonly serverTiming: boolean
  readonly exposeHeaders: boolean
  readonly existingServerSpan: 'enrich' | 'nest'
  readonly metrics: boolean
  /** `undefined`: the adapter's default. */
  readonly bindStreams: boolean | undefined
  readonly resources: ResourcesOption
}

/** Header values that are always redacted when captured. */
export const ALWAYS_REDACTED_HEADERS: readonly string[] = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
]

const OPTION_KEYS = new Set([
  'requestId',
  'requestIdHeader',
  'session',
  'user',
  'hashIds',
  'correlation',
  'trustIncoming',
  'ignore',
  'captureHeaders',
  'traceResponse',
  'serverTiming',
  'exposeHeaders',
  'existingServerSpan',
  'metrics',
  'bindStreams',
  'resources',
])
const REQUEST_ID_KEYS = new Set(['header', 'accept', 'generate', 'echo'])
const SESSION_KEYS = new Set(['header', 'cookie', 'from', 'maxSessions', 'operation'])
const CAPTURE_KEYS = new Set(['request', 'response', 'redact'])
const HASH_KEYS = new Set(['key'])
const CORRELATION_KEYS = new Set(['propagate'])
const PROPAGATED_KINDS: readonly PropagatedCorrelationKind[] = ['session', 'user']

// RFC 9110 token: what a header name may be.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
// RFC 6265 cookie-name is a token as well.
const COOKIE_NAME = HEADER_NAME

/**
 * Applies the defaults and checks every option, throwing a `ConfigError` that names the option and
 * its valid values. Called once per `traceweave()`.
 */
export function resolveServerOptions<Request>(
  options: TraceweaveOptions<Request> = {},
): ResolvedServerOptions<Request> {
  checkObject('traceweave(options)', options)
  checkKeys('traceweave(options)', options, OPTION_KEYS)
  const {
    requestId,
    requestIdHeader,
    session,
    user,
    hashIds,
    correlation,
    trustIncoming = true,
    ignore,
    captureHeaders,
    traceResponse = false,
    serverTiming = false,
    exposeHeaders = false,
    existingServerSpan = 'enrich',
    metrics = true,
    bindStreams,
    resources,
  } = options

  const requestIdPolicy = resolveRequestIdPolicy(requestId, requestIdHeader)
  const hasher = resolveHasher(hashIds)
  const sessionResolved = resolveSession(session)
  const correlationResolved = resolveCorrelation(correlation, hasher)
  if (sessionResolved.source?.kind === 'cookie' && hasher === undefined) {
    const sent = correlationResolved?.session === true ? ' and sent to downstream services in baggage' : ''
    logger.warn(
      `session.cookie '${sessionResolved.source.name}' is recorded raw on spans${sent}; a session cookie is often a credential, set hashIds to record an HMAC instead`,
    )
  }
  if (user !== undefined) checkFunction('user', user, '(request) => string | undefined')
  if (typeof trustIncoming !== 'boolean' && typeof trustIncoming !== 'function') {
    invalidOption('trustIncoming', 'true, false or a function (request) => boolean', trustIncoming)
  }
  const ignoreResolved = resolveIgnore(ignore)
  const capture = resolveCapture(captureHeaders)
  checkBoolean('traceResponse', traceResponse)
  checkBoolean('serverTiming', serverTiming)
  checkBoolean('exposeHeaders', exposeHeaders)
  checkBoolean('metrics', metrics)
  if (bindStreams !== undefined) checkBoolean('bindStreams', bindStreams)
  checkOneOf('existingServerSpan', existingServerSpan, ['enrich', 'nest'])
  return {
    requestId: requestIdPolicy,
    session: sessionResolved.source,
    maxSessions: sessionResolved.maxSessions,
    sessionOperation: sessionResolved.operation,
    user,
    hasher,
    correlation: correlationResolved,
    trustIncoming,
    ...ignoreResolved,
    ...capture,
    traceResponse,
    serverTiming,
    exposeHeaders,
    existingServerSpan,
    metrics,
    bindStreams,
    resources: resolveResourcesOption(resources),
  }
}

function resolveRequestIdPolicy<Request>(
  requestId: RequestIdOptions<Request> | false | undefined,
  requestIdHeader: string | undefined,
): RequestIdPolicy<Request> | undefined {
  if (requestId === false) {
    if (requestIdHeader !== undefined) {
      configError(
        'requestIdHeader',
        'be left out with requestId: false (it would have no effect)',
        describeValue(requestIdHeader),
      )
    }
    return undefined
  }
  const options = requestId ?? {}
  if (requestId !== undefined) {
    checkObject('requestId', requestId, 'an object { header, accept, generate, echo } or false')
    checkKeys('requestId', requestId, REQUEST_ID_KEYS)
  }
  const { header, accept = true, generate, echo = true } = options
  if (header !== undefined && requestIdHeader !== undefined) {
    configError(
      'requestIdHeader',
      'be left out with requestId.header (it is an alias of it): set only one of them',
      'both',
    )
  }
  if (typeof accept !== 'boolean' && typeof accept !== 'function') {
    invalidOption('requestId.accept', 'true, false or a function (request) => boolean', accept)
  }
  checkBoolean('requestId.echo', echo)
  if (generate !== undefined) checkGenerator(generate)
  return {
    header:
      header !== undefined
        ? headerName(header, 'requestId.header')
        : headerName(requestIdHeader ?? DEFAULT_REQUEST_ID_HEADER, 'requestIdHeader'),
    accept,
    generate,
    echo,
  }
}

/** A generator is called once here, so one that cannot make a valid ID fails at setup, not per request. */
function checkGenerator(generate: unknown): void {
  const expected = `a function () => string returning ${REQUEST_ID_RULE}`
  if (typeof generate !== 'function') invalidOption('requestId.generate', expected, generate)
  let sample: unknown
  try {
    sample = generate()
  } catch (error) {
    const message = error instanceof Error ? error.message : error
    configError(
      'requestId.generate',
      `be ${expected}`,
      `a function that threw at setup: ${describeValue(message)}`,
    )
  }
  if (parseRequestId(sample) === undefined) {
    configError(
      'requestId.generate',
      `be ${expected}`,
      `a function that returned ${describeRequestId(sample)} at setup`,
    )
  }
}

function resolveHasher(hashIds: HashIdsOptions | undefined): IdHasher | undefined {
  if (hashIds === undefined) return undefined
  checkObject('hashIds', hashIds, 'an object { key }')
  checkKeys('hashIds', hashIds, HASH_KEYS)
  return createIdHasher(hashIds.key, 'hashIds.key')
}

function resolveCorrelation(
  correlation: CorrelationOptions | undefined,
  hasher: IdHasher | undefined,
): CorrelationPropagation | undefined {
  if (correlation === undefined) return undefined
  checkObject('correlation', correlation, 'an object { propagate }')
  checkKeys('correlation', correlation, CORRELATION_KEYS)
  const { propagate = [] } = correlation
  const valid = `an array of ${quoteList(PROPAGATED_KINDS)}`
  if (!Array.isArray(propagate)) invalidOption('correlation.propagate', valid, propagate)
  for (const kind of propagate as unknown[]) {
    if (!PROPAGATED_KINDS.includes(kind as PropagatedCorrelationKind)) {
      configError('correlation.propagate', `be ${valid}`, `${describeValue(kind)} in the list`)
    }
  }
  if (propagate.length === 0) return undefined
  return Object.freeze({ session: propagate.includes('session'), user: propagate.includes('user'), hasher })
}

function resolveSession<Request>(session: SessionOptions<Request> | false | undefined): {
  source: SessionSource<Request> | undefined
  maxSessions: number
  operation?: (request: Request) => string | undefined
} {
  if (session === false) return { source: undefined, maxSessions: DEFAULT_MAX_SESSIONS }
  if (session === undefined) {
    return { source: { kind: 'header', name: DEFAULT_SESSION_HEADER }, maxSessions: DEFAULT_MAX_SESSIONS }
  }
  checkObject('session', session, 'an object { header | cookie | from, maxSessions, operation } or false')
  checkKeys('session', session, SESSION_KEYS)
  const { header, cookie, from, maxSessions = DEFAULT_MAX_SESSIONS, operation } = session
  if (operation !== undefined)
    checkFunction('session.operation', operation, '(request) => string | undefined')
  const given = [header, cookie, from].filter((source) => source !== undefined).length
  if (given > 1) {
    configError(
      'session',
      'have one source: set only one of session.header, session.cookie, session.from',
      `${given} of them`,
    )
  }
  checkNumber('session.maxSessions', maxSessions, { min: 1, integer: true })
  if (from !== undefined) {
    checkFunction('session.from', from, '(request) => string | undefined')
    return { source: { kind: 'function', from }, maxSessions, operation }
  }
  if (cookie !== undefined) {
    if (typeof cookie !== 'string' || !COOKIE_NAME.test(cookie)) {
      invalidOption('session.cookie', 'a cookie name (an RFC 6265 token)', cookie)
    }
    return { source: { kind: 'cookie', name: cookie }, maxSessions, operation }
  }
  return {
    source: { kind: 'header', name: headerName(header ?? DEFAULT_SESSION_HEADER, 'session.header') },
    maxSessions,
    operation,
  }
}

function resolveIgnore<Request>(ignore: TraceweaveOptions<Request>['ignore']): {
  ignorePaths: ReadonlySet<string>
  ignorePatterns: readonly RegExp[]
  ignoreRequest: ((request: Request) => boolean) | undefined
} {
  if (ignore === undefined) return { ignorePaths: new Set(), ignorePatterns: [], ignoreRequest: undefined }
  if (typeof ignore === 'function')
    return { ignorePaths: new Set(), ignorePatterns: [], ignoreRequest: ignore }
  if (!Array.isArray(ignore)) {
    invalidOption(
      'ignore',
      "an array of paths starting with '/' and RegExps, or a function (request) => boolean",
      ignore,
    )
  }
  const paths = new Set<string>()
  const patterns: RegExp[] = []
  for (const entry of ignore) {
    if (typeof entry === 'string' && entry.startsWith('/')) paths.add(entry)
    else if (entry instanceof RegExp) {
      // A global or sticky RegExp keeps lastIndex between calls and would match every other request.
      if (entry.global || entry.sticky) {
        configError('ignore', 'hold RegExps without the g or y flag', describeValue(entry))
      }
      patterns.push(entry)
    } else {
      configError(
        'ignore',
        "be an array of paths starting with '/' and RegExps",
        `${describeValue(entry)} in the list`,
      )
    }
  }
  return { ignorePaths: paths, ignorePatterns: patterns, ignoreRequest: undefined }
}

function resolveCapture(capture: CaptureHeadersOptions | undefined): {
  captureRequestHeaders: readonly CapturedHeader[]
  captureResponseHeaders: readonly CapturedHeader[]
} {
  if (capture === undefined) return { captureRequestHeaders: [], captureResponseHeaders: [] }
  checkObject('captureHeaders', capture, 'an object { request, response, redact }')
  checkKeys('captureHeaders', capture, CAPTURE_KEYS)
  const redacted = new Set(ALWAYS_REDACTED_HEADERS)
  for (const name of headerList(capture.redact, 'captureHeaders.redact')) redacted.add(name)
  const build = (names: readonly string[], prefix: string): CapturedHeader[] =>
    names.map((name) => ({ name, attribute: `${prefix}${name}`, redacted: redacted.has(name) }))
  return {
    captureRequestHeaders: build(
      headerList(capture.request, 'captureHeaders.request'),
      'http.request.header.',
    ),
    captureResponseHeaders: build(
      headerList(capture.response, 'captureHeaders.response'),
      'http.response.header.',
    ),
  }
}

function headerList(names: readonly string[] | undefined, optionName: string): string[] {
  if (names === undefined) return []
  if (!Array.isArray(names)) invalidOption(optionName, 'an array of header names', names)
  return [...new Set(names.map((name) => headerName(name, optionName)))]
}

function headerName(name: unknown, optionName: string): string {
  if (typeof name !== 'string' || !HEADER_NAME.test(name)) {
    invalidOption(optionName, 'a header name (an RFC 9110 token)', name)
  }
  return name.toLowerCase()
}
