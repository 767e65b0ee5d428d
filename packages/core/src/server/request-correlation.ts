import type { IncomingHttpHeaders } from 'node:http'
import type { PropagatedCorrelation } from '../correlation/propagated'
import type { RequestState } from '../correlation/request-state'
import { parseSessionId, readCookie, SessionCounters } from '../correlation/session'
import { applyUserId, ATTR_USER_ID, parseUserId } from '../correlation/user'
import { failOpen } from '../internal/guard'
import { ATTR_SESSION_ID, ATTR_SESSION_OPERATION, ATTR_SESSION_OPERATION_NUMBER } from './attributes'
import type { ResolvedServerOptions } from './options'

/**
 * Who a request belongs to, as the options say to read it: the session (header, cookie or function,
 * counted per session), the user, and the session and user a trusted caller propagated. Each lands on
 * the request record and in its correlation attributes, hashed when the app set a hasher.
 */
export class RequestCorrelation<Request> {
  private readonly sessions: SessionCounters

  constructor(private readonly options: ResolvedServerOptions<Request>) {
    this.sessions = new SessionCounters(options.maxSessions, options.hasher)
  }

  /**
   * The session from the `session` option's source, numbered by this process's count of it;
   * `operation` names the request unless the `sessionOperation` option gives a valid name.
   */
  readSession(state: RequestState, headers: IncomingHttpHeaders, request: Request, operation: string): void {
    const source = this.options.session
    if (source === undefined) return
    let raw: unknown
    if (source.kind === 'header') raw = headers[source.name]
    else if (source.kind === 'cookie') raw = readCookie(headers.cookie, source.name)
    else raw = failOpen('options.session.from', () => source.from(request), undefined)
    const sessionId = parseSessionId(raw)
    if (sessionId === undefined) return
    const name = this.options.sessionOperation
    // A custom name (parsed like a user ID: bounded, no control characters) is kept as it is.
    if (name !== undefined)
      operation =
        parseUserId(failOpen('options.session.operation', () => name(request), undefined)) ?? operation
    const entry = this.sessions.next(sessionId)
    state.sessionId = sessionId
    state.sessionOperation = operation
    state.sessionOperationNumber = entry.count
    const attributes = state.correlationAttributes
    attributes[ATTR_SESSION_ID] = entry.attributeValue
    attributes[ATTR_SESSION_OPERATION] = operation
    attributes[ATTR_SESSION_OPERATION_NUMBER] = entry.count
  }

  /** The user from the `user` option, when it returns a valid ID. */
  readUser(state: RequestState, request: Request): void {
    const read = this.options.user
    if (read === undefined) return
    const userId = parseUserId(failOpen('options.user', () => read(request), undefined))
    if (userId === undefined) return
    state.userId = userId
    state.correlationAttributes[ATTR_USER_ID] = this.recorded(userId, false)
  }

  /** A user named during the request (`identifyUser()`): on the record and every open span. */
  userKnown(state: RequestState, userId: string): void {
    applyUserId(state, userId, this.recorded(userId, false))
  }

  /** A trusted caller's session and user, as sent: hashed here only if they are not HMACs already. */
  applyPropagated(state: RequestState, received: PropagatedCorrelation, operation: string): void {
    const attributes = state.correlationAttributes
    if (received.sessionId !== undefined && received.sessionOperationNumber !== undefined) {
      const hashed = received.sessionHashed === true
      state.sessionId = received.sessionId
      if (hashed) state.sessionIdHashed = true
      if (received.sessionOperation !== undefined) state.sessionOperationFromCaller = true
      state.sessionOperation = received.sessionOperation ?? operation
      state.sessionOperationNumber = received.sessionOperationNumber
      attributes[ATTR_SESSION_ID] = this.recorded(received.sessionId, hashed)
      attributes[ATTR_SESSION_OPERATION] = state.sessionOperation
      attributes[ATTR_SESSION_OPERATION_NUMBER] = received.sessionOperationNumber
    }
    if (received.userId !== undefined) {
      const hashed = received.userHashed === true
      state.userId = received.userId
      if (hashed) state.userIdHashed = true
      attributes[ATTR_USER_ID] = this.recorded(received.userId, hashed)
    }
  }

  /** An ID as it is recorded: through the app's hasher when one is set, unless it is an HMAC already. */
  private recorded(id: string, alreadyHashed: boolean): string {
    const hasher = this.options.hasher
    return alreadyHashed || hasher === undefined ? id : hasher(id)
  }
}
