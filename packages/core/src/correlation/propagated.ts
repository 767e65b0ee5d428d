import { propagation, type Context } from '@opentelemetry/api'
import { formatBaggage, parseBaggage, type BaggageMember } from '../propagation/baggage'
import { warnOnce } from '../internal/diag'
import type { IdHasher } from './hashing'
import type { RequestState } from './request-state'
import { parseSessionId } from './session'
import { parseUserId } from './user'

/*
 * Session and user correlation across services (`correlation: { propagate }`), in W3C Baggage. The
 * keys mirror the span attributes they fill; a value that is an HMAC (`hashIds`) carries the `hashed`
 * property, so a downstream records it as it is instead of hashing it a second time.
 */

/** Every baggage key traceweave writes starts with this; such members never come from the app. */
export const CORRELATION_BAGGAGE_PREFIX = 'traceweave.'
/** Baggage key of the session ID (`session.id`): the raw ID, or its HMAC with `;hashed`. */
export const BAGGAGE_SESSION_ID = 'traceweave.session.id'
/** Baggage key of the session operation's name (`session.operation`), e.g. `GET /checkout`. */
export const BAGGAGE_SESSION_OPERATION = 'traceweave.session.operation'
/** Baggage key of the session operation's number (`session.operation_number`), a positive integer. */
export const BAGGAGE_SESSION_OPERATION_NUMBER = 'traceweave.session.operation_number'
/** Baggage key of the user ID (`user.id`): the raw ID, or its HMAC with `;hashed`. */
export const BAGGAGE_USER_ID = 'traceweave.user.id'
/** Member property marking a value as an HMAC already (`traceweave.user.id=<hex>;hashed`). */
export const BAGGAGE_HASHED_PROPERTY = 'hashed'

// What `createIdHasher` produces: HMAC-SHA256 as lowercase hex.
const HMAC_HEX = /^[0-9a-f]{64}$/
// 1 to 2^53-1 without leading zeros; longer digit strings are refused before Number() sees them.
const OPERATION_NUMBER = /^[1-9][0-9]{0,15}$/

/** A middleware's `correlation.propagate`, compiled once at setup and shared by its requests. */
export interface CorrelationPropagation {
  /** Session ID, operation name and number travel (`'session'`). */
  readonly session: boolean
  /** User ID travels (`'user'`). */
  readonly user: boolean
  /** The middleware's `hashIds` hasher: values it records, and so sends, are HMACs. */
  readonly hasher: IdHasher | undefined
}

/** The correlation a trusted caller sent, validated. */
export interface PropagatedCorrelation {
  sessionId?: string
  sessionHashed?: boolean
  sessionOperation?: string
  sessionOperationNumber?: number
  userId?: string
  userHashed?: boolean
}

/**
 * Our members of an incoming `baggage` header (Node's joined value), validated like the session and
 * user headers: a session ID by `parseSessionId` (or 64 hex digits when marked `hashed`), an operation
 * number as a positive integer, the operation name and user ID by `parseUserId`. A session without a
 * valid ID and number is ignored whole. `undefined` when there is nothing usable. Never throws; a
 * header without our prefix is not parsed at all.
 */
export function readPropagatedCorrelation(
  header: unknown,
  accept: CorrelationPropagation,
): PropagatedCorrelation | undefined {
  if (typeof header !== 'string' || !header.includes(CORRELATION_BAGGAGE_PREFIX)) return undefined
  const members = parseBaggage(header)
  if (members === undefined) return undefined
  let sessionId: BaggageMember | undefined
  let operation: BaggageMember | undefined
  let operationNumber: BaggageMember | undefined
  let userId: BaggageMember | undefined
  // A repeated key keeps its first value, as the baggage propagator does.
  for (const member of members) {
    switch (member.key) {
      case BAGGAGE_SESSION_ID:
        sessionId ??= member
        break
      case BAGGAGE_SESSION_OPERATION:
        operation ??= member
        break
      case BAGGAGE_SESSION_OPERATION_NUMBER:
        operationNumber ??= member
        break
      case BAGGAGE_USER_ID:
        userId ??= member
        break
    }
  }
  const received: PropagatedCorrelation = {}
  let any = false
  if (accept.session && sessionId !== undefined && operationNumber !== undefined) {
    const id = readId(sessionId, parseSessionId)
    const number = OPERATION_NUMBER.test(operationNumber.value) ? Number(operationNumber.value) : NaN
    if (id !== undefined && Number.isSafeInteger(number)) {
      received.sessionId = id.value
      received.sessionHashed = id.hashed
      received.sessionOperationNumber = number
      const name = operation === undefined ? undefined : parseUserId(operation.value)
      if (name !== undefined) received.sessionOperation = name
      any = true
    }
  }
  if (accept.user && userId !== undefined) {
    const id = readId(userId, parseUserId)
    if (id !== undefined) {
      received.userId = id.value
      received.userHashed = id.hashed
      any = true
    }
  }
  return any ? received : undefined
}

