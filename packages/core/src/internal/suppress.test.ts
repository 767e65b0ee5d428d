import { ROOT_CONTEXT } from '@opentelemetry/api'
import * as otelCore from '@opentelemetry/core'
import { isTracingSuppressed, suppressTracing } from './suppress'

describe('suppressed tracing (the key of @opentelemetry/core, without depending on it)', () => {
  it("recognises @opentelemetry/core's suppressTracing(), and core's isTracingSuppressed recognises ours", () => {
    expect(isTracingSuppressed(otelCore.suppressTracing(ROOT_CONTEXT))).toBe(true)
    expect(otelCore.isTracingSuppressed(suppressTracing(ROOT_CONTEXT))).toBe(true)
    expect(isTracingSuppressed(otelCore.unsuppressTracing(otelCore.suppressTracing(ROOT_CONTEXT)))).toBe(
      false,
    )
    expect(isTracingSuppressed(ROOT_CONTEXT)).toBe(false)
  })
})
