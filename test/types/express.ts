/**
 * Type tests for @traceweave/express (compiled by `pnpm run test:types`, never run): the option
 * callbacks get Express's own `Request`, so annotated callbacks compile and typos do not.
 */
import express, { type Request } from 'express'
import type Koa from 'koa'
import { expectTypeOf } from 'expect-type'
import { traceweave, traceweaveErrors } from '@traceweave/express'

// Callbacks annotated with Express's Request compile (TS2322 before the options used it).
traceweave({ user: (req: express.Request) => req.get('x-user-id') })
traceweave({ ignore: (req: Request) => req.path === '/health' })
traceweave({ trustIncoming: (req: Request) => req.ip === '10.0.0.5' })
traceweave({
  session: { from: (req: Request) => req.get('x-session-id'), operation: (req: Request) => req.get('x-op') },
})

// Unannotated callbacks get Express's Request, not a bag of `any`.
traceweave({
  user: (req) => {
    expectTypeOf(req).toEqualTypeOf<Request>()
    return req.get('x-user-id')
  },
  ignore: (req) => {
    expectTypeOf(req).toEqualTypeOf<Request>()
    return req.originalUrl.startsWith('/internal')
  },
  session: { from: (req) => req.get('x-session-id') },
})

// @ts-expect-error a typo: Express's Request has no `gett`
traceweave({ user: (req) => req.gett('x-user-id') })
// @ts-expect-error `user` returns the user ID (a string), not a number
traceweave({ user: (req) => req.get('x-user-id')?.length })
// @ts-expect-error `ignore` is a predicate
traceweave({ ignore: (req) => req.path })
// @ts-expect-error a Koa context is not an Express request
traceweave({ user: (ctx: Koa.Context) => ctx.get('x-user-id') })

traceweave({ correlation: { propagate: ['session', 'user'] } })
// @ts-expect-error correlation.propagate names 'session' and 'user' only
traceweave({ correlation: { propagate: ['sessions'] } })

// Both middlewares mount on an Express app.
const app = express()
app.use(traceweave())
app.use(traceweaveErrors())
app.use(express.Router().use(traceweave()))
