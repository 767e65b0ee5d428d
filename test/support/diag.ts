/** OpenTelemetry's diag channel in tests: what traceweave reported, as an app's own logger sees it. */
import { diag, DiagLogLevel } from '@opentelemetry/api'

/**
 * Installs a diag logger (level WARN) that keeps every warning and error as one line (its arguments
 * joined by spaces) for the tests of this file or describe, and removes it after them.
 */
export function useDiagMessages(): string[] {
  const messages: string[] = []
  beforeAll(() => {
    const keep = (...args: unknown[]) => messages.push(args.map(String).join(' '))
    diag.setLogger(
      { error: keep, warn: keep, info: () => {}, debug: () => {}, verbose: () => {} },
      { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
    )
  })
  afterAll(() => diag.disable())
  return messages
}
