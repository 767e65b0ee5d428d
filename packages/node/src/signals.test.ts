import { diag, DiagLogLevel } from '@opentelemetry/api'
import { installExitFlush } from './signals'

// Only the "the app listens too" half can run in the test process: with ours as the only listener
// the signal is raised again and the process dies. test/node-signals.test.ts covers that half in a child.
let remove: (() => void) | undefined
const appListener = () => {}
beforeEach(() => {
  process.on('SIGTERM', appListener)
  process.on('SIGINT', appListener)
})
afterEach(() => {
  remove?.()
  process.removeListener('SIGTERM', appListener)
  process.removeListener('SIGINT', appListener)
  diag.disable()
})

describe('installExitFlush', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('flushes once on %s when the app also listens', async (signal) => {
    let flushes = 0
    let flushed!: () => void
    const done = new Promise<void>((resolve) => (flushed = resolve))
    remove = installExitFlush({ flush: async () => void (flushes++, flushed()), timeoutMillis: 1000 })
    process.emit(signal, signal)
    await done
    process.emit(signal, signal) // a second signal does not flush again
    await new Promise((resolve) => setImmediate(resolve))
    expect(flushes).toBe(1)
  })

  it('gives up waiting after timeoutMillis and says so through diag', async () => {
    const warnings: string[] = []
    let warned!: () => void
    const done = new Promise<void>((resolve) => (warned = resolve))
    diag.setLogger(
      {
        error: () => {},
        warn: (...args: unknown[]) => void (warnings.push(args.join(' ')), warned()),
        info: () => {},
        debug: () => {},
        verbose: () => {},
      },
      DiagLogLevel.WARN,
    )
    remove = installExitFlush({ flush: () => new Promise(() => {}), timeoutMillis: 10 })
    process.emit('SIGTERM', 'SIGTERM')
    await done
    expect(warnings[0]).toContain('flush on exit did not finish within 10 ms')
  })

  it('reports a failing flush through diag instead of throwing', async () => {
    const errors: unknown[] = []
    let reported!: () => void
    const done = new Promise<void>((resolve) => (reported = resolve))
    diag.setLogger(
      {
        error: (...args: unknown[]) => void (errors.push(args), reported()),
        warn: () => {},
        info: () => {},
        debug: () => {},
        verbose: () => {},
      },
      DiagLogLevel.ERROR,
    )
    remove = installExitFlush({
      flush: async () => Promise.reject(new Error('collector down')),
      timeoutMillis: 1000,
    })
    process.emit('SIGTERM', 'SIGTERM')
    await done
    expect(String(errors[0])).toContain('flush on exit failed')
  })

  it('removes its listeners', () => {
    const before = process.listenerCount('SIGTERM')
    remove = installExitFlush({ flush: async () => {}, timeoutMillis: 10, signals: ['SIGTERM'] })
    expect(process.listenerCount('SIGTERM')).toBe(before + 1)
    remove()
    expect(process.listenerCount('SIGTERM')).toBe(before)
  })
})
