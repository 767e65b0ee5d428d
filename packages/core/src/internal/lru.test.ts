import fc from 'fast-check'
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

  it('behaves as a reference LRU (an array ordered by use) under any sequence of operations', () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('set' as const),
        key: fc.integer({ min: 0, max: 6 }),
        value: fc.integer(),
      }),
      fc.record({ kind: fc.constant('get' as const), key: fc.integer({ min: 0, max: 6 }) }),
      fc.record({ kind: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 6 }) }),
    )
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.array(op, { minLength: 20, maxLength: 100, size: 'max' }),
        (bound, ops) => {
          const lru = new LruMap<number, number>(bound)
          let model: Array<[number, number]> = [] // least recently used first
          let evicted = 0
          for (const o of ops) {
            const at = model.findIndex(([key]) => key === o.key)
            if (o.kind === 'get') {
              const expected = at === -1 ? undefined : model[at]![1]
              if (at !== -1) model.push(model.splice(at, 1)[0]!)
              expect(lru.get(o.key)).toBe(expected)
            } else if (o.kind === 'delete') {
              expect(lru.delete(o.key)).toBe(at !== -1)
              if (at !== -1) model.splice(at, 1)
            } else {
              if (at !== -1) model.splice(at, 1)
              else if (model.length >= bound) {
                model = model.slice(1)
                evicted++
              }
              model.push([o.key, o.value])
              lru.set(o.key, o.value)
            }
            expect(lru.size).toBe(model.length)
            expect(lru.evicted).toBe(evicted)
          }
        },
      ),
    )
  })
})
