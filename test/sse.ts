export interface ParsedEvent {
  id: number
  event: string
  data: Record<string, unknown>
}

/** Parses an SSE body into events; comment lines (`: ping`) are returned separately. */
export function parseSse(text: string): { events: ParsedEvent[]; comments: string[] } {
  const events: ParsedEvent[] = []
  const comments: string[] = []
  for (const block of text.split('\n\n')) {
    if (!block.trim()) continue
    const fields: Record<string, string> = {}
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) {
        comments.push(line.slice(1).trim())
        continue
      }
      const colon = line.indexOf(': ')
      if (colon < 0) throw new Error(`malformed SSE line: ${JSON.stringify(line)}`)
      fields[line.slice(0, colon)] = line.slice(colon + 2)
    }
    if (fields.event === undefined) continue
    events.push({ id: Number(fields.id), event: fields.event, data: JSON.parse(fields.data ?? 'null') })
  }
  return { events, comments }
}

/** Reads an SSE response incrementally, resolving once `until` matches an event. */
export async function readSseUntil(res: Response, until: (event: ParsedEvent) => boolean) {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
  let text = ''
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    text += value
    const complete = text.slice(0, text.lastIndexOf('\n\n') + 2)
    if (parseSse(complete).events.some(until)) return { events: parseSse(complete).events, reader }
  }
  return { events: parseSse(text).events, reader }
}

/** Reads the rest of an SSE body whose first events were already consumed by readSseUntil. */
export async function readRest(reader: ReadableStreamDefaultReader<string>): Promise<ParsedEvent[]> {
  let rest = ''
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    rest += value
  }
  return parseSse(rest.slice(rest.indexOf('id: '))).events
}
