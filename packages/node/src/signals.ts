import { logger } from '@traceweave/core/internal'

/** What {@link installExitFlush} needs: how to flush, and how long the process may wait for it. */
export interface ExitFlushOptions {
  /** Exports pending spans. */
  flush: () => Promise<void>
  /** Longest wait for `flush` before the process is let go. */
  timeoutMillis: number
  /** Signals that trigger the flush. Default `['SIGTERM', 'SIGINT']`. */
  signals?: readonly NodeJS.Signals[]
  /**
   * Called once when a flush on exit is still running after a moment, so a person who pressed Ctrl-C
   * learns what the process waits for. `exitsAfter`: we will exit when the flush ends (no app listener).
   */
  onSlowFlush?: (exitsAfter: boolean, signal: NodeJS.Signals) => void
}

// A flush that ends within this is not worth a line; past it, a person waiting at Ctrl-C is told why.
const SLOW_FLUSH_MILLIS = 300

/**
 * Flushes on `SIGTERM`/`SIGINT` without taking the exit decision away from the app:
 * - if our listener is the only one for the signal, Node would have exited at once; we flush (at
 *   most `timeoutMillis`), remove our listeners and raise the signal again, so the process still
 *   dies by that signal, with the exit code a supervisor expects;
 * - if the app listens too, its graceful shutdown decides when to exit; we only start the flush,
 *   and our timeout timer does not keep the process alive.
 * A second signal while we are the only listener and still flushing exits at once (a user pressing
 * Ctrl-C twice means it). Returns a function that removes the listeners.
 */
export function installExitFlush({
  flush,
  timeoutMillis,
  signals = ['SIGTERM', 'SIGINT'],
  onSlowFlush,
}: ExitFlushOptions): () => void {
  const listeners = new Map<NodeJS.Signals, () => void>()
  let flushing: Promise<void> | undefined

  const remove = (): void => {
    for (const [signal, listener] of listeners) process.removeListener(signal, listener)
    listeners.clear()
  }
  const reraise = (signal: NodeJS.Signals): void => {
    remove()
    process.kill(process.pid, signal)
  }

  for (const signal of signals) {
    const onSignal = (): void => {
      const alone = process.listenerCount(signal) === 1
      if (flushing && alone) {
        reraise(signal)
        return
      }
      flushing ??= flushWithin(flush, timeoutMillis, alone, onSlowFlush, signal)
      if (alone) void flushing.then(() => reraise(signal))
    }
    listeners.set(signal, onSignal)
    process.on(signal, onSignal)
  }
  return remove
}

function flushWithin(
  flush: () => Promise<void>,
  timeoutMillis: number,
  keepAlive: boolean,
  onSlowFlush: ((exitsAfter: boolean, signal: NodeJS.Signals) => void) | undefined,
  signal: NodeJS.Signals,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const slow =
    onSlowFlush && timeoutMillis > SLOW_FLUSH_MILLIS
      ? setTimeout(() => onSlowFlush(keepAlive, signal), SLOW_FLUSH_MILLIS).unref()
      : undefined
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      logger.warn(`flush on exit did not finish within ${timeoutMillis} ms; spans still pending are lost`)
      resolve()
    }, timeoutMillis)
    // When the app handles the signal, its own shutdown decides how long the process lives.
    if (!keepAlive) timer.unref()
  })
  const flushed = Promise.resolve()
    .then(flush)
    .catch((error: unknown) => logger.error('flush on exit failed', error))
  return Promise.race([flushed, timeout]).finally(() => {
    clearTimeout(timer)
    clearTimeout(slow)
  })
}
