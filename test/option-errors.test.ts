/**
 * "Bad configuration fails fast at setup, naming the option and the valid values" (developers' guide),
 * in one form across the ways a user configures traceweave: setupTracing() (@traceweave/node),
 * traceweave() (@traceweave/express and @traceweave/koa, through core's server options), sampling
 * (setupTracing({ sampling }) or new TraceweaveSampler()), the traced clients and the propagator.
 * Each bad configuration below goes through the public function a user calls.
 */
import { traceFetch } from '@traceweave/client'
import { TraceweaveSampler, createTraceweavePropagator, type SamplingOptions } from '@traceweave/core'
import { traceweave as expressTraceweave, type TraceweaveOptions } from '@traceweave/express'
import { traceweave as koaTraceweave } from '@traceweave/koa'
import { setupTracing, type SetupTracingOptions } from '@traceweave/node'

/** The one form: `traceweave: \`<option>\` must <rule>; got <value>`. */
const FORM = /^traceweave: `([^`]+)` must (.+); got (.+)$/

type Setup = (options: unknown) => unknown
const node: Setup = (options) => setupTracing(options as SetupTracingOptions)
const express: Setup = (options) => expressTraceweave(options as TraceweaveOptions)
const koa: Setup = (options) => koaTraceweave(options as TraceweaveOptions)
const sampler: Setup = (options) => new TraceweaveSampler(options as SamplingOptions)
const fetchClient: Setup = (options) => traceFetch(globalThis.fetch, options as never)
const propagator: Setup = (options) => createTraceweavePropagator(options as never)

/** [where, the call, bad options, the option named, a valid value the message must list]. */
const BAD: [string, Setup, unknown, string, string][] = [
  ['setupTracing', node, { exporter: 'jaeger' }, 'exporter', "'otlp'"],
  ['setupTracing', node, { servicename: 'x' }, 'setupTracing(options)', 'serviceName'],
  ['setupTracing', node, { otlp: { url: 'collector:4318' } }, 'otlp.url', 'http://'],
  ['setupTracing', node, { batch: { maxQueueSize: 0 } }, 'batch.maxQueueSize', '>= 1'],
  ['setupTracing', node, { propagators: ['xray'] }, 'propagators', "'b3multi'"],
  ['setupTracing', node, { resourceAttributes: { a: [1, 'b'] } }, 'resourceAttributes', 'booleans'],
  ['setupTracing', node, { resources: { sampleEveryMs: 1 } }, 'resources.sampleEveryMs', 'from 100 to'],
  ['setupTracing', node, { flushOnExit: 'yes' }, 'flushOnExit', 'true or false'],
  ['setupTracing', node, { sampling: { ratio: 2 } }, 'sampling.ratio', 'from 0 to 1'],
  ['traceweave (express)', express, { existingServerSpan: 'replace' }, 'existingServerSpan', "'nest'"],
  ['traceweave (express)', express, { session: { maxSessions: 0 } }, 'session.maxSessions', '>= 1'],
  ['traceweave (express)', express, { hashIds: { key: 'short' } }, 'hashIds.key', '16 bytes'],
  ['traceweave (express)', express, { resources: 'all' }, 'resources', "'attributed'"],
  ['traceweave (koa)', koa, { requestId: { header: 'a b' } }, 'requestId.header', 'header name'],
  ['traceweave (koa)', koa, { correlation: { propagate: ['users'] } }, 'correlation.propagate', "'user'"],
  ['traceweave (koa)', koa, { ignore: 'health' }, 'ignore', 'RegExps'],
  ['sampling', sampler, { decide: 'later' }, 'sampling.decide', "'deferred'"],
  ['sampling', sampler, { rules: [{ sample: 1.5 }] }, 'sampling.rules[0].sample', 'from 0 to 1'],
  ['sampling', sampler, { maxPendingTraces: 0.5 }, 'sampling.maxPendingTraces', 'integer'],
  ['sampling', sampler, { ratoi: 1 }, 'sampling', 'ratio'],
  ['traceFetch', fetchClient, { retry: { factor: 0 } }, 'traceFetch.retry.factor', '>= 1'],
  ['traceFetch', fetchClient, { propagateTo: 'all' }, 'traceFetch.propagateTo', "'*'"],
  ['traceFetch', fetchClient, { startRootSpans: 1 }, 'traceFetch.startRootSpans', 'true or false'],
  [
    'createTraceweavePropagator',
    propagator,
    { propagators: ['b3'] },
    'propagation.propagators[0]',
    "'baggage'",
  ],
]

describe.each(BAD)('%s with %j', (_where, setup, options, option, valid) => {
  it('throws a ConfigError (a TypeError) in the one form, naming the option and its valid values', () => {
    let thrown: unknown
    try {
      setup(options)
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(TypeError)
    expect((thrown as Error).name).toBe('ConfigError')
    const match = FORM.exec((thrown as Error).message)
    expect(match).not.toBeNull()
    expect(match![1]).toBe(option)
    expect(match![2]).toContain(valid)
  })
})

test.each<[string, Setup, (value: string) => unknown]>([
  ['setupTracing', node, (value) => ({ exporter: value })],
  ['traceweave', express, (value) => ({ session: { cookie: value } })],
  ['sampling', sampler, (value) => ({ decide: value })],
])('%s never echoes a huge or hostile value raw', (_where, setup, wrap) => {
  const hostile = `\u001b[2J${'x'.repeat(100_000)}\n`
  let message = ''
  try {
    setup(wrap(hostile))
  } catch (error) {
    message = (error as Error).message
  }
  expect(message).toMatch(FORM)
  expect(message).toMatch(/got '\\u001b\[2Jx{31}\.\.\.'$/)
  expect(message.length).toBeLessThan(400)
})
