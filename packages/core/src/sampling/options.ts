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
  type NumberRule,
} from '../internal/validate'

/** How a sampling rule or the default keeps traces: a probability, or adaptive per second. */
export type SampleSpec = number | { perSecond: number }

/** One sampling rule; every field given must match; the first rule that matches decides. */
export interface SamplingRule {
  /** HTTP method, case-insensitive (`GET`). */
  method?: string
  /** Route template (`/users/:id`); needs `decide: 'deferred'`, as the route is known after routing. */
  route?: string
  /** Path prefix matched at a segment boundary (`/health` matches `/health` and `/health/db`). */
  pathPrefix?: string
  /** A request header and the value it must equal (string) or match (RegExp). */
  header?: [name: string, value: string | RegExp]
  /**
   * The response's outcome: `'error'` (a 5xx response or a recorded exception), a status code (`503`)
   * or a class (`'5xx'`). An outcome condition: needs `decide: 'deferred'`, is judged when the response
   * head is written, and applies whatever the rule's position in the list.
   */
  status?: 'error' | number | `${1 | 2 | 3 | 4 | 5}xx`
  /**
   * The request took at least this long (ms): to the first byte of the response when the head is
   * written, then to the server span's end. An outcome condition, like `status`.
   */
  minDurationMs?: number
  /** `0` drops, `0.5` keeps half, `1` keeps all, `{ perSecond: 5 }` is adaptive for this rule. */
  sample: SampleSpec
}

/** One step of a stepped ratio: above `above` requests/s, keep `ratio * factor`. */
export interface SamplingStep {
  /** Requests per second above which this step applies. */
  above: number
  /** Multiplies the default `ratio` (0..1). */
  factor: number
}

/** Sampling options of `setupTracing({ sampling })` or {@link createSampler}. */
export interface SamplingOptions {
  /** When the decision is made: at request start, or deferred until the route and user are known. Default `'start'`. */
  decide?: 'start' | 'deferred'
  /** A trusted incoming `traceparent` decides (keep its sampled bit). Default `true`. */
  respectParent?: boolean
  /** Users whose requests are always kept where this service decides. Default: none. */
  users?: readonly string[] | ((userId: string) => boolean)
  /** Ordered rules; the first that matches decides. Default: none. */
  rules?: readonly SamplingRule[]
  /** Fraction of new traces kept, 0..1. Default `1`. */
  ratio?: number
  /** Adaptive default: kept traces per second to aim for. Default: off (use `ratio`). */
  targetPerSecond?: number
  /** Key of the adaptive state: `'global'` or `'route'` (per route, falls back to method + path prefix). Default `'global'`. */
  adaptiveKey?: 'global' | 'route'
  /**
   * Window of the request-rate moving average that `steps` compare with, in ms. Default `10000`.
   * (`targetPerSecond` follows the gaps of the last 32 requests instead, so it takes in a surge at once.)
   */
  adaptiveWindowMs?: number
  /** Stepped ratio as a simple alternative to `targetPerSecond`. Default: none. */
  steps?: readonly SamplingStep[]
  /** At most this many new sampled traces per second (token bucket), except parent/user/rule keeps. Default: no limit. */
  maxPerSecond?: number
  /**
   * At most this many upgrades per second (token bucket): keeps that override an earlier "no" (an
   * outcome rule, a downstream service's sampled `traceresponse`). Default: `maxPerSecond`'s bucket if
   * set (upgrades share it), else 100.
   */
  maxUpgradesPerSecond?: number
  /** Bound of per-key adaptive state (LRU). Default `1000`. */
  maxAdaptiveKeys?: number
  /** Deferred mode: finished spans held per undecided trace before it is decided early. Default `512`. */
  maxBufferedSpansPerTrace?: number
  /** Deferred mode: undecided traces held at once before the oldest is decided early. Default `1000`. */
  maxPendingTraces?: number
  /** Time source in ms; tests inject a clock. Default `performance.now`-based. */
  clock?: () => number
}

