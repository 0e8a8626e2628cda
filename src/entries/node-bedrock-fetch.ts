/**
 * The Node and Bun entries' `fetch` for Bedrock, over node:http / node:https with keep-alive agents. A streamed
 * answer's chunks are handed to the decoder as they leave the socket (`withChunkReader`), instead of passing through
 * undici's fetch and a Web stream (a promise chain per chunk); any other answer (an error, Converse's JSON) is read
 * whole into an ordinary Response. test/bedrock/bedrock-client-node-fetch.test.ts runs the client's suite over it.
 */
import http, { type IncomingMessage } from 'node:http'
import https from 'node:https'
import { withChunkReader, type ChunkReader } from '../bedrock/chunk-reader'

const agents = { 'http:': new http.Agent({ keepAlive: true }), 'https:': new https.Agent({ keepAlive: true }) }

function responseHeaders(message: IncomingMessage): Headers {
  const headers = new Headers()
  for (const [name, value] of Object.entries(message.headers)) {
    if (Array.isArray(value)) for (const each of value) headers.append(name, each)
    else if (value !== undefined) headers.set(name, value)
  }
  return headers
}

function readerOf(message: IncomingMessage): ChunkReader {
  const chunks = message[Symbol.asyncIterator]() as AsyncIterator<Buffer>
  return {
    async read() {
      const next = await chunks.next()
      return next.done ? { done: true, value: undefined } : { done: false, value: next.value }
    },
    async cancel() {
      message.destroy()
    },
  }
}

export const nodeBedrockFetch = (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> =>
  new Promise((resolve, reject) => {
    const url = new URL(input instanceof Request ? input.url : String(input))
    const agent = url.protocol === 'https:' ? agents['https:'] : url.protocol === 'http:' ? agents['http:'] : null
    if (!agent) return reject(new TypeError(`unsupported protocol ${url.protocol}`))
    const body = typeof init.body === 'string' ? init.body : ''
    const headers: Record<string, string> = { 'content-length': String(Buffer.byteLength(body)) }
    new Headers(init.headers).forEach((value, name) => (headers[name] = value))
    const request = (url.protocol === 'https:' ? https : http).request(url, { method: init.method ?? 'GET', headers, agent, signal: init.signal ?? undefined }, (message) => {
      const status = message.statusCode ?? 502
      const streamed = status >= 200 && status < 300 && message.headers['content-type']?.includes('eventstream')
      if (streamed) return resolve(withChunkReader(new Response(null, { status, headers: responseHeaders(message) }), readerOf(message)))
      const chunks: Buffer[] = []
      message.on('data', (chunk: Buffer) => chunks.push(chunk))
      message.on('error', reject)
      message.on('end', () => resolve(new Response(status === 204 || status === 304 ? null : Buffer.concat(chunks), { status, headers: responseHeaders(message) })))
    })
    request.on('error', reject)
    request.end(body)
  })
