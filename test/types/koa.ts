/**
 * Type tests for @traceweave/koa (compiled by `pnpm run test:types`, never run): the option callbacks
 * get Koa's own `Context`, so annotated callbacks compile and misuse does not.
 */
import Koa, { type Context } from 'koa'
import { Router } from '@koa/router'
import type express from 'express'
import { expectTypeOf } from 'expect-type'
import { traceweave } from '@traceweave/koa'

// Callbacks annotated with Koa's Context compile (TS2322 before the options used it).
traceweave({ user: (ctx: Koa.Context) => ctx.get('x-user-id') })
traceweave({ ignore: (ctx: Context) => ctx.path === '/health' })
traceweave({ trustIncoming: (ctx: Context) => ctx.ip === '10.0.0.5' })
traceweave({
  session: { from: (ctx: Context) => ctx.cookies.get('sid'), operation: (ctx: Context) => ctx.get('x-op') },
})

// Unannotated callbacks get Koa's Context. (Koa's Context allows any extra property, `ctx.anything`,
// for what apps add to it; its own members and `ctx.request` are checked.)
traceweave({
  user: (ctx) => {
    expectTypeOf(ctx).toEqualTypeOf<Context>()
    return ctx.get('x-user-id')
  },
  ignore: (ctx) => ctx.request.path === '/health',
})

// @ts-expect-error a typo: Koa's request has no `gett`
traceweave({ user: (ctx) => ctx.request.gett('x-user-id') })
// @ts-expect-error a header name is a string
traceweave({ user: (ctx) => ctx.get(42) })
// @ts-expect-error `ignore` is a predicate
traceweave({ ignore: (ctx) => ctx.path })
// @ts-expect-error an Express request is not a Koa context
traceweave({ user: (req: express.Request) => req.get('x-user-id') })

// The middleware mounts on a Koa app, before a router, typed state included.
const app = new Koa()
app.use(traceweave())
const typed = new Koa<{ user?: string }>()
typed.use(traceweave())
const router = new Router()
router.get('/users/:id', (ctx) => {
  ctx.body = ctx.params.id
})
app.use(router.routes())
