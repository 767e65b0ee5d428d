// `node --expose-gc bench/alternatives.mjs`: the per-request price of the ways the server lifecycle could learn
// that a response ended (issue 15's "one process-wide subscriber instead of per-request listeners").
// In-process, no I/O: each way is run in alternating batches and the median per request is printed,
// next to the same loop doing nothing extra, so only differences within one run are read.
//
//   close listener     what the lifecycle does: one closure per request on the response's 'close'
//   channel + symbol   a process-wide `diagnostics_channel` subscriber (`http.server.response.finish`),
//                      finding the record through a symbol property on `req` (on Express's requests,
//                      whose prototype Express replaces, the property is the expensive part)
//   channel + WeakMap  the same subscriber, finding the record in a WeakMap keyed by `req`
import diagnosticsChannel from 'node:diagnostics_channel'
import { IncomingMessage, ServerResponse } from 'node:http'
import { Socket } from 'node:net'

const SOCKET = new Socket()
const RECORD = Symbol('record')
// Express sets its own request prototype on every request (`Object.setPrototypeOf(req, app.request)`).
const expressLikeRequest = Object.create(IncomingMessage.prototype)
const channel = diagnosticsChannel.channel('traceweave.bench.response.finish')
const records = new WeakMap()
let ended = 0
channel.subscribe((message) => {
  const record = message.request[RECORD] ?? records.get(message.request)
  if (record !== undefined) record.ended = true
  ended++
})

function exchange(express) {
  const req = new IncomingMessage(SOCKET)
  if (express) Object.setPrototypeOf(req, expressLikeRequest)
  const res = new ServerResponse(req)
  return { req, res, record: { req, res, ended: false } }
}

// Node publishes { request, response, socket, server } when the channel has subscribers.
const publish = (req, res) =>
  channel.publish({ request: req, response: res, socket: SOCKET, server: undefined })

const WAYS = {
  baseline: (express) => {
    const { res } = exchange(express)
    res.emit('close')
  },
  'close listener': (express) => {
    const { res, record } = exchange(express)
    res.on('close', () => {
      record.ended = true
    })
    res.emit('close')
  },
  'channel + symbol': (express) => {
    const { req, res, record } = exchange(express)
    req[RECORD] = record
    publish(req, res)
    res.emit('close')
  },
  'channel + WeakMap': (express) => {
    const { req, res, record } = exchange(express)
    records.set(req, record)
    publish(req, res)
    res.emit('close')
  },
}

function perRequest(fn, express, n) {
  // Each batch starts from a collected heap, so one batch does not pay for the garbage of another.
  globalThis.gc?.()
  const start = process.hrtime.bigint()
  for (let i = 0; i < n; i++) fn(express)
  return Number(process.hrtime.bigint() - start) / n
}

const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1]
for (const express of [false, true]) {
  const samples = Object.fromEntries(Object.keys(WAYS).map((name) => [name, []]))
  for (let round = 0; round < 45; round++)
    for (const [name, fn] of Object.entries(WAYS)) samples[name].push(perRequest(fn, express, 20_000))
  const base = median(samples.baseline.slice(5))
  console.log(`${process.version}, ${express ? 'Express-like req (prototype replaced)' : 'plain req'}:`)
  for (const name of Object.keys(WAYS).slice(1)) {
    const cost = median(samples[name].slice(5)) - base
    console.log(`  ${name.padEnd(18)} +${cost.toFixed(0).padStart(4)} ns per request over the baseline`)
  }
}
if (ended === 0) throw new Error('the subscriber never ran')
