import { randomUUID } from 'node:crypto'
import type { Context } from '@opentelemetry/api'
import { getRequestState } from './request-state'

/** Header the request ID is read from and echoed in, unless the `requestIdHeader` option says otherwise. */
export const DEFAULT_REQUEST_ID_HEADER = 'x-request-id'

/** Longest request ID accepted from a caller; longer ones are replaced. */
export const MAX_REQUEST_ID_LENGTH = 128

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

/** The caller's request ID when valid, else a new `crypto.randomUUID()`. */
export function resolveRequestId(value: unknown): string {
  return parseRequestId(value) ?? randomUUID()
}

/**
 * The request ID of the request being handled (validated from `X-Request-Id` or generated), or
 * `undefined` outside a traced request. Put it on log lines; the client forwards it downstream.
 *
 * @example logger.info({ requestId: getRequestId() }, 'order placed')
 */
export function getRequestId(ctx?: Context): string | undefined {
  return getRequestState(ctx)?.requestId
}
