/** setupTracing({ disabled: true }) (or OTEL_SDK_DISABLED=true): the middlewares pass requests through untouched. */
import { setupTracing } from '@traceweave/node'
import request from 'supertest'
import { buildApp, FRAMEWORKS } from './support/middleware-apps'

test('tracing disabled: no spans, no request-ID header, the app answers as without traceweave', async () => {
  const tracing = setupTracing({ disabled: true, exporter: 'memory', flushOnExit: false })
  try {
    for (const framework of FRAMEWORKS) {
      const app = buildApp(framework)
      const ok = await request(app)
        .get('/users/1')
        .set('traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01')
        .expect(200)
      expect(ok.body.id).toBe('1')
      expect(ok.headers['x-request-id']).toBeUndefined()
      await request(app).get('/fail').expect(500)
    }
  } finally {
    await tracing.shutdown()
  }
})

test('after shutdown of a disabled setup, a new setup traces again', async () => {
  await setupTracing({ disabled: true, flushOnExit: false }).shutdown()
  const tracing = setupTracing({ exporter: 'memory', flushOnExit: false })
  try {
    const ok = await request(buildApp('express5')).get('/users/1').expect(200)
    expect(ok.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/)
    expect(tracing.memory.getFinishedSpans().map((span) => span.name)).toContain('GET /users/:id')
  } finally {
    await tracing.shutdown()
  }
})
