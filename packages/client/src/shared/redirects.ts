/**
 * The Fetch spec's redirect rules, for the clients that follow redirects themselves (fetch with
 * `followRedirects: 'traced'`, axios with any adapter but node's http one), so that each hop gets
 * trace headers only if `propagateTo` allows its destination.
 */

/** The Fetch spec's limit on redirects of one request. */
export const MAX_REDIRECTS = 20

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308])

/** Dropped when a redirect changes origin, as the Fetch spec and browsers do. */
export const CROSS_ORIGIN_DROPPED: ReadonlySet<string> = new Set([
  'authorization',
  'cookie',
  'proxy-authorization',
])

/** Dropped when a redirect turns the request into a GET without a body. */
export const BODY_HEADERS: ReadonlySet<string> = new Set([
  'content-type',
  'content-length',
  'content-encoding',
  'content-language',
  'content-location',
])

/** Where a redirect response sends the request next, and how. */
export interface RedirectHop {
  readonly url: URL
  /** 303 (and 301/302 after POST): the next request is a GET without a body. */
  readonly toGet: boolean
  /** Credentials headers must not follow. */
  readonly crossOrigin: boolean
}

/**
 * The next hop for a response with `status` and `location`, or `undefined` when it is not a
 * redirect to follow (not a redirect status, no `Location`, or one that is no URL).
 */
export function redirectHop(
  status: number | undefined,
  location: string | null | undefined,
  from: URL,
  method: string,
): RedirectHop | undefined {
  if (status === undefined || !REDIRECT_STATUSES.has(status)) return undefined
  if (typeof location !== 'string') return undefined
  let url: URL
  try {
    url = new URL(location, from)
  } catch {
    return undefined // an unusable Location: the 3xx is the answer, as fetch's 'manual' would give it
  }
  const upper = method.toUpperCase()
  const toGet =
    (status === 303 && upper !== 'HEAD') || ((status === 301 || status === 302) && upper === 'POST')
  return { url, toGet, crossOrigin: url.origin !== from.origin }
}
