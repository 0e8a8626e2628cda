import { describe, expect, it } from 'vitest'
import { DOCUMENT_TOKENS, fitHistory, IMAGE_TOKENS, stripMedia } from '../../src/chat/history'
import type { Part } from '../../src/chat/parts'
import type { HistoryMessage } from '../../src/db/repositories/messages'

let counter = 0
const message = (role: 'user' | 'assistant', parts: Part[], status = 'complete'): HistoryMessage => ({
  id: `msg_${++counter}`,
  parentId: null,
  role,
  parts: stripMedia(parts),
  status: status as HistoryMessage['status'],
})
const text = (t: string): Part => ({ type: 'text', text: t })
const image = (): Part => ({ type: 'image', format: 'png', data: 'AAAA' })
const doc = (name: string): Part => ({ type: 'document', format: 'txt', name, data: 'AAAA' })

describe('fitHistory', () => {
  it('sends everything when it fits', () => {
    const history = [message('user', [text('hi'), image()]), message('assistant', [text('hello')]), message('user', [text('again')])]
    expect(fitHistory(history, 100_000)).toEqual({ messages: history, omitted: null })
  })

  it('drops media of the oldest messages first, down to 20 images and 5 documents', () => {
    const history = [
      message('user', [text('old'), ...Array.from({ length: 10 }, image), doc('a'), doc('b'), doc('c')]),
      message('assistant', [text('ok')]),
      message('user', [text('mid'), ...Array.from({ length: 10 }, image), doc('d'), doc('e')]),
      message('assistant', [text('ok')]),
      message('user', [text('new'), image(), doc('f')]),
    ]
    const fitted = fitHistory(history, 1_000_000)
    expect(fitted.omitted).toEqual({ omittedMessages: 0, omittedImages: 10, omittedDocuments: 3 })
    expect(fitted.messages).toHaveLength(5)
    expect(fitted.messages[0]!.parts).toEqual([text('old'), ...Array(10).fill(text('[image omitted]')), text('[document "a" omitted]'), text('[document "b" omitted]'), text('[document "c" omitted]')])
    expect(fitted.messages[2]).toBe(history[2])
  })

  it('then drops the oldest messages to fit the token budget, never the last one', () => {
    const history = [
      message('user', [text('a'.repeat(400)), image()]),
      message('assistant', [text('b'.repeat(400))]),
      message('assistant', [], 'failed'),
      message('user', [text('c'.repeat(400))]),
    ]
    // 100 tokens each of text; the image goes first, then the oldest messages.
    expect(fitHistory(history, 250).messages.map((m) => m.id)).toEqual([history[1]!.id, history[2]!.id, history[3]!.id])
    const fitted = fitHistory(history, 150)
    expect(fitted.messages.map((m) => m.id)).toEqual([history[2]!.id, history[3]!.id])
    expect(fitted.omitted).toEqual({ omittedMessages: 2, omittedImages: 1, omittedDocuments: 0 })
    const none = fitHistory(history, 0)
    expect(none.messages).toEqual([history[3]])
    expect(none.omitted).toEqual({ omittedMessages: 2, omittedImages: 1, omittedDocuments: 0 })
  })

  it('only drops media when that is enough for the budget', () => {
    const history = [message('user', [text('q'), image(), doc('x')]), message('assistant', [text('a')]), message('user', [text('next')])]
    const fitted = fitHistory(history, IMAGE_TOKENS + DOCUMENT_TOKENS - 1)
    expect(fitted.messages).toHaveLength(3)
    expect(fitted.omitted).toEqual({ omittedMessages: 0, omittedImages: 1, omittedDocuments: 1 })
  })
})
