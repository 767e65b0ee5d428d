// Listens on 127.0.0.1 (port from PORT, 0 for any) and tells the demo runner the address over IPC.
// The runner can also ask for this process's sampling stats ({ type: 'stats' }) before stopping it.
import { createServer } from 'node:http'
import { getSamplingStats } from '@traceweave/core'

export function listen(handler, extraStats = () => ({})) {
  const server = typeof handler.listen === 'function' && !handler.handle ? handler : createServer(handler)
  server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
    const { port } = server.address()
    if (process.send) process.send({ type: 'listening', port })
    else console.log(`listening on http://127.0.0.1:${port}`)
  })
  process.on('message', (message) => {
    if (message?.type === 'stats')
      process.send({ type: 'stats', sampling: getSamplingStats(), ...extraStats() })
  })
  return server
}
