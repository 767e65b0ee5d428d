import { getEventListeners } from 'node:events'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { linkCount, linkSignals, unlinkSignal } from './signals'

function collectGarbage(): () => void {
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as () => void
}

describe('linkSignals', () => {
  it.each(['first', 'second'] as const)('aborts with the reason of the %s signal when it aborts', (which) => {
    const first = new AbortController()
    const second = new AbortController()
    const linked = linkSignals(first.signal, second.signal)
    const reason = new Error(which)
    ;(which === 'first' ? first : second).abort(reason)
    expect(linked.aborted).toBe(true)
    expect(linked.reason).toBe(reason)
    // Once one source aborted, nothing is left attached to the other.
    expect(linkCount(first.signal) + linkCount(second.signal)).toBe(0)
  })

  it('an already aborted source is the answer itself', () => {
    const aborted = AbortSignal.abort('gone')
    expect(linkSignals(new AbortController().signal, aborted)).toBe(aborted)
  })

  it('unlinkSignal detaches a link at once: a later abort of the source does not reach it', () => {
    const longLived = new AbortController()
    const linked = linkSignals(longLived.signal, new AbortController().signal)
    unlinkSignal(linked)
    expect(linkCount(longLived.signal)).toBe(0)
    expect(getEventListeners(longLived.signal, 'abort')).toHaveLength(0)
    longLived.abort()
    expect(linked.aborted).toBe(false)
  })

  it('a long-lived source carries at most one listener, and links are dropped when collected', async () => {
    const gc = collectGarbage()
    const longLived = new AbortController().signal
    let most = 0
    for (let i = 0; i < 10_000; i++) {
      linkSignals(longLived, new AbortController().signal)
      most = Math.max(most, getEventListeners(longLived, 'abort').length)
    }
    expect(most).toBe(1)
    for (let round = 0; round < 50 && linkCount(longLived) > 0; round++) {
      gc()
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    expect(linkCount(longLived)).toBe(0)
    expect(getEventListeners(longLived, 'abort')).toHaveLength(0)
  })
})
