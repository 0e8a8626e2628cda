/**
 * A typed client for the EdgeChat API: openapi-fetch over the types openapi-typescript generates from the server's
 * /openapi.json (./schema.ts). Paths, parameters, bodies and responses are checked against the API's contract.
 */
import createFetchClient, { type Client, type ClientOptions } from 'openapi-fetch'
import type { components, paths } from './schema.js'

export type { components, operations, paths } from './schema.js'
/** The API's named shapes: `Schemas['Conversation']`, `Schemas['Problem']`, … */
export type Schemas = components['schemas']
export type EdgeChatClient = Client<paths>

export interface EdgeChatClientOptions extends Omit<ClientOptions, 'baseUrl'> {
  /** The server's origin, e.g. `https://chat.example.com` (paths start with /v1). */
  baseUrl: string
  /**
   * Sent as `Authorization: Bearer …`: an API key (`sk_…`) or an access token, or a function that returns one for
   * each request (to refresh access tokens as they expire).
   */
  token?: string | (() => string | Promise<string>)
}

export function createClient({ token, ...options }: EdgeChatClientOptions): EdgeChatClient {
  const client = createFetchClient<paths>(options)
  if (token !== undefined) {
    client.use({
      async onRequest({ request }) {
        request.headers.set('Authorization', `Bearer ${typeof token === 'function' ? await token() : token}`)
        return request
      },
    })
  }
  return client
}
