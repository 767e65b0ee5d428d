/**
 * Without a registered TracerProvider (and no context manager) the middlewares pass requests through,
 * warn once, and keep request IDs: echoed, and returned by getRequestId() in the handlers.
 */
import { diag, DiagLogLevel } from '@opentelemetry/api'
import request from 'supertest'
import { buildApp, FRAMEWORKS } from './support/middleware-apps'

test('no provider: every framework passes requests through with request IDs, and one warning in all', async () => {
  const warnings: string[] = []
  const noop = () => {}
  diag.setLogger(
    {
      error: noop,
      warn: (...args: unknown[]) => warnings.push(args.join(' ')),
      info: noop,
      debug: noop,
      verbose: noop,
    },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  )
  try {
    for (const framework of FRAMEWORKS) {
      const app = buildApp(framework)
      const ok = await request(app).get('/users/1').set('x-request-id', 'keep-me').expect(200)
      expect(ok.headers['x-request-id']).toBe('keep-me')
      expect(ok.body.id).toBe('1')
      // No context manager either (jest runs this file without setupTracing): getRequestId() still answers.
      expect(ok.body.requestId).toBe('keep-me')
      const failed = await request(app).get('/fail').expect(500)
      expect(failed.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/)
    }
    expect(warnings.filter((message) => message.includes('no TracerProvider'))).toHaveLength(1)
  } finally {
    diag.disable()
  }
})
