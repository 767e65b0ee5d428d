import { PACKAGE_VERSION } from './version'

/** Instrumentation scope of every span traceweave starts. */
export const TRACER_NAME = '@traceweave/core'
/** The version of @traceweave/core, generated from its package.json at build (scripts/write-version.mjs). */
export const TRACER_VERSION = PACKAGE_VERSION
