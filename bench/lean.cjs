// The lean one-span middleware's start, shared by the bench server (bench/server.cjs) and the
// in-process loop (bench/micro.mjs), so both measure the same code: W3C extract, one SERVER span with
// four attributes, and the context that carries it. Deliberately minimal (no request IDs, sessions,
// route-aware naming or fail-open guards).
'use strict'

const { propagation, trace, SpanKind, ROOT_CONTEXT } = require('@opentelemetry/api')

/** Starts the request's span under the caller's context; `ctx` is what the handler runs in. */
function startLeanSpan(tracer, req) {
  const parent = propagation.extract(ROOT_CONTEXT, req.headers)
  const span = tracer.startSpan(
    req.method,
    {
      kind: SpanKind.SERVER,
      attributes: {
        'http.request.method': req.method,
        'url.path': req.url,
        'url.scheme': 'http',
        'user_agent.original': req.headers['user-agent'],
      },
    },
    parent,
  )
  return { span, ctx: trace.setSpan(parent, span) }
}

module.exports = { startLeanSpan }