/** Options with every default filled in and every value checked. */
export interface ResolvedSamplingOptions {
  decide: 'start' | 'deferred'
  respectParent: boolean
  users: ((userId: string) => boolean) | undefined
  /** The `users` array form (`undefined` for a function): what HMACs from callers are compared with. */
  userList?: readonly string[]
  rules: readonly SamplingRule[]
  ratio: number
  targetPerSecond: number | undefined
  adaptiveKey: 'global' | 'route'
  adaptiveWindowMs: number
  steps: readonly SamplingStep[]
  maxPerSecond: number | undefined
  /** `undefined` with `maxPerSecond` set: upgrades share its bucket. */
  maxUpgradesPerSecond: number | undefined
  /** Some rule has an outcome condition (`status`, `minDurationMs`). */
  hasOutcomeRules: boolean
  maxAdaptiveKeys: number
  maxBufferedSpansPerTrace: number
  maxPendingTraces: number
  clock: () => number
}

const OPTION_NAMES = new Set<string>([
  'decide',
  'respectParent',
  'users',
  'rules',
  'ratio',
  'targetPerSecond',
  'adaptiveKey',
  'adaptiveWindowMs',
  'steps',
  'maxPerSecond',
  'maxUpgradesPerSecond',
  'maxAdaptiveKeys',
  'maxBufferedSpansPerTrace',
  'maxPendingTraces',
  'clock',
])
const RULE_FIELDS = new Set<string>([
  'method',
  'route',
  'pathPrefix',
  'header',
  'status',
  'minDurationMs',
  'sample',
])
/** Upgrades per second when neither `maxUpgradesPerSecond` nor `maxPerSecond` is given. */
export const DEFAULT_MAX_UPGRADES_PER_SECOND = 100
const STATUS_CLASS = /^[1-5]xx$/
const PROBABILITY: NumberRule = { min: 0, max: 1 }
const POSITIVE: NumberRule = { min: 0, exclusiveMin: true }
const COUNT: NumberRule = { min: 1, integer: true }

const defaultClock = () => performance.now()

/** Fills in defaults and validates; throws a `ConfigError` naming the option and its valid values. */
export function resolveSamplingOptions(options: SamplingOptions = {}): ResolvedSamplingOptions {
  checkObject('sampling', options, 'an object of sampling options')
  checkKeys('sampling', options, OPTION_NAMES)
  const {
    decide = 'start',
    respectParent = true,
    users,
    rules = [],
    ratio = 1,
    targetPerSecond,
    adaptiveKey = 'global',
    adaptiveWindowMs = 10_000,
    steps = [],
    maxPerSecond,
    maxUpgradesPerSecond,
    maxAdaptiveKeys = 1000,
    maxBufferedSpansPerTrace = 512,
    maxPendingTraces = 1000,
    clock = defaultClock,
  } = options

  checkOneOf('sampling.decide', decide, ['start', 'deferred'])
  checkBoolean('sampling.respectParent', respectParent)
  checkNumber('sampling.ratio', ratio, PROBABILITY)
  if (targetPerSecond !== undefined) checkNumber('sampling.targetPerSecond', targetPerSecond, POSITIVE)
  if (maxPerSecond !== undefined) checkNumber('sampling.maxPerSecond', maxPerSecond, POSITIVE)
  if (maxUpgradesPerSecond !== undefined) {
    checkNumber('sampling.maxUpgradesPerSecond', maxUpgradesPerSecond, POSITIVE)
  }
  checkOneOf('sampling.adaptiveKey', adaptiveKey, ['global', 'route'])
  checkNumber('sampling.adaptiveWindowMs', adaptiveWindowMs, POSITIVE)
  checkNumber('sampling.maxAdaptiveKeys', maxAdaptiveKeys, COUNT)
  checkNumber('sampling.maxBufferedSpansPerTrace', maxBufferedSpansPerTrace, COUNT)
  checkNumber('sampling.maxPendingTraces', maxPendingTraces, COUNT)
  checkFunction('sampling.clock', clock, '() => number (ms)')
  if (!Array.isArray(steps)) invalidOption('sampling.steps', 'an array of { above, factor }', steps)
  if (targetPerSecond !== undefined && steps.length > 0) {
    configError(
      'sampling.steps',
      'be left out with sampling.targetPerSecond (adaptive): use one of them',
      'both',
    )
  }
  steps.forEach((step, index) => {
    checkObject(`sampling.steps[${index}]`, step, 'an object { above, factor }')
    checkNumber(`sampling.steps[${index}].above`, step.above, POSITIVE)
    checkNumber(`sampling.steps[${index}].factor`, step.factor, PROBABILITY)
  })
  if (!Array.isArray(rules)) invalidOption('sampling.rules', 'an array of rules', rules)
  rules.forEach((rule, index) => checkRule(rule, index, decide))

  let usersPredicate: ((userId: string) => boolean) | undefined
  let userList: string[] | undefined
  if (typeof users === 'function') {
    usersPredicate = users
  } else if (Array.isArray(users)) {
    const allowed = new Set<string>()
    users.forEach((user, index) => {
      if (typeof user !== 'string') invalidOption(`sampling.users[${index}]`, 'a string user ID', user)
      allowed.add(user)
    })
    usersPredicate = allowed.size > 0 ? (userId) => allowed.has(userId) : undefined
    if (allowed.size > 0) userList = [...allowed]
  } else if (users !== undefined) {
    invalidOption('sampling.users', 'an array of user IDs or a function (userId) => boolean', users)
  }

  return {
    decide,
    respectParent,
    users: usersPredicate,
    userList,
    rules,
    ratio,
    targetPerSecond,
    adaptiveKey,
    adaptiveWindowMs,
    // Highest threshold first, so the first step whose `above` the rate exceeds applies.
    steps: [...steps].sort((a, b) => b.above - a.above),
    maxPerSecond,
    maxUpgradesPerSecond:
      maxUpgradesPerSecond ?? (maxPerSecond === undefined ? DEFAULT_MAX_UPGRADES_PER_SECOND : undefined),
    hasOutcomeRules: rules.some(isOutcomeRule),
    maxAdaptiveKeys,
    maxBufferedSpansPerTrace,
    maxPendingTraces,
    clock,
  }
}

