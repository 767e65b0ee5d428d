import type { Context } from '@opentelemetry/api'
import { createHook } from 'node:async_hooks'
import { performance } from 'node:perf_hooks'
import { getRequestState } from '../correlation/request-state'
import { invalidOption } from '../internal/validate'
import {
  addProcessSample,
  finishMeasuring,
  requestEnded,
  requestStarted,
  startMeasuring,
  type ResourceSnapshot,
} from '../helpers/resources'
import { reportFailure } from '../internal/guard'
import type { ServerRequest } from './types'

/** The `resources` option of `traceweave()`. */
export type ResourcesOption = boolean | 'attributed'

/**
 * The request's own CPU time in attributed mode, in microseconds: the time the JavaScript thread spent
 * running callbacks in this request's async context (its handlers, their awaits, timers and I/O
 * callbacks), each callback measured with a monotonic clock around it.
 */
export const ATTR_REQUEST_CPU = 'traceweave.request.cpu_us'
/** Callbacks counted into `traceweave.request.cpu_us`. */
export const ATTR_REQUEST_CALLBACKS = 'traceweave.request.callbacks'

/** A request's own running time in attributed mode, accumulated by the async hook. */
interface Meter {
  /** Milliseconds the JS thread spent in this request's callbacks so far. */
  busy: number
  callbacks: number
}

/** Per-request measurement: the snapshot at start, and the meter in attributed mode. */
interface RequestResources {
  readonly start: ResourceSnapshot
  readonly meter: Meter | undefined
}

/** Checks the `resources` option at setup: `true`, `false` or `'attributed'`. */
export function resolveResourcesOption(value: unknown): ResourcesOption {
  if (value === undefined) return false
  if (value === true || value === false || value === 'attributed') return value
  invalidOption('resources', "true, false or 'attributed'", value)
}

/**
 * The server lifecycle's resource measurement for one `traceweave()` call. Requests in flight are
 * counted for every traced request (an integer); the snapshots are taken only for recorded server spans,
 * so an unsampled request pays nothing more (an undecided one under `decide: 'deferred'` is recorded,
 * so it pays).
 */
export class ServerResources {
  private readonly attributed: boolean

  constructor(private readonly mode: ResourcesOption) {
    this.attributed = mode === 'attributed'
    if (this.attributed) enableAttribution()
  }

  /** Request start: count it, and start measuring when its span is recorded. */
  start(serverRequest: ServerRequest<unknown>): void {
    requestStarted()
    if (this.mode === false || !serverRequest.ownsSpan) return
    const start = startMeasuring(serverRequest.span)
    if (start === undefined) return
    const meter = this.attributed ? { busy: 0, callbacks: 0 } : undefined
    ;(serverRequest as { resources?: RequestResources }).resources = { start, meter }
  }

  /**
   * Runs the request's chain with `inContext` (the lifecycle's way into the request's context); in
   * attributed mode its synchronous part is charged to the request.
   */
  run<T>(serverRequest: ServerRequest<unknown>, fn: () => T, inContext: (ctx: Context, fn: () => T) => T): T {
    const meter = (serverRequest as { resources?: RequestResources }).resources?.meter
    if (meter === undefined) return inContext(serverRequest.context, fn)
    enter(meter)
    try {
      return inContext(serverRequest.context, fn)
    } finally {
      leave()
    }
  }

  /** Request end: the figures go on the span (before it ends); counted out in every case. */
  end(serverRequest: ServerRequest<unknown>): void {
    const resources = (serverRequest as { resources?: RequestResources }).resources
    if (resources === undefined) {
      requestEnded()
      return
    }
    const span = serverRequest.span
    // Measured before this request is counted out: `requests_in_flight.end` includes it.
    finishMeasuring(span, resources.start)
    requestEnded()
    try {
      const attributes = {}
      addProcessSample(attributes)
      const meter = resources.meter
      if (meter !== undefined) {
        Object.assign(attributes, {
          [ATTR_REQUEST_CPU]: Math.round(meter.busy * 1000),
          [ATTR_REQUEST_CALLBACKS]: meter.callbacks,
        })
      }
      span.setAttributes(attributes)
    } catch (error) {
      reportFailure('resources.end', error)
    }
  }
}

// Attribution: one async hook for the process, enabled by the first `resources: 'attributed'` and never
// disabled (enabling any async hook makes every `await` of the process dearer, so it is opt-in).
// Exclusive accounting: a callback that runs inside another (runInAsyncScope, a synchronous emit)
// pauses the outer one's clock, so nothing is counted twice.
let hookEnabled = false
const stack: Array<Meter | undefined> = []
let current: Meter | undefined
let since = 0
// Far deeper than real nesting; past it the stack is reset (an exception skipped an `after`).
const MAX_DEPTH = 1000

function enableAttribution(): void {
  if (hookEnabled) return
  hookEnabled = true
  createHook({ before: () => enter(meterOfActiveContext()), after: leave }).enable()
}

function meterOfActiveContext(): Meter | undefined {
  // An exception thrown from an async hook ends the process: nothing may escape here.
  try {
    // No argument: the active context, or traceweave's own store when no context manager is registered.
    const state = getRequestState()
    const serverRequest = state?.serverRequest as { resources?: RequestResources } | undefined
    return serverRequest?.resources?.meter
  } catch (error) {
    reportFailure('resources.attribution', error)
    return undefined
  }
}

function enter(meter: Meter | undefined): void {
  const now = performance.now()
  if (current !== undefined) current.busy += now - since
  if (stack.length >= MAX_DEPTH) stack.length = 0
  stack.push(current)
  current = meter
  since = now
  if (meter !== undefined) meter.callbacks++
}

function leave(): void {
  const now = performance.now()
  if (current !== undefined) current.busy += now - since
  current = stack.length > 0 ? stack.pop() : undefined
  since = now
}
