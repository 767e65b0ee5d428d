import { LruMap } from './lru'

describe('LruMap', () => {
  it('never holds more than its bound and evicts the least recently used entry', () => {
    const lru = new LruMap<string, number>(3)
    for (const key of ['a', 'b', 'c']) lru.set(key, 1)
    lru.get('a') // a is now the most recent
    lru.set('d', 1)
    expect(lru.size).toBe(3)
    expect(lru.get('b')).toBeUndefined()
    expect(lru.get('a')).toBe(1)
    expect(lru.evicted).toBe(1)
  })

  it('stays at its bound when driven with twice as many distinct keys', () => {
    const lru = new LruMap<number, number>(1000)
    for (let i = 0; i < 2000; i++) lru.set(i, i)
    expect(lru.size).toBe(1000)
    expect(lru.evicted).toBe(1000)
    expect(lru.get(999)).toBeUndefined()
    expect(lru.get(1999)).toBe(1999)
  })

  it('rejects a bound that is not a positive integer', () => {
    expect(() => new LruMap(0)).toThrow(RangeError)
    expect(() => new LruMap(1.5)).toThrow(/integer >= 1/)
  })
})
