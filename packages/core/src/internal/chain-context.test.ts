import { createContextKey, ROOT_CONTEXT, trace, INVALID_SPAN_CONTEXT } from '@opentelemetry/api'
import { ChainContext, chainOver } from './chain-context'

const A = createContextKey('a')
const B = createContextKey('b')

describe('ChainContext', () => {
  test('behaves as the API context: set, override, delete, and the parent is never changed', () => {
    const parent = ROOT_CONTEXT.setValue(A, 1)
    const chained = new ChainContext(parent, B, 2)
    expect(chained.getValue(A)).toBe(1)
    expect(chained.getValue(B)).toBe(2)
    const overridden = chained.setValue(A, 3)
    expect(overridden.getValue(A)).toBe(3)
    expect(chained.getValue(A)).toBe(1)
    const deleted = overridden.deleteValue(B)
    expect(deleted.getValue(B)).toBeUndefined()
    expect(overridden.getValue(B)).toBe(2)
    expect(deleted.setValue(B, 4).getValue(B)).toBe(4)
    expect(parent.getValue(B)).toBeUndefined()
  })

  test('carries a span set through the trace API', () => {
    const span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT)
    const ctx = trace.setSpan(new ChainContext(ROOT_CONTEXT, A, 1), span)
    expect(trace.getSpan(ctx)).toBe(span)
    expect(trace.getSpan(trace.deleteSpan(ctx))).toBeUndefined()
    expect(ctx.getValue(A)).toBe(1)
  })

  test('chainOver(parent) reads as the parent, and what is set on it leaves the parent unchanged', () => {
    const parent = ROOT_CONTEXT.setValue(A, 1)
    const root = chainOver(parent)
    expect(root.getValue(A)).toBe(1)
    expect(root.getValue(B)).toBeUndefined()
    const span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT)
    const withSpan = trace.setSpan(root, span)
    expect(withSpan).toBeInstanceOf(ChainContext)
    expect(trace.getSpan(withSpan)).toBe(span)
    expect(trace.getSpan(root)).toBeUndefined()
    expect(trace.getSpan(parent)).toBeUndefined()
  })
})
