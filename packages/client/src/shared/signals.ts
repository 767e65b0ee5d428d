/**
 * A signal of a call's own that aborts when any of its sources does (the caller's signal, the
 * client-wide `retry.signal`), without piling listeners or memory onto a long-lived source (an app's
 * shutdown signal passed to every call).
 *
 * `AbortSignal.any` would do, but some Node 20 and 22 releases keep every combined signal reachable
 * from a long-lived source (nodejs/node#55351). Here each source carries at most ONE listener, which
 * fans out to the linked signals through weak references. A link is dropped as soon as its call
 * fails (`unlinkSignal`), otherwise when its signal is collected: after a success the response body
 * may still be streaming, and an abort must still reach it.
 */

interface Fanout {
  /** The linked controllers, held weakly, each with the function that detaches it everywhere. */
  readonly targets: Map<WeakRef<AbortController>, () => void>
  readonly onAbort: () => void
}

const fanouts = new WeakMap<AbortSignal, Fanout>()
// The controller lives exactly as long as its signal, which is what a fetch or an adapter holds.
const controllers = new WeakMap<AbortSignal, AbortController>()
const detachers = new WeakMap<AbortSignal, () => void>()
const cleanup = new FinalizationRegistry<() => void>((detach) => detach())

function fanoutOf(source: AbortSignal): Fanout {
  const existing = fanouts.get(source)
  if (existing !== undefined) return existing
  const targets: Fanout['targets'] = new Map()
  const onAbort = () => {
    fanouts.delete(source)
    for (const [ref, detach] of [...targets]) {
      detach()
      ref.deref()?.abort(source.reason)
    }
  }
  source.addEventListener('abort', onAbort, { once: true })
  const fanout = { targets, onAbort }
  fanouts.set(source, fanout)
  return fanout
}

function detachFrom(source: AbortSignal, ref: WeakRef<AbortController>): void {
  const fanout = fanouts.get(source)
  if (fanout === undefined) return
  fanout.targets.delete(ref)
  if (fanout.targets.size > 0) return
  source.removeEventListener('abort', fanout.onAbort)
  fanouts.delete(source)
}

/**
 * A signal of its own that aborts (with that signal's reason) when any of `sources` aborts. Also
 * worth it for one source: a fetch adds its own listener to the signal it gets, and keeps it until
 * collected, so a long-lived signal handed to every call would collect one per call.
 */
export function linkSignals(...sources: AbortSignal[]): AbortSignal {
  const aborted = sources.find((source) => source.aborted)
  if (aborted !== undefined) return aborted
  const controller = new AbortController()
  const linked = controller.signal
  controllers.set(linked, controller)
  const ref = new WeakRef(controller)
  const detach = () => {
    for (const source of sources) detachFrom(source, ref)
  }
  for (const source of sources) fanoutOf(source).targets.set(ref, detach)
  detachers.set(linked, detach)
  cleanup.register(linked, detach, linked)
  return linked
}

/** Detaches a signal from {@link linkSignals} from its sources now; a no-op for other signals. */
export function unlinkSignal(signal: AbortSignal | undefined): void {
  if (signal === undefined) return
  const detach = detachers.get(signal)
  if (detach === undefined) return
  detach()
  detachers.delete(signal)
  cleanup.unregister(signal)
}

/** How many live links `source` fans out to (for tests of the bound). */
export function linkCount(source: AbortSignal): number {
  return fanouts.get(source)?.targets.size ?? 0
}
