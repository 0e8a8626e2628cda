import { serve, type HttpBindings } from '@hono/node-server'
import type { Server } from 'node:http'

export interface RunningServer {
  url: string
  close(): Promise<void>
}

/** Serves a fetch handler over real HTTP/1.1 on 127.0.0.1 and an ephemeral port. */
export function listen(fetch: (request: Request, bindings?: HttpBindings) => Response | Promise<Response>): Promise<RunningServer> {
  return new Promise((resolve) => {
    const server = serve({ fetch: (request, bindings) => fetch(request, bindings as HttpBindings), port: 0, hostname: '127.0.0.1' }, (info) => {
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        close: () =>
          new Promise<void>((done) => {
            ;(server as Server).closeAllConnections()
            server.close(() => done())
          }),
      })
    })
  })
}
