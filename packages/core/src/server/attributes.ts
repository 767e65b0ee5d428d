/**
 * Stable OpenTelemetry semantic-convention names, as plain constants so core needs no semconv
 * dependency. Only names we write are listed.
 */
export const ATTR_HTTP_REQUEST_METHOD = 'http.request.method'
export const ATTR_HTTP_REQUEST_METHOD_ORIGINAL = 'http.request.method_original'
export const ATTR_HTTP_ROUTE = 'http.route'
export const ATTR_HTTP_RESPONSE_STATUS_CODE = 'http.response.status_code'
export const ATTR_URL_PATH = 'url.path'
export const ATTR_URL_SCHEME = 'url.scheme'
export const ATTR_SERVER_ADDRESS = 'server.address'
export const ATTR_SERVER_PORT = 'server.port'
export const ATTR_CLIENT_ADDRESS = 'client.address'
export const ATTR_USER_AGENT_ORIGINAL = 'user_agent.original'
export const ATTR_NETWORK_PROTOCOL_VERSION = 'network.protocol.version'
export const ATTR_ERROR_TYPE = 'error.type'
export const METRIC_HTTP_SERVER_REQUEST_DURATION = 'http.server.request.duration'

/** Correlation attributes every span of a request gets (see CorrelationSpanProcessor). */
export const ATTR_REQUEST_ID = 'request.id'
export const ATTR_SESSION_ID = 'session.id'
export const ATTR_SESSION_OPERATION = 'session.operation'
export const ATTR_SESSION_OPERATION_NUMBER = 'session.operation_number'

/** Name of the span event added when the client disconnects before the response ends. */
export const EVENT_ABORTED = 'aborted'

/** Response header of the W3C Trace Context Level 3 draft. */
export const TRACERESPONSE_HEADER = 'traceresponse'

// Methods the semantic conventions know; others are recorded as `_OTHER` (bounded cardinality).
const KNOWN_METHODS = new Set([
  'CONNECT',
  'DELETE',
  'GET',
  'HEAD',
  'OPTIONS',
  'PATCH',
  'POST',
  'PUT',
  'QUERY',
  'TRACE',
])

/** The semconv `http.request.method` for a raw method: itself if known, `_OTHER` otherwise. */
export function normalizeMethod(method: string | undefined): string {
  return method !== undefined && KNOWN_METHODS.has(method) ? method : '_OTHER'
}

/** `METHOD route`, `METHOD` before the route is known, `HTTP` for methods outside the known set. */
export function serverSpanName(method: string, route: string | undefined): string {
  const prefix = method === '_OTHER' ? 'HTTP' : method
  return route === undefined ? prefix : `${prefix} ${route}`
}
