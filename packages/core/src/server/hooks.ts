import type { ServerRequest } from './types'

/**
 * Observers of the server lifecycle's moments, for core features that act per request (the sampling
 * engine's deferred decisions). Internal: not exported from the package.
 */
export interface LifecycleHooks {
  onStart?(serverRequest: ServerRequest): void
  onRoute?(serverRequest: ServerRequest): void
  onUser?(serverRequest: ServerRequest): void
  onBeforeInject?(serverRequest: ServerRequest): void
  onEnd?(serverRequest: ServerRequest): void
}

/** Registered hooks, called in order; the list is as long as the features that register (a handful). */
export const lifecycleHooks: LifecycleHooks[] = []

/** Adds hooks to every lifecycle; returns a function that removes them. */
export function addLifecycleHooks(hooks: LifecycleHooks): () => void {
  lifecycleHooks.push(hooks)
  return function removeLifecycleHooks() {
    const index = lifecycleHooks.indexOf(hooks)
    if (index !== -1) lifecycleHooks.splice(index, 1)
  }
}
