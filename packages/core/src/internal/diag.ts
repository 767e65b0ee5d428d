import { diag } from '@opentelemetry/api'
import { appHasDiagLogger } from './otel-globals'

/**
 * traceweave's one reporter. Every warning and error of ours goes through it and reaches a person:
 * - to the app's OpenTelemetry diag logger when the app installed one (`diag.setLogger(...)`), tagged
 *   with the `traceweave` namespace, so the app decides the format and the level;
 * - else to stderr, one line each, prefixed `traceweave:`, without stack traces.
 * Each distinct message is reported once per process, so a fault that repeats on every request or every
 * export does not flood the output. `OTEL_LOG_LEVEL` (`none`, `error`, `warn`, `info`, `debug`,
 * `verbose`, `all`; default `info`) filters both paths: `none` silences traceweave.
 *
 * We never install a global diag logger ourselves: the SDK would then print a stack for every failed
 * export batch, the flood this reporter exists to avoid.
 */
export interface Reporter {
  error(message: string, ...args: unknown[]): void
  warn(message: string, ...args: unknown[]): void
  info(message: string, ...args: unknown[]): void
  debug(message: string, ...args: unknown[]): void
}

type Level = keyof Reporter
const LEVELS: Record<string, number> = { none: 0, error: 1, warn: 2, info: 3, debug: 4, verbose: 5, all: 6 }
const RANK: Record<Level, number> = { error: 1, warn: 2, info: 3, debug: 4 }
const DEFAULT_LEVEL = LEVELS.info!
const PREFIX = 'traceweave: '
// Messages are built from a bounded set of causes (call sites, hosts up to their own bound of 1000);
// past this many, the oldest is forgotten (and could be told again), so memory stays bounded.
const MAX_REMEMBERED = 4000
const MAX_LINE_LENGTH = 1000

const appLogger = diag.createComponentLogger({ namespace: 'traceweave' })
const reported = new Set<string>()

let levelSource: string | undefined
let levelRank = DEFAULT_LEVEL
// OTEL_LOG_LEVEL is read at each report (reports are rare) so a test or an app can change it at runtime.
function threshold(): number {
  const raw = process.env.OTEL_LOG_LEVEL?.trim().toLowerCase() ?? ''
  if (raw === levelSource) return levelRank
  levelSource = raw
  levelRank = raw === '' ? DEFAULT_LEVEL : (LEVELS[raw] ?? DEFAULT_LEVEL)
  if (LEVELS[raw] === undefined && raw !== '') {
    emit(
      'warn',
      `OTEL_LOG_LEVEL=${JSON.stringify(raw.slice(0, 40))} is not one of ${Object.keys(LEVELS).join(', ')}; using info`,
      [],
    )
  }
  return levelRank
}

function report(level: Level, message: string, args: unknown[]): void {
  if (RANK[level] > threshold()) return
  const key = `${level} ${message}`
  if (reported.has(key)) return
  remember(key)
  emit(level, message, args)
}

function remember(key: string): void {
  if (reported.size >= MAX_REMEMBERED) {
    const oldest = reported.values().next().value
    if (oldest !== undefined) reported.delete(oldest)
  }
  reported.add(key)
}

function emit(level: Level, message: string, args: unknown[]): void {
  if (appHasDiagLogger()) {
    appLogger[level](message, ...args)
    return
  }
  const detail = args.map((arg) => describeArgument(arg, threshold() >= LEVELS.debug!)).filter(Boolean)
  let line = detail.length > 0 ? `${message}: ${detail.join('; ')}` : message
  line = line.replace(/\s*[\r\n]+\s*/g, ' ')
  if (line.length > MAX_LINE_LENGTH) line = `${line.slice(0, MAX_LINE_LENGTH)}...`
  try {
    process.stderr.write(`${PREFIX}${line}\n`)
  } catch {
    // stderr closed (EPIPE): there is no one left to tell.
  }
}

/** An error's message (its stack at debug level, on stderr that is the "more" debug shows). */
function describeArgument(arg: unknown, withStack: boolean): string {
  if (arg instanceof Error) {
    if (withStack && arg.stack) return arg.stack
    const code = (arg as { code?: unknown }).code
    return arg.message || (typeof code === 'string' ? code : arg.name)
  }
  if (typeof arg === 'string') return arg
  if (arg === undefined) return ''
  try {
    return JSON.stringify(arg) ?? String(arg)
  } catch {
    return String(arg)
  }
}

/** The reporter every traceweave module uses; see {@link Reporter}. */
export const logger: Reporter = {
  error: (message, ...args) => report('error', message, args),
  warn: (message, ...args) => report('warn', message, args),
  info: (message, ...args) => report('info', message, args),
  debug: (message, ...args) => report('debug', message, args),
}

/**
 * Reports `message` once per `key` for the life of the process (rather than once per distinct text),
 * for messages whose text varies but whose cause does not. The key set is bounded by the call sites.
 */
export function warnOnce(key: string, message: string, ...args: unknown[]): void {
  if (reported.has(`key ${key}`)) return
  if (RANK.warn > threshold()) return
  remember(`key ${key}`)
  emit('warn', message, args)
}

/**
 * Forgets which messages were reported, so tests that expect the same message twice can see it again.
 * Not for applications.
 */
export function resetReported(): void {
  reported.clear()
}
