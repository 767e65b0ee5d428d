import { writeFile } from 'node:fs/promises'
import type { RequestListener } from 'node:http'
import { buildWaterfall } from './render/waterfall'
import { formatWaterfall, shouldColor } from './render/text'
import { createOtlpReceiver } from './server/otlp-receiver'
import { isLoopbackHost, listenLocal, type Listening } from './server/listen'
import { renderHtmlReport } from './server/report'
import { createUiServer } from './server/ui-server'
import { TraceStore, type StoredTrace } from './store/trace-store'

/** Options of {@link startViewer}; the CLI flags map onto them one to one. */
export interface ViewerOptions {
  /** OTLP/HTTP port. Default 4318 (the OTLP default, where SDKs send unless told otherwise); 0 picks one. */
  port?: number
  /** Web page port. Default 4320 (next to OTLP's 4318/4317; 16686 is Jaeger's). 0 picks one. */
  uiPort?: number
  /**
   * Address to listen on. Default: the loopback addresses 127.0.0.1 and ::1. Anything else exposes
   * the spans (which may hold personal data) to the network: a warning is printed.
   */
  host?: string
  /** Traces held in memory; past it the oldest is dropped and counted. Default 1000. */
  maxTraces?: number
  /** Spans held per trace; later ones are dropped and counted. Default 1000. */
  maxSpansPerTrace?: number
  /** Spans held in all (about 1 KB each); past it the oldest traces are dropped. Default 100000. */
  maxSpans?: number
  /**
   * Milliseconds a trace waits after its root span (and after each later span) before it is shown,
   * so children still queued in other services' batch processors (5 s by default) land. Default 6000.
   */
  graceMs?: number
  /** Milliseconds a trace whose root never arrives waits after its last span before it is shown. Default 30000. */
  rootlessGraceMs?: number
  /** Largest OTLP request body in bytes, compressed or not. Default 16 MiB. */
  maxBodyBytes?: number
  /** Serve the web page. Default true. */
  ui?: boolean
  /** Print nothing but errors: no banner, no waterfalls. Default false. */
  quiet?: boolean
  /** Write the traces held as one self-contained HTML page to this file on `close()`. */
  html?: string
  /** Called with each trace when it completes (and again if late spans arrive). */
  onTrace?: (trace: StoredTrace) => void
  /** Where banner and waterfalls go. Default `process.stdout.write`. */
  write?: (text: string) => void
  /** ANSI colour in the waterfalls. Default: stdout is a TTY and `NO_COLOR` is not set. */
  color?: boolean
}

/** A running viewer. */
export interface Viewer {
  /** Base URL for `OTEL_EXPORTER_OTLP_ENDPOINT`, e.g. `http://127.0.0.1:4318`. */
  otlpUrl: string
  /** `otlpUrl` + `/v1/traces`, for an exporter's `url` option. */
  tracesUrl: string
  /** The web page, e.g. `http://127.0.0.1:4320/`; undefined with `ui: false`. */
  uiUrl: string | undefined
  /** The OTLP port and the page's port (0 when there is no page). */
  ports: { otlp: number; ui: number }
  /** The addresses bound. */
  hosts: string[]
  store: TraceStore
  /** Writes the traces held as a self-contained HTML page. */
  writeHtml(file: string): Promise<void>
  /**
   * Stops listening, reports the traces still in their grace (printed unless quiet), writes the
   * `html` file if one was asked for, and resolves when all is done.
   */
  close(): Promise<void>
}

export const DEFAULT_OTLP_PORT = 4318
export const DEFAULT_UI_PORT = 4320

/**
 * Starts the local OTLP receiver and (unless `ui: false`) the web page. Rejects with a one-line
 * `ViewerListenError` when a port is taken, and with a `RangeError` naming a bad option.
 *
 * @example
 * ```ts
 * const viewer = await startViewer({ port: 0, uiPort: 0, quiet: true, graceMs: 200 })
 * process.env.OTEL_EXPORTER_OTLP_ENDPOINT = viewer.otlpUrl
 * // ... later
 * await viewer.close()
 * ```
 */
