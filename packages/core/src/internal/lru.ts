/** One entry, linked from the least to the most recently used. */
interface Entry<K, V> {
  readonly key: K
  value: V
  older: Entry<K, V> | undefined
  newer: Entry<K, V> | undefined
}

/**
 * A least-recently-used cache with a hard bound: at `maxSize` entries, inserting a new key evicts the
 * least recently used one. Reads through `get` refresh an entry's recency.
 *
 * A Map finds entries, a doubly linked list orders them: a hit moves its entry to the newest end by
 * relinking it. (Re-inserting into the Map on every hit, the simpler way to keep Map order, costs
 * a delete and an insert per hit and leaves deleted slots the table must rehash away: measured, the
 * session counter's read was among the larger per-request costs that way.)
 */
export class LruMap<K, V> {
  private readonly entries = new Map<K, Entry<K, V>>()
  private oldest: Entry<K, V> | undefined
  private newest: Entry<K, V> | undefined
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
    const entry = this.entries.get(key)
    if (entry === undefined) return undefined
    this.touch(entry)
    return entry.value
  }

  set(key: K, value: V): void {
    const existing = this.entries.get(key)
    if (existing !== undefined) {
      existing.value = value
      this.touch(existing)
      return
    }
    if (this.entries.size >= this.maxSize && this.oldest !== undefined) {
      const evicted = this.oldest
      this.unlink(evicted)
      this.entries.delete(evicted.key)
      this.evictions++
    }
    const entry: Entry<K, V> = { key, value, older: this.newest, newer: undefined }
    if (this.newest !== undefined) this.newest.newer = entry
    else this.oldest = entry
    this.newest = entry
    this.entries.set(key, entry)
  }

  delete(key: K): boolean {
    const entry = this.entries.get(key)
    if (entry === undefined) return false
    this.unlink(entry)
    return this.entries.delete(key)
  }

  clear(): void {
    this.entries.clear()
    this.oldest = undefined
    this.newest = undefined
  }

  /** Makes `entry` the most recently used. */
  private touch(entry: Entry<K, V>): void {
    if (entry === this.newest) return
    this.unlink(entry)
    entry.older = this.newest
    entry.newer = undefined
    this.newest!.newer = entry
    this.newest = entry
  }

  private unlink(entry: Entry<K, V>): void {
    if (entry.older !== undefined) entry.older.newer = entry.newer
    else this.oldest = entry.newer
    if (entry.newer !== undefined) entry.newer.older = entry.older
    else this.newest = entry.older
    entry.older = undefined
    entry.newer = undefined
  }
}