function readId(
  member: BaggageMember,
  parse: (value: unknown) => string | undefined,
): { value: string; hashed: boolean } | undefined {
  if (isHashed(member)) return HMAC_HEX.test(member.value) ? { value: member.value, hashed: true } : undefined
  const value = parse(member.value)
  return value === undefined ? undefined : { value, hashed: false }
}

function isHashed(member: BaggageMember): boolean {
  const metadata = member.metadata
  return metadata !== undefined && metadata.split(';').includes(BAGGAGE_HASHED_PROPERTY)
}

/**
 * The `baggage` header an outgoing call of the request `state` carries: the app's members (`existing`,
 * as the registered propagator wrote them) first, then ours, within the spec's 64 members and 8192
 * bytes. The app's members are never dropped for ours: when the header is full, ours are left off and
 * that is reported once. `undefined` when the request propagates nothing.
 */
export function correlationBaggage(state: RequestState, existing: string | undefined): string | undefined {
  const config = state.propagateCorrelation
  if (config === undefined) return existing
  const ours = ownMembers(state, config)
  if (ours.length === 0) return existing
  const formatted = formatBaggage(ours)
  if (existing === undefined || existing === '') return formatted
  // Members with our prefix in the app's baggage are stale or forged: ours replace them.
  const app = (parseBaggage(existing) ?? []).filter(
    (member) => !member.key.startsWith(CORRELATION_BAGGAGE_PREFIX),
  )
  if (app.length === 0) return formatted
  const merged = formatBaggage([...app, ...ours])
  if (!merged.endsWith(`,${formatted}`)) {
    warnOnce(
      'correlation.baggage-full',
      'the baggage header is full (64 members or 8192 bytes): session and user correlation left off some outgoing calls',
    )
  }
  return merged
}

function ownMembers(state: RequestState, config: CorrelationPropagation): BaggageMember[] {
  const attributes = state.correlationAttributes
  const members: BaggageMember[] = []
  const hashedByUs = config.hasher !== undefined
  if (config.session && state.sessionId !== undefined) {
    const id = attributes['session.id']
    const number = attributes['session.operation_number']
    if (typeof id === 'string' && typeof number === 'number') {
      members.push(idMember(BAGGAGE_SESSION_ID, id, hashedByUs || state.sessionIdHashed === true))
      const name = attributes['session.operation']
      if (typeof name === 'string') members.push({ key: BAGGAGE_SESSION_OPERATION, value: name })
      members.push({ key: BAGGAGE_SESSION_OPERATION_NUMBER, value: String(number) })
    }
  }
  if (config.user && state.userId !== undefined) {
    const id = attributes['user.id']
    if (typeof id === 'string')
      members.push(idMember(BAGGAGE_USER_ID, id, hashedByUs || state.userIdHashed === true))
  }
  return members
}

function idMember(key: string, value: string, hashed: boolean): BaggageMember {
  return hashed ? { key, value, metadata: BAGGAGE_HASHED_PROPERTY } : { key, value }
}

/**
 * `ctx` without our members in its baggage, when the request's `baggage` header has any. A caller's
 * correlation reaches this service's spans through the request record, and leaves again only through
 * the traced clients (to `propagateTo` destinations); left in the context's baggage, any propagator
 * (OpenTelemetry's http instrumentation, which injects without a URL) would forward it anywhere, even
 * from a service without the option. The same context when there are none: a request without our
 * prefix in its `baggage` header pays one property read.
 */
export function withoutCorrelationBaggage(
  ctx: Context,
  headers?: Readonly<Record<string, unknown>>,
): Context {
  if (headers !== undefined) {
    const raw = headers.baggage
    if (typeof raw !== 'string' || !raw.includes(CORRELATION_BAGGAGE_PREFIX)) return ctx
  }
  const baggage = propagation.getBaggage(ctx)
  if (baggage === undefined) return ctx
  let ours: string[] | undefined
  for (const [key] of baggage.getAllEntries()) {
    if (key.startsWith(CORRELATION_BAGGAGE_PREFIX)) (ours ??= []).push(key)
  }
  return ours === undefined ? ctx : propagation.setBaggage(ctx, baggage.removeEntries(...ours))
}
