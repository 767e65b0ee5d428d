// Listens on 127.0.0.1 (port from PORT, 0 for any) and tells the demo runner the address over IPC.
import { createServer } from 'node:http'

export function listen(handler) {
  const server = typeof handler.listen === 'function' && !handler.handle ? handler : createServer(handler)
  server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
    const { port } = server.address()
    if (process.send) process.send({ port })
    else console.log(`listening on http://127.0.0.1:${port}`)
  })
  return server
}
