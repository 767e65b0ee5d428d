import { context, type Context } from '@opentelemetry/api'
import { getRequestState, type RequestState } from './request-state'
import { forEachOpenSpan } from './span-processor'

/** Span attribute carrying the user ID (or its HMAC with the `hashIds` option). */
export const ATTR_USER_ID = 'user.id'

/** Longest user ID accepted. */
export const MAX_USER_ID_LENGTH = 256

// C0 controls, DEL and C1 controls: these would let a user ID forge log lines or break exporters.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/

/**
 * A user ID if it is a non-empty string of at most 256 characters without control characters (emails
 * are fine), otherwise `undefined`. Never throws.
 *
 * @example parseUserId('ada@example.com') // 'ada@example.com'
 */
export function parseUserId(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_USER_ID_LENGTH) return undefined
  return CONTROL_CHARACTER.test(value) ? undefined : value
}

/**
 * Writes a user into the request record and onto every span of the request still open (the server
 * span included). `attributeValue` is what spans get: the ID itself or its HMAC.
 */
export function applyUserId(state: RequestState, userId: string, attributeValue: string): void {
  state.userId = userId
  if (state.userIdHashed === true) state.userIdHashed = false
  state.correlationAttributes[ATTR_USER_ID] = attributeValue
  forEachOpenSpan(state, (span) => span.setAttribute(ATTR_USER_ID, attributeValue))
}

/**
 * Tells traceweave who the current request's user is, once the app knows (after its auth
 * middleware). The server span, every span of the request still open and every span started later get
 * `user.id`. Returns `false`, changing nothing, outside a traced request or for an invalid ID.
 *
 * @example app.use((req, res, next) => { identifyUser(req.user.id); next() })
 */
export function identifyUser(userId: string, ctx: Context = context.active()): boolean {
  const state = getRequestState(ctx)
  const valid = parseUserId(userId)
  if (state === undefined || valid === undefined) return false
  // A record the server lifecycle created: it hashes the ID as configured. Otherwise as it is.
  const hooks = state.serverHooks
  if (hooks !== undefined) hooks.userKnown(state, valid)
  else applyUserId(state, valid, valid)
  return true
}
