/**
 * What the ConverseStream decoder reads a response body through: a Web stream's reader, or the chunks a runtime
 * entry's `fetch` hands over directly, without a Web stream in between (the Node entry's, over node:http:
 * `entries/node-bedrock-fetch.ts`).
 */
export type ChunkReader = Pick<ReadableStreamDefaultReader<Uint8Array>, 'read' | 'cancel'>

const READER = Symbol('chunkReader')

/** `response` (its body null) carrying the reader of its body's chunks. */
export function withChunkReader(response: Response, reader: ChunkReader): Response {
  Object.defineProperty(response, READER, { value: reader })
  return response
}

/** The reader of `response`'s body: the one handed over, else its Web stream's; null without a body. */
export function chunkReader(response: Response): ChunkReader | null {
  return (response as { [READER]?: ChunkReader })[READER] ?? response.body?.getReader() ?? null
}
