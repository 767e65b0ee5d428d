import { randomUUID } from 'node:crypto'
import type { Context } from '@opentelemetry/api'
import type { IncomingHttpHeaders } from 'node:http'
import { warnOnce } from '../internal/diag'
import { reportFailure } from '../internal/guard'
import { getRequestState } from './request-state'

/** Header the request ID is read from and echoed in, unless the `requestId.header` option says otherwise. */
export const DEFAULT_REQUEST_ID_HEADER = 'x-request-id'

/** Longest request ID accepted from a caller; longer ones are replaced. */
export const MAX_REQUEST_ID_LENGTH = 128

/** What a valid request ID is, for error messages. */
export const REQUEST_ID_RULE = '1-128 characters of [A-Za-z0-9._:-]'

// Anchored, one character class, no alternation: linear on any input.
const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/

/**
 * A caller's request ID if it is 1-128 characters of `[A-Za-z0-9._:-]`, otherwise `undefined`.
 * Repeated headers (an array) are refused: we cannot tell which one the caller meant. Never throws.
 *
 * @example parseRequestId('req-42') // 'req-42'
 */
export function parseRequestId(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > MAX_REQUEST_ID_LENGTH) return undefined
  return REQUEST_ID_PATTERN.test(value) ? value : undefined
}

/**
 * The request-ID policy of one middleware, compiled once at setup from the `requestId` option.
 * `requestId: false` compiles to no policy at all.
 */
export interface RequestIdPolicy<Request> {
  /** Lowercase header the ID is read from (when accepted) and echoed in. */
  readonly header: string
  /** Whether a caller's ID is used: always, never, or per request (a throw counts as `false`). */
  readonly accept: boolean | ((request: Request) => boolean)
  /** The application's generator; `undefined` for the built-in `crypto.randomUUID()`. */
  readonly generate: (() => string) | undefined
  /** Whether the ID is set on the response. */
  readonly echo: boolean
}

/**
 * The request's ID under `policy`: the caller's when the policy accepts it and it is valid, otherwise
 * a generated one, itself validated. Never throws; runs on every request, so no closure is built.
 */
export function resolveRequestId<Request>(
  policy: RequestIdPolicy<Request>,
  headers: IncomingHttpHeaders,
  request: Request,
): string {
  if (acceptsIncoming(policy.accept, request)) {
    const incoming = parseRequestId(headers[policy.header])
    if (incoming !== undefined) return incoming
  }
  return policy.generate === undefined ? randomUUID() : generateRequestId(policy.generate)
}

function acceptsIncoming<Request>(
  accept: boolean | ((request: Request) => boolean),
  request: Request,
): boolean {
  if (typeof accept === 'boolean') return accept
  try {
    return accept(request) === true
  } catch (error) {
    // A policy that throws must not let a spoofed ID in: treat the caller as not accepted.
    reportFailure('options.requestId.accept', error)
    return false
  }
}

/**
 * An ID from the application's generator when it is valid (the rule incoming IDs follow), otherwise
 * a UUID; the first invalid ID and the first throw are reported, never the value itself.
 */
export function generateRequestId(generate: () => string): string {
  let id: unknown
  try {
    id = generate()
  } catch (error) {
    reportFailure('options.requestId.generate', error)
    return randomUUID()
  }
  const valid = parseRequestId(id)
  if (valid !== undefined) return valid
  warnOnce(
    'options.requestId.generate.invalid',
    `requestId.generate returned ${describeRequestId(id)}, not a request ID (${REQUEST_ID_RULE}); such IDs are replaced by crypto.randomUUID()`,
  )
  return randomUUID()
}

/** Names what a generator returned without echoing it (it could be anything, of any size). */
export function describeRequestId(value: unknown): string {
  if (typeof value !== 'string') return value === null ? 'null' : typeof value
  return value.length === 0 ? 'an empty string' : `a string of ${value.length} characters`
}

/**
 * The request ID of the request being handled (validated from `X-Request-Id` or generated), or
 * `undefined` outside a traced request or with `requestId: false`. Put it on log lines; the client
 * forwards it downstream.
 *
 * @example logger.info({ requestId: getRequestId() }, 'order placed')
 */
export function getRequestId(ctx?: Context): string | undefined {
  return getRequestState(ctx)?.requestId
}
