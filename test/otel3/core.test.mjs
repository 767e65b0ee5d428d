// A user's own OpenTelemetry JS 3.x provider (Node 22.15+), with traceweave's pieces plugged in the way
// the README's "Bring your own OpenTelemetry setup" section shows. Runs on Node 24 only.
import assert from 'node:assert/strict'
import { afterEach, beforeEach, test } from 'node:test'
import { ROOT_CONTEXT, SpanKind, context, propagation, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace'
import {
  CorrelationSpanProcessor,
  TraceweaveSampler,
  createTraceweavePropagator,
  getSamplingStats,
  resetSamplingStats,
  setRequestState,
  trace as traced,
} from '@traceweave/core'

let exporter
let provider

function install(samplingOptions) {
  exporter = new InMemorySpanExporter()
  const sampler = new TraceweaveSampler(samplingOptions)
  provider = new TracerProvider({
    sampler,
    spanProcessors: [
      new CorrelationSpanProcessor(),
      sampler.wrapSpanProcessor(new SimpleSpanProcessor({ exporter })),
    ],
  })
  trace.setGlobalTracerProvider(provider)
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  propagation.setGlobalPropagator(createTraceweavePropagator())
}

beforeEach(() => resetSamplingStats())
afterEach(async () => {
  await provider.shutdown()
  trace.disable()
  context.disable()
  propagation.disable()
})

test('trace() spans are kept by the sampler and carry ot=th:0', async () => {
  install({ ratio: 1 })
  const result = await traced('work', async () => 42)
  assert.equal(result, 42)
  const [span] = exporter.getFinishedSpans()
  assert.equal(span.name, 'work')
  assert.equal(span.spanContext().traceState?.serialize(), 'ot=th:0')
  assert.deepEqual(getSamplingStats().byReason, { ratio: 1 })
})

test('ratio 0 drops new traces, but a sampled caller still decides', () => {
  install({ ratio: 0 })
  trace.getTracer('t').startSpan('dropped').end()
  const remote = propagation.extract(ROOT_CONTEXT, {
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03',
  })
  trace.getTracer('t').startSpan('server', { kind: SpanKind.SERVER }, remote).end()
  assert.deepEqual(
    exporter.getFinishedSpans().map((s) => s.name),
    ['server'],
  )
})

test('outgoing headers keep the caller trace, random flag and tracestate', () => {
  install({})
  const remote = propagation.extract(ROOT_CONTEXT, {
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03',
    tracestate: 'vendor=1',
  })
  const span = trace.getTracer('t').startSpan('server', { kind: SpanKind.SERVER }, remote)
  const headers = {}
  propagation.inject(trace.setSpan(remote, span), headers)
  span.end()
  assert.match(headers.traceparent, /^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-03$/)
  assert.notEqual(headers.traceparent.split('-')[2], 'b7ad6b7169203331')
  assert.equal(headers.tracestate, 'vendor=1')
})

test('the correlation processor copies the request ID onto every span of the request', () => {
  install({})
  const state = { requestId: 'req-1', correlationAttributes: { 'request.id': 'req-1' } }
  context.with(setRequestState(ROOT_CONTEXT, state), () => trace.getTracer('db').startSpan('query').end())
  assert.equal(exporter.getFinishedSpans()[0].attributes['request.id'], 'req-1')
})

test('deferred decisions work on the 3.x SDK: the user known late keeps the request', () => {
  install({ decide: 'deferred', ratio: 0, users: ['alice'] })
  const state = { requestId: 'r', correlationAttributes: {}, method: 'GET', path: '/', headers: {} }
  const ctx = setRequestState(ROOT_CONTEXT, state)
  const server = trace.getTracer('t').startSpan('GET', { kind: SpanKind.SERVER }, ctx)
  context.with(trace.setSpan(ctx, server), () => trace.getTracer('t').startSpan('child').end())
  state.userId = 'alice'
  server.end()
  const spans = exporter.getFinishedSpans()
  assert.deepEqual(spans.map((s) => s.name).sort(), ['GET', 'child'])
  for (const span of spans) assert.equal(span.spanContext().traceFlags & 1, 1)
})
