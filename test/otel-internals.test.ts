import {
  context,
  createContextKey,
  ROOT_CONTEXT,
  SpanKind,
  trace,
  diag,
  DiagLogLevel,
} from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { suppressTracing as otelSuppressTracing } from '@opentelemetry/core'
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base'
import { EventEmitter } from 'node:events'
import {
  appHasDiagLogger,
  boundEmitterMark,
  delegateTracer,
  hasContextManager,
  spanKindOf,
  SUPPRESS_TRACING_KEY,
  tracerProviderDelegate,
} from '../packages/core/src/internal/otel-globals'

// Guards every OpenTelemetry internal that packages/core/src/internal/otel-globals.ts reads, against the
// versions installed here (api 1.9.0, core / context-async-hooks / sdk-trace-base 2.12.0). When an
// upgrade moves one, this fails, rather than traceweave misbehaving silently.
afterEach(() => {
  trace.disable()
  context.disable()
  diag.disable()
})

test("the API's global registry tells whether a context manager and a diag logger are installed", () => {
  expect(hasContextManager()).toBe(false)
  expect(appHasDiagLogger()).toBe(false)
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  diag.setLogger({ error() {}, warn() {}, info() {}, debug() {}, verbose() {} }, DiagLogLevel.ERROR)
  expect(hasContextManager()).toBe(true)
  expect(appHasDiagLogger()).toBe(true)
})

test("the suppress-tracing key is @opentelemetry/core's", () => {
  expect(otelSuppressTracing(ROOT_CONTEXT).getValue(SUPPRESS_TRACING_KEY)).toBe(true)
  expect(SUPPRESS_TRACING_KEY).toBe(createContextKey('OpenTelemetry SDK Context Key SUPPRESS_TRACING'))
})

test("the context manager's bind leaves the mark boundEmitterMark finds, and only then", () => {
  const manager = new AsyncLocalStorageContextManager().enable()
  const emitter = new EventEmitter()
  expect(boundEmitterMark(emitter)).toBeUndefined()
  manager.bind(ROOT_CONTEXT, emitter)
  expect(typeof boundEmitterMark(emitter)).toBe('symbol')
  manager.disable()
})

test("the SDK's span exposes its kind", () => {
  const tracer = new BasicTracerProvider().getTracer('t')
  expect(spanKindOf(tracer.startSpan('s', { kind: SpanKind.SERVER }))).toBe(SpanKind.SERVER)
  expect(spanKindOf(tracer.startSpan('c', { kind: SpanKind.CLIENT }))).toBe(SpanKind.CLIENT)
})

test("the API's proxy provider reveals its delegate, and a delegate tracer only once one is registered", () => {
  const proxy = trace.getTracerProvider()
  const before = tracerProviderDelegate(proxy)
  expect(before).not.toBe(proxy)
  expect(delegateTracer(proxy, 'x', '1')).toBeUndefined()
  const provider = new BasicTracerProvider()
  trace.setGlobalTracerProvider(provider)
  expect(tracerProviderDelegate(trace.getTracerProvider())).toBe(provider)
  expect(delegateTracer(trace.getTracerProvider(), 'x', '1')).toBeDefined()
})
