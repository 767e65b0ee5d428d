import { ExportResultCode, type ExportResult } from '@opentelemetry/core'
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base'
import { formatWaterfall, shouldColor } from '@traceweave/view/render'
import { toBatchTraces } from './view-spans'

/** Options of {@link formatConsoleBatch}. */
export interface ConsoleFormatOptions {
  /** ANSI colours. Default false (the exporter decides: a TTY and no `NO_COLOR`). */
  color?: boolean
}

// Narrower than the viewer's: a console line also carries the app's own logs around it.
const BAR_WIDTH = 20
const MAX_NAME_WIDTH = 40

/**
 * Renders one exported batch as the viewer's waterfall (`@traceweave/view/render`): a block per
 * trace, its spans under their root, each row with the service, the span, a bar on the trace's time
 * scale, the duration (then `cpu` and `mem` columns when spans of the trace carry resource
 * attributes, docs/resources.md), the status and the correlation attributes (request ID, session and
 * operation number, user; always on server spans). A span whose parent is not in the batch is kept and marked:
 * `remote parent <id>` when the parent is in the calling process, else `continues trace <prefix>`
 * (its parent ended in an earlier batch, or ends in a later one). Each block ends with a blank line.
 *
 * @example
 * ```text
 * trace 4bf92f3577b34da6a3ce929d0e0e4736  GET /orders/:id  12.4 ms  2 spans  1 service
 *   shop  GET /orders/:id    ████████████████████  12.4 ms  OK     request.id=r-1 user.id=alice
 *   shop    SELECT orders        ██████████         6.1 ms  -
 * ```
 */
export function formatConsoleBatch(
  spans: readonly ReadableSpan[],
  options: ConsoleFormatOptions = {},
): string {
  return toBatchTraces(spans)
    .map((trace) => {
      const prefix = trace.traceId.slice(0, 8)
      return formatWaterfall(trace.spans, {
        color: options.color === true,
        barWidth: BAR_WIDTH,
        maxNameWidth: MAX_NAME_WIDTH,
        // A trace entered from another process is whole here: its top span is this service's root.
        rootlessNote: trace.continued ? `continues trace ${prefix}` : '',
        orphanNote: (span) =>
          trace.remoteParent.has(span.spanId)
            ? `remote parent ${span.parentSpanId ?? '?'}`
            : `continues trace ${prefix}, parent ${span.parentSpanId ?? '?'} in another batch`,
      })
    })
    .map((block) => `${block}\n`) // a blank line after each trace: blocks of separate batches stay apart
    .join('')
}

/**
 * Prints each exported batch as waterfalls ({@link formatConsoleBatch}), one `write` per batch. The
 * default `write` is `process.stdout.write` (it does not block the event loop on pipes and
 * terminals), coloured when stdout is a TTY and `NO_COLOR` is not set; a `write` of the app's own
 * gets plain text. Behind a batch processor with a short delay (setup uses 200 ms), so a request's
 * spans print together, about when it ends.
 */
export class ConsoleTreeExporter implements SpanExporter {
  private stopped = false
  private broken: Error | undefined
  private readonly write: ((text: string) => void) | undefined
  private readonly color: boolean

  constructor(write?: (text: string) => void) {
    this.write = write
    this.color = write === undefined && shouldColor(process.stdout)
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    if (this.stopped) {
      resultCallback({ code: ExportResultCode.FAILED, error: new Error('console exporter is shut down') })
      return
    }
    // Once stdout has failed it stays failed: every later batch fails with the same cause (told once).
    if (this.broken !== undefined) {
      resultCallback({ code: ExportResultCode.FAILED, error: this.broken })
      return
    }
    let text: string
    try {
      text = formatConsoleBatch(spans, { color: this.color })
      if (!text) {
        resultCallback({ code: ExportResultCode.SUCCESS })
        return
      }
      if (this.write !== undefined) {
        this.write(text)
        resultCallback({ code: ExportResultCode.SUCCESS })
        return
      }
    } catch (error) {
      resultCallback({
        code: ExportResultCode.FAILED,
        error: error instanceof Error ? error : new Error(String(error)),
      })
      return
    }
    writeToStdout(text, (error) => {
      if (error === undefined) {
        resultCallback({ code: ExportResultCode.SUCCESS })
        return
      }
      this.broken = error
      resultCallback({ code: ExportResultCode.FAILED, error })
    })
  }

  async shutdown(): Promise<void> {
    this.stopped = true
  }

  async forceFlush(): Promise<void> {}
}

/**
 * Writes one block to `process.stdout` and tells `done` whether it landed. When stdout is broken (EPIPE:
 * its reader, say `| head`, exited), Node passes the error to the write's callback, then destroys the
 * stream and emits 'error' on it a tick later; with no listener, that event kills the process. So a
 * listener of ours is attached for the span of our own write only, and the failure becomes a failed
 * export (the watcher reports it once). Not a permanent listener: an EPIPE caused by the app's own
 * writes must still reach the app as it would without traceweave (and, listener-less, end it).
 */
function writeToStdout(text: string, done: (error?: Error) => void): void {
  const stdout = process.stdout
  if (stdout.destroyed || !stdout.writable) {
    done(new Error('cannot write to stdout: it is closed'))
    return
  }
  const absorb = (): void => {}
  stdout.on('error', absorb)
  // The 'error' event follows the callback by a tick or two; an immediate runs after those ticks.
  const release = (): void => {
    setImmediate(() => stdout.off('error', absorb))
  }
  try {
    stdout.write(text, (error) => {
      release()
      done(error ? stdoutFailure(error) : undefined)
    })
  } catch (error) {
    // A stdout that is a file writes synchronously and can throw (ENOSPC).
    release()
    done(stdoutFailure(error))
  }
}

// Without the `code`: the watcher would read EPIPE as a reset network connection.
function stdoutFailure(error: unknown): Error {
  const code = (error as { code?: unknown } | undefined)?.code
  const cause = typeof code === 'string' ? code : error instanceof Error ? error.message : String(error)
  const hint = code === 'EPIPE' ? ', its reader exited' : ''
  return new Error(`cannot write to stdout (${cause}${hint})`)
}
