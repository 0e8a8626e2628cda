// @ts-check
// Server-sent events read from a fetch() response (EventSource cannot send an Authorization header).

/**
 * The events of a text/event-stream body, in order. Comment lines (`: ping`) are skipped.
 * @param {Response} res
 * @returns {AsyncGenerator<{ id: number | null, event: string, data: any }>}
 */
export async function* readEvents(res) {
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''
  let event = { id: null, event: 'message', data: '' }
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      buffer += value
      let newline
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline).replace(/\r$/, '')
        buffer = buffer.slice(newline + 1)
        if (line === '') {
          if (event.data !== '') yield { id: event.id, event: event.event, data: JSON.parse(event.data.replace(/\n$/, '')) }
          event = { id: null, event: 'message', data: '' }
          continue
        }
        if (line.startsWith(':')) continue
        const colon = line.indexOf(':')
        const field = colon < 0 ? line : line.slice(0, colon)
        const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
        if (field === 'id') event.id = Number(text)
        else if (field === 'event') event.event = text
        else if (field === 'data') event.data += `${text}\n`
      }
    }
  } finally {
    reader.releaseLock()
  }
}
