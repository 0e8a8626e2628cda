/**
 * The FLOOR for `npm run bench`: the least a streaming chat relay can do on this runtime. A bare `node:http`
 * server (no framework, no auth, no database, no validation) that, for each POST, makes the same SigV4-signed
 * ConverseStream call to the emulator as EdgeChat does (aws4fetch signing per request, with aws4fetch's
 * signing-key cache), splits the event-stream frames (lengths only: no CRC checks), JSON-parses each payload and
 * writes the text deltas out as SSE in EdgeChat's grammar — one write per network chunk.
 *
 * Two floors, by UPSTREAM: `fetch` (default) sends the call with the runtime's global fetch, as EdgeChat's code
 * does; `node-http` sends it with `node:http`'s client over a keep-alive agent and reads the response as Node
 * Buffers — the bare relay, the least a relay can do on Node.
 *
 * Plain JavaScript on purpose (no tsx, no bundler): `node bench/floor.mjs`. Listens on 127.0.0.1:PORT
 * (0 = any free port; the chosen port is printed as `listening <port>`).
 * Env: PORT, UPSTREAM, BEDROCK_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, MODEL_ID.
 */
import http from 'node:http'
import { AwsV4Signer } from 'aws4fetch'

const endpoint = (process.env.BEDROCK_ENDPOINT ?? 'http://127.0.0.1:4010').replace(/\/+$/, '')
const region = process.env.AWS_REGION ?? 'us-east-1'
const accessKeyId = process.env.AWS_ACCESS_KEY_ID ?? 'AKIDEXAMPLE'
const secretAccessKey = process.env.AWS_SECRET_ACCESS_KEY ?? 'fake-secret'
const modelId = process.env.MODEL_ID ?? 'amazon.nova-lite-v1:0'
const url = `${endpoint}/model/${encodeURIComponent(modelId)}/converse-stream`
const signingCache = new Map()
const upstreamKind = process.env.UPSTREAM ?? 'fetch'
if (upstreamKind !== 'fetch' && upstreamKind !== 'node-http') throw new Error(`UPSTREAM must be fetch or node-http, not ${upstreamKind}`)
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity })
const utf8 = new TextDecoder()
let generations = 0

const sse = (id, type, data) => `id: ${id}\nevent: ${type}\ndata: ${JSON.stringify(data)}\n\n`

const server = http.createServer(async (req, res) => {
  if (req.method !== 'POST') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok')
    return
  }
  const upstreamAbort = new AbortController()
  res.once('close', () => upstreamAbort.abort())
  try {
    let body = ''
    for await (const chunk of req) body += chunk
    const { content } = JSON.parse(body)
    const generationId = `gen_floor_${++generations}`
    let id = 0
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform' })
    res.write(sse(++id, 'generation.started', { generationId }))

    const payload = JSON.stringify({ messages: [{ role: 'user', content: [{ text: content }] }], inferenceConfig: { maxTokens: 2048 } })
    const signed = await new AwsV4Signer({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json', accept: 'application/vnd.amazon.eventstream' },
      body: payload,
      accessKeyId,
      secretAccessKey,
      service: 'bedrock',
      region,
      cache: signingCache,
    }).sign()
    const upstream = await send(signed.headers, payload, upstreamAbort.signal)
    if (upstream.status !== 200) {
      res.end(sse(++id, 'generation.failed', { generationId, code: 'upstream_error', message: `HTTP ${upstream.status}` }))
      return
    }
    let pending = null // bytes of a frame split across chunks
    let usage = null
    for await (const chunk of upstream.body) {
      let bytes = pending ? Buffer.concat([pending, chunk]) : chunk
      pending = null
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      let offset = 0
      let out = ''
      while (bytes.length - offset >= 12) {
        const total = view.getUint32(offset)
        if (bytes.length - offset < total) break
        const headersLength = view.getUint32(offset + 4)
        const event = JSON.parse(utf8.decode(bytes.subarray(offset + 12 + headersLength, offset + total - 4)))
        if (typeof event.delta?.text === 'string') out += sse(++id, 'text.delta', { generationId, delta: event.delta.text })
        else if (event.usage) usage = event.usage
        offset += total
      }
      if (offset < bytes.length) pending = bytes.slice(offset)
      if (out) res.write(out)
    }
    if (usage) res.write(sse(++id, 'usage', { generationId, inputTokens: usage.inputTokens, outputTokens: usage.outputTokens }))
    res.end(sse(++id, 'generation.completed', { generationId, stopReason: 'end_turn' }))
  } catch (error) {
    if (!res.headersSent) res.writeHead(500)
    res.end(sse(0, 'generation.failed', { code: 'internal', message: String(error) }))
  }
})

/** The signed call: `{status, body}` where body is an async iterable of byte chunks. */
async function send(headers, payload, signal) {
  if (upstreamKind === 'fetch') {
    const response = await fetch(url, { method: 'POST', headers, body: payload, signal })
    return { status: response.status, body: response.body ?? [] }
  }
  const response = await new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'POST', headers: Object.fromEntries(headers), agent, signal }, resolve)
    request.once('error', reject)
    request.end(payload)
  })
  return { status: response.statusCode, body: response }
}

server.keepAliveTimeout = 30_000
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => console.log(`listening ${server.address().port}`))
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => process.exit(0))
