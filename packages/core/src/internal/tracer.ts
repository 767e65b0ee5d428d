/** Instrumentation scope of every span traceweave starts. */
export const TRACER_NAME = '@traceweave/core'
/** Kept in step with packages/core/package.json by the release process (changesets). */
export const TRACER_VERSION = '0.1.0'