export async function startViewer(options: ViewerOptions = {}): Promise<Viewer> {
  const {
    port = DEFAULT_OTLP_PORT,
    uiPort = DEFAULT_UI_PORT,
    host,
    ui = true,
    quiet = false,
    html,
    write = (text: string) => void process.stdout.write(text),
    color = shouldColor(process.stdout),
  } = options
  checkPort('port', port)
  if (ui) checkPort('uiPort', uiPort)
  const store = new TraceStore({
    maxTraces: options.maxTraces,
    maxSpansPerTrace: options.maxSpansPerTrace,
    maxSpans: options.maxSpans,
    graceMs: options.graceMs,
    rootlessGraceMs: options.rootlessGraceMs,
    onTrace: options.onTrace,
  })
  if (!quiet) {
    store.subscribe((trace) => {
      const text = formatWaterfall(buildWaterfall(trace.spans), { color })
      const dropped =
        trace.droppedSpans > 0 ? `  (${trace.droppedSpans} more spans dropped: --max-spans-per-trace)\n` : ''
      write(`\n${trace.reports > 1 ? '(updated, late spans) ' : ''}${text}${dropped}`)
    })
  }
  const explicitHost = isLoopbackHost(host) ? undefined : host
  const listenHost = host === 'localhost' ? undefined : host
  let otlp: Listening | undefined
  let page: Listening | undefined
  let uiServer: ReturnType<typeof createUiServer> | undefined
  try {
    otlp = await listenLocal(createOtlpReceiver(store, { maxBodyBytes: options.maxBodyBytes }), {
      port,
      host: listenHost,
      what: 'OTLP',
      option: '--port',
    })
    if (ui) {
      let pagePort = 0
      uiServer = createUiServer(store, () => pagePort, { extraHosts: explicitHost ? [explicitHost] : [] })
      const handler: RequestListener = uiServer.handler
      page = await listenLocal(handler, {
        port: uiPort,
        host: listenHost,
        what: 'the web page',
        option: '--ui-port',
      })
      pagePort = page.port
    }
  } catch (error) {
    store.close()
    uiServer?.close()
    await otlp?.close()
    throw error
  }
  const urlHost = (hosts: string[]) => {
    const first = hosts[0] ?? '127.0.0.1'
    return first === '0.0.0.0' || first === '::' ? '127.0.0.1' : first.includes(':') ? `[${first}]` : first
  }
  const otlpUrl = `http://${urlHost(otlp.hosts)}:${otlp.port}`
  const uiUrl = page ? `http://${urlHost(page.hosts)}:${page.port}/` : undefined
  if (!quiet) {
    if (explicitHost !== undefined) {
      write(
        `traceweave-view: WARNING: listening on ${explicitHost}, not only on this machine: spans may hold personal data (user IDs, URLs, addresses); anyone who can reach it can read them\n`,
      )
    }
    write(
      `traceweave-view: receiving OTLP/HTTP at ${otlpUrl}/v1/traces (${otlp.hosts.join(', ')}; protobuf or JSON; /v1/metrics and /v1/logs accepted)\n`,
    )
    if (uiUrl) write(`traceweave-view: traces on ${uiUrl}\n`)
  }

  const writeHtml = (file: string) => writeFile(file, renderHtmlReport(store.all()))
  let closing: Promise<void> | undefined
  return {
    otlpUrl,
    tracesUrl: `${otlpUrl}/v1/traces`,
    uiUrl,
    ports: { otlp: otlp.port, ui: page?.port ?? 0 },
    hosts: otlp.hosts,
    store,
    writeHtml,
    close() {
      closing ??= (async () => {
        await otlp.close()
        store.flush()
        uiServer?.close()
        await page?.close()
        if (html !== undefined) await writeHtml(html)
        store.close()
      })()
      return closing
    },
  }
}

function checkPort(name: string, port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`${name} must be an integer within 0..65535 (0 picks a free port), got ${port}`)
  }
}
