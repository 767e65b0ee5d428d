import { createHmac } from 'node:crypto'
import { configError } from '../internal/validate'

/** Shortest HMAC key accepted: shorter keys make the hashes guessable for short IDs. */
export const MIN_HMAC_KEY_BYTES = 16

/** Turns a personal identifier into the value recorded on spans. */
export type IdHasher = (value: string) => string

/**
 * An HMAC-SHA256 hasher (lowercase hex) keyed by `key`. The same key on every service gives the same
 * hash for the same ID, so traces still group by user or session without the raw value leaving the
 * process. Throws at setup when the key is too short.
 */
export function createIdHasher(key: string | Uint8Array, optionName: string): IdHasher {
  const bytes =
    typeof key === 'string' ? Buffer.byteLength(key) : key instanceof Uint8Array ? key.byteLength : -1
  // The key is a secret: a message describes its type or length, never its text.
  if (bytes < 0) {
    configError(optionName, 'be a string or Uint8Array', `a value of type ${typeof key}`)
  }
  if (bytes < MIN_HMAC_KEY_BYTES) {
    configError(optionName, `be at least ${MIN_HMAC_KEY_BYTES} bytes`, `a key of ${bytes} bytes`)
  }
  // Copy the key so a caller mutating its buffer later cannot change the hashes mid-flight.
  const ownKey = typeof key === 'string' ? key : Buffer.from(key)
  return function hmacId(value: string): string {
    return createHmac('sha256', ownKey).update(value).digest('hex')
  }
}
