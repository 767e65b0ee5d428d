/**
 * A Map-based least-recently-used cache with a hard bound: at `maxSize` entries, inserting a new key
 * evicts the least recently used one. Reads through `get` refresh an entry's recency. Map keeps
 * insertion order, so re-inserting on access makes the first key the least recently used.
 */
export class LruMap<K, V> {
  private readonly entries = new Map<K, V>()
  private evictions = 0

  constructor(readonly maxSize: number) {
    if (!(Number.isInteger(maxSize) && maxSize >= 1)) {
      throw new RangeError(`LRU size must be an integer >= 1, got ${String(maxSize)}`)
    }
  }

  get size(): number {
    return this.entries.size
  }

  /** How many entries were evicted to stay within the bound. */
  get evicted(): number {
    return this.evictions
  }

  get(key: K): V | undefined {
    const value = this.entries.get(key)
    if (value !== undefined) {
      this.entries.delete(key)
      this.entries.set(key, value)
    }
    return value
  }

  set(key: K, value: V): void {
    if (this.entries.has(key)) {
      this.entries.delete(key)
    } else if (this.entries.size >= this.maxSize) {
      const oldest = this.entries.keys().next().value as K
      this.entries.delete(oldest)
      this.evictions++
    }
    this.entries.set(key, value)
  }

  delete(key: K): boolean {
    return this.entries.delete(key)
  }

  clear(): void {
    this.entries.clear()
  }
}
