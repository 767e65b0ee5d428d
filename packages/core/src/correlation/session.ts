import { LruMap } from '../internal/lru'

/** Header the session ID is read from unless the `session` option names another source. */
export const DEFAULT_SESSION_HEADER = 'x-session-id'

/** Sessions whose operation counters are kept per process, unless `session.maxSessions` says otherwise. */
export const DEFAULT_MAX_SESSIONS = 10_000

/** Longest session ID accepted. */
export const MAX_SESSION_ID_LENGTH = 256

// Visible ASCII (0x21-0x7E) minus `"`, `'`, `,` and `;`: signed express-session cookies (`s:...`) pass,
// header-list and cookie separators do not. Anchored single class: linear on any input.
const SESSION_ID_PATTERN = /^[\x21\x23-\x26\x28-\x2B\x2D-\x3A\x3C-\x7E]{1,256}$/

// A cookie header longer than this is not scanned: Node's default header limit is 16 KiB in total,
// and a session cookie worth reading sits well within it.
const MAX_COOKIE_HEADER_LENGTH = 8192

/**
 * A session ID if it is 1-256 visible ASCII characters without spaces, quotes, commas or semicolons,
 * otherwise `undefined` (the request then has no session). Never throws.
 *
 * @example parseSessionId('s:abc.def') // 's:abc.def'
 */
export function parseSessionId(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > MAX_SESSION_ID_LENGTH) return undefined
  return SESSION_ID_PATTERN.test(value) ? value : undefined
}

/**
 * The value of cookie `name` in a `Cookie` header, percent-decoded and unquoted, or `undefined`.
 * The first occurrence wins, as in the `cookie` package. Never throws.
 *
 * @example readCookie('a=1; sid=s%3Aabc', 'sid') // 's:abc'
 */
export function readCookie(header: unknown, name: string): string | undefined {
  if (typeof header !== 'string' || header.length > MAX_COOKIE_HEADER_LENGTH) return undefined
  let start = 0
  while (start < header.length) {
    let end = header.indexOf(';', start)
    if (end === -1) end = header.length
    const eq = header.indexOf('=', start)
    if (eq !== -1 && eq < end && header.slice(start, eq).trim() === name) {
      let value = header.slice(eq + 1, end).trim()
      if (value.length >= 2 && value.charCodeAt(0) === 0x22 && value.charCodeAt(value.length - 1) === 0x22) {
        value = value.slice(1, -1)
      }
      return decodeCookieValue(value)
    }
    start = end + 1
  }
  return undefined
}

function decodeCookieValue(value: string): string | undefined {
  if (!value.includes('%')) return value
  try {
    return decodeURIComponent(value)
  } catch {
    return undefined
  }
}

/** What the counters keep per session: the count so far and the value recorded on spans. */
interface SessionEntry {
  count: number
  attributeValue: string
}

/**
 * Per-session operation counters: `next(id)` returns 1 for a session's first request in this process,
 * then 2, 3, ...
 *
 * Bound and policy: at most `maxSessions` sessions are kept (default 10,000) in a Map-based LRU; when a
 * new session arrives at the bound, the least recently used session is evicted, and if it comes back
 * it starts again at 1. Memory is therefore O(maxSessions) whatever callers send. The numbers are per
 * process: two replicas count independently.
 */
export class SessionCounters {
  private readonly sessions: LruMap<string, SessionEntry>

  constructor(
    maxSessions: number = DEFAULT_MAX_SESSIONS,
    private readonly toAttribute: (sessionId: string) => string = identity,
  ) {
    this.sessions = new LruMap(maxSessions)
  }

  /** Sessions currently counted (never more than the bound). */
  get size(): number {
    return this.sessions.size
  }

  /** Sessions evicted so far to stay within the bound. */
  get evicted(): number {
    return this.sessions.evicted
  }

  /**
   * Counts one more operation of `sessionId` and returns its number with the span value (the raw ID,
   * or its HMAC computed once per session rather than once per request).
   */
  next(sessionId: string): SessionEntry {
    let entry = this.sessions.get(sessionId)
    if (entry === undefined) {
      entry = { count: 0, attributeValue: this.toAttribute(sessionId) }
      this.sessions.set(sessionId, entry)
    }
    entry.count++
    return entry
  }
}

function identity(value: string): string {
  return value
}
