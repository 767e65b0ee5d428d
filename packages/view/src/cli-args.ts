import { parseArgs } from 'node:util'
import { DEFAULT_OTLP_PORT, DEFAULT_UI_PORT, type ViewerOptions } from './viewer'

/** The `--help` text. */
export const USAGE = `Usage: traceweave-view [options]

A local OTLP/HTTP receiver that prints each trace as a waterfall and serves it on a web page.
Point any OpenTelemetry SDK at it: OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:${DEFAULT_OTLP_PORT}

Options:
  --port N                  OTLP/HTTP port (default ${DEFAULT_OTLP_PORT})
  --ui-port N               web page port (default ${DEFAULT_UI_PORT})
  --host ADDRESS            listen address (default: loopback 127.0.0.1 and ::1 only)
  --max-traces N            traces held; the oldest are dropped and counted (default 1000)
  --max-spans-per-trace N   spans held per trace (default 1000)
  --max-spans N             spans held in all, about 1 KB each; the oldest traces make room (default 100000)
  --grace MS                wait after a root span before a trace is shown (default 6000)
  --html FILE               on exit, write the traces held as one self-contained HTML page
  --no-ui                   no web page
  --quiet                   print only errors
  -h, --help                this text
`

/** Parses argv into viewer options; throws a one-line message for a bad flag or value. */
export function parseCliArgs(argv: string[]): ViewerOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      port: { type: 'string' },
      'ui-port': { type: 'string' },
      host: { type: 'string' },
      'max-traces': { type: 'string' },
      'max-spans-per-trace': { type: 'string' },
      'max-spans': { type: 'string' },
      grace: { type: 'string' },
      html: { type: 'string' },
      'no-ui': { type: 'boolean' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) return 'help'
  const options: ViewerOptions = {}
  if (values.port !== undefined) options.port = integer('--port', values.port, 0, 65535)
  if (values['ui-port'] !== undefined) options.uiPort = integer('--ui-port', values['ui-port'], 0, 65535)
  if (values.host !== undefined) options.host = values.host
  if (values['max-traces'] !== undefined) options.maxTraces = integer('--max-traces', values['max-traces'], 1)
  if (values['max-spans-per-trace'] !== undefined) {
    options.maxSpansPerTrace = integer('--max-spans-per-trace', values['max-spans-per-trace'], 1)
  }
  if (values['max-spans'] !== undefined) options.maxSpans = integer('--max-spans', values['max-spans'], 1)
  if (values.grace !== undefined) options.graceMs = integer('--grace', values.grace, 0)
  if (values.html !== undefined) options.html = values.html
  if (values['no-ui']) options.ui = false
  if (values.quiet) options.quiet = true
  return options
}

function integer(flag: string, text: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const value = Number(text)
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new RangeError(
      `${flag} must be an integer within ${min}..${max === Number.MAX_SAFE_INTEGER ? 'any' : max}, got "${text}"`,
    )
  }
  return value
}
