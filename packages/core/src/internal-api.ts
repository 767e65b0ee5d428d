/**
 * `@traceweave/core/internal`: what the other @traceweave packages share with core beyond its public
 * API (the fail-open guard, option compilers). Not for applications: it may change in any release.
 *
 * @packageDocumentation
 */
export { failOpen, reportFailure } from './internal/guard'
export { logger, warnOnce } from './internal/diag'
export { normalizeMethod } from './server/attributes'
export { compilePropagateTo } from './propagation/propagate-to'
export { validateRetryOptions } from './helpers/retry'
export { activeServerRequest } from './server/registry'
export { isDisabledByEnv } from './internal/disabled'
export { SUPPRESS_TRACING_KEY, isTracingSuppressed, suppressTracing } from './internal/suppress'
export { correlationBaggage } from './correlation/propagated'
export { resendsBefore, withOuterRetryAttempt } from './internal/retry-attempt'
export { resetReported, type Reporter } from './internal/diag'
export { appHasDiagLogger, hasContextManager } from './internal/otel-globals'
export { tagMiddleware } from './server/response-observer'
export { setProcessSampleSource } from './helpers/resources'
export type { ProcessSample } from './helpers/resources'
export { applyDownstreamAnswer, type DownstreamAnswer } from './sampling/downstream'
export {
  ConfigError,
  checkBoolean,
  checkFunction,
  checkKeys,
  checkNonEmptyString,
  checkNumber,
  checkObject,
  checkOneOf,
  configError,
  describeNumberRule,
  describeValue,
  invalidOption,
  isAttributeValue,
  quoteList,
  type NumberRule,
} from './internal/validate'
