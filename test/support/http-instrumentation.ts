/**
 * OpenTelemetry's http instrumentation, really active in jest: jest loads modules itself, so the
 * instrumentation's require hooks never fire; its own patch is applied to the real `http` module by
 * hand, which is what `registerInstrumentations` does.
 */
import { HttpInstrumentation, type HttpInstrumentationConfig } from '@opentelemetry/instrumentation-http'

// The real module object (an ES namespace import would be a frozen copy the patch cannot change).
const http: typeof import('node:http') = require('node:http')

export interface PatchableHttpInstrumentation {
  readonly instrumentation: HttpInstrumentation
  /** Patches `node:http` (call in `beforeAll`). */
  patch(): void
  /** Undoes {@link patch} (call in `afterAll`). */
  unpatch(): void
}

export function httpInstrumentation(config?: HttpInstrumentationConfig): PatchableHttpInstrumentation {
  const instrumentation = new HttpInstrumentation(config)
  const definition = (
    instrumentation.getModuleDefinitions() as {
      name: string
      patch?: (m: unknown) => unknown
      unpatch?: (m: unknown) => void
    }[]
  ).find((candidate) => candidate.name === 'http')!
  return {
    instrumentation,
    patch: () => void definition.patch!(http),
    unpatch: () => definition.unpatch!(http),
  }
}
