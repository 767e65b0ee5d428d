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
 * scale, the duration, the status and the correlation attributes (request ID, session and operation
 * number, user; always on server spans). A span whose parent is not in the batch is kept and marked:
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
  private readonly write: (text: string) => void
  private readonly color: boolean

  constructor(write?: (text: string) => void) {
    this.write = write ?? defaultWrite
    this.color = write === undefined && shouldColor(process.stdout)
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    if (this.stopped) {
      resultCallback({ code: ExportResultCode.FAILED, error: new Error('console exporter is shut down') })
      return
    }
    try {
      const text = formatConsoleBatch(spans, { color: this.color })
      if (text) this.write(text)
      resultCallback({ code: ExportResultCode.SUCCESS })
    } catch (error) {
      resultCallback({
        code: ExportResultCode.FAILED,
        error: error instanceof Error ? error : new Error(String(error)),
      })
    }
  }

  async shutdown(): Promise<void> {
    this.stopped = true
  }

  async forceFlush(): Promise<void> {}
}

function defaultWrite(text: string): void {
  process.stdout.write(text)
}