function checkRule(rule: SamplingRule, index: number, decide: string): void {
  const name = `sampling.rules[${index}]`
  checkObject(name, rule, 'a rule object { ..., sample }')
  checkKeys(name, rule, RULE_FIELDS)
  if (rule.method !== undefined && (typeof rule.method !== 'string' || rule.method === '')) {
    invalidOption(`${name}.method`, "an HTTP method such as 'GET'", rule.method)
  }
  if (rule.route !== undefined) {
    if (typeof rule.route !== 'string') {
      invalidOption(`${name}.route`, "a route template such as '/users/:id'", rule.route)
    }
    needsDeferred(`${name}.route`, decide, 'the route is known only after routing')
  }
  if (rule.status !== undefined) {
    const status: unknown = rule.status
    const valid =
      status === 'error' ||
      (typeof status === 'number' && Number.isInteger(status) && status >= 100 && status <= 599) ||
      (typeof status === 'string' && STATUS_CLASS.test(status))
    if (!valid) {
      invalidOption(
        `${name}.status`,
        "'error', a status code from 100 to 599 or a class '1xx'..'5xx'",
        status,
      )
    }
    needsDeferred(`${name}.status`, decide, 'the status is known when the response is written')
  }
  if (rule.minDurationMs !== undefined) {
    checkNumber(`${name}.minDurationMs`, rule.minDurationMs, { min: 0 })
    needsDeferred(`${name}.minDurationMs`, decide, 'the duration is known at the end of the request')
  }
  if (
    rule.pathPrefix !== undefined &&
    (typeof rule.pathPrefix !== 'string' || !rule.pathPrefix.startsWith('/'))
  ) {
    invalidOption(`${name}.pathPrefix`, "a path starting with '/'", rule.pathPrefix)
  }
  if (rule.header !== undefined) {
    const [headerName, value] = Array.isArray(rule.header) ? rule.header : []
    if (typeof headerName !== 'string' || !(typeof value === 'string' || value instanceof RegExp)) {
      invalidOption(`${name}.header`, '[name, string | RegExp]', rule.header)
    }
  }
  const sample = rule.sample
  if (typeof sample === 'number') {
    checkNumber(`${name}.sample`, sample, PROBABILITY)
  } else if (sample !== null && typeof sample === 'object' && Object.keys(sample).join() === 'perSecond') {
    checkNumber(`${name}.sample.perSecond`, sample.perSecond, POSITIVE)
  } else {
    invalidOption(`${name}.sample`, 'a number from 0 to 1 or { perSecond: number }', sample)
  }
}

/** Whether `rule` looks at the request's outcome (status, duration), known only as it is answered. */
export function isOutcomeRule(rule: SamplingRule): boolean {
  return rule.status !== undefined || rule.minDurationMs !== undefined
}

function needsDeferred(name: string, decide: string, why: string): void {
  if (decide !== 'deferred') {
    configError(
      name,
      `go with sampling.decide: 'deferred' (${why}, after a decision at request start)`,
      `sampling.decide ${describeValue(decide)}`,
    )
  }
}
