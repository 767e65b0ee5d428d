/**
 * @traceweave/client: traced fetch and axios with a propagation allowlist.
 *
 * @packageDocumentation
 */

// fetch
export { traceFetch, instrumentGlobalFetch } from './fetch'
export type { FetchFunction, TraceFetchOptions } from './fetch'

// axios (structural types: axios is not a dependency)
export { traceAxios } from './axios'
export type { TraceAxiosOptions, AxiosInstanceLike, AxiosAdapterLike, AxiosConfigLike } from './axios'

// options shared by both
export { IDEMPOTENT_METHODS } from './shared/options'
export type { ClientOptions, HttpRetryOptions } from './shared/options'
export { HttpStatusError, parseRetryAfter } from './shared/retry-policy'
