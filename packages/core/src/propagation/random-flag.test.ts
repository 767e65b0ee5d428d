import { ROOT_CONTEXT } from '@opentelemetry/api'
import { isTraceIdRandom, setTraceRandomness } from './random-flag'

const TRACE_A = '4bf92f3577b34da6a3ce929d0e0e4736'
const TRACE_B = '0af7651916cd43dd8448eb211c80319c'

describe('random flag record', () => {
  it('returns what was recorded for the same trace ID (Random Trace ID Flag: continuing a trace)', () => {
    expect(isTraceIdRandom(setTraceRandomness(ROOT_CONTEXT, TRACE_A, true), TRACE_A)).toBe(true)
    expect(isTraceIdRandom(setTraceRandomness(ROOT_CONTEXT, TRACE_A, false), TRACE_A)).toBe(false)
  })

  it('knows nothing about another trace ID (Random Trace ID Flag: starting or restarting a trace)', () => {
    expect(isTraceIdRandom(setTraceRandomness(ROOT_CONTEXT, TRACE_A, false), TRACE_B)).toBeUndefined()
    expect(isTraceIdRandom(ROOT_CONTEXT, TRACE_A)).toBeUndefined()
  })

  it('does not change the context it was given', () => {
    setTraceRandomness(ROOT_CONTEXT, TRACE_A, true)
    expect(isTraceIdRandom(ROOT_CONTEXT, TRACE_A)).toBeUndefined()
  })
})
