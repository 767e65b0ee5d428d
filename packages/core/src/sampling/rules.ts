import type { IdHasher } from '../correlation/hashing'
import type { SampleSpec, SamplingRule } from './options'
import { probabilityToThreshold, type Threshold } from './threshold'

/** What a rule or the user list can look at: the request as known at the moment of the decision. */
export interface SamplingInput {
  method?: string
  path?: string
  route?: string
  headers?: Readonly<Record<string, string | string[] | undefined>>
  userId?: string
  /**
   * `userId` is an HMAC from a trusted caller's baggage: the user list is compared by HMAC with this
   * hasher (the middleware's `hashIds`), and a `users` function is not asked (it expects raw IDs).
   */
  userIdHashedWith?: IdHasher | null
  /** The response status, once the head is written (outcome rules). */
  status?: number
  /** An exception was recorded on the request (outcome rules). */
  error?: boolean
  /** Time since the request started, in ms (outcome rules: `minDurationMs`). */
  elapsedMs?: number
}

/** Why an outcome rule kept a request: its `status` condition, or else its `minDurationMs`. */
export type OutcomeReason = 'error' | 'duration'

/** A rule compiled once at setup: lowercased names, precomputed threshold. */
export interface CompiledRule {
  readonly index: number
  readonly sample: { kind: 'ratio'; threshold: Threshold | undefined } | { kind: 'perSecond'; target: number }
  /** Set for outcome rules (`status`, `minDurationMs`): what a keep by this rule is counted as. */
  readonly outcome: OutcomeReason | undefined
  matches(input: SamplingInput): boolean
}

/** Compiles the rules once, so a decision does no string building or regex construction. */
export function compileRules(rules: readonly SamplingRule[]): CompiledRule[] {
  return rules.map((rule, index) => compileRule(rule, index))
}

function compileRule(rule: SamplingRule, index: number): CompiledRule {
  const method = rule.method?.toUpperCase()
  const route = rule.route
  const prefix = rule.pathPrefix?.replace(/\/+$/, '') // '/health/' and '/health' mean the same
  const headerName = rule.header?.[0].toLowerCase()
  const headerValue = rule.header?.[1]
  const status = compileStatus(rule.status)
  const minDurationMs = rule.minDurationMs
  return {
    index,
    sample: compileSample(rule.sample),
    outcome: status !== undefined ? 'error' : minDurationMs !== undefined ? 'duration' : undefined,
    matches(input) {
      if (status !== undefined && !status(input)) return false
      if (minDurationMs !== undefined && !((input.elapsedMs ?? -1) >= minDurationMs)) return false
      if (method !== undefined && input.method?.toUpperCase() !== method) return false
      if (route !== undefined && input.route !== route) return false
      if (prefix !== undefined && !hasPathPrefix(input.path, prefix)) return false
      if (headerName !== undefined) {
        const raw = input.headers?.[headerName]
        const value = Array.isArray(raw) ? raw.join(', ') : raw
        if (value === undefined) return false
        if (typeof headerValue === 'string' ? value !== headerValue : !safeTest(headerValue!, value))
          return false
      }
      return true
    },
  }
}

/** The `status` condition as a test of the input; `undefined` when the rule has none. */
function compileStatus(status: SamplingRule['status']): ((input: SamplingInput) => boolean) | undefined {
  if (status === undefined) return undefined
  if (status === 'error') return (input) => input.error === true || (input.status ?? 0) >= 500
  if (typeof status === 'number') return (input) => input.status === status
  const low = Number(status[0]) * 100
  return (input) => input.status !== undefined && input.status >= low && input.status < low + 100
}

function compileSample(sample: SampleSpec): CompiledRule['sample'] {
  if (typeof sample === 'number') {
    return { kind: 'ratio', threshold: sample > 0 ? probabilityToThreshold(sample) : undefined }
  }
  return { kind: 'perSecond', target: sample.perSecond }
}

/** `/health` matches `/health`, `/health/db` and `/health?x`, not `/healthy`. */
function hasPathPrefix(path: string | undefined, prefix: string): boolean {
  if (path === undefined) return false
  if (prefix === '') return true
  if (!path.startsWith(prefix)) return false
  const next = path.charCodeAt(prefix.length)
  return Number.isNaN(next) || next === 47 /* / */ || next === 63 /* ? */
}

function safeTest(pattern: RegExp, value: string): boolean {
  // A global or sticky RegExp keeps lastIndex between calls; reset it so every request is judged alike.
  pattern.lastIndex = 0
  return pattern.test(value)
}
