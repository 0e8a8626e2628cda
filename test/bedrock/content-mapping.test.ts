import { describe, expect, it } from 'vitest'
import type { Part } from '../../src/chat/parts'
import { buildConverseMessages, contentBlocksToParts, partsToContentBlocks, type HistoryMessage } from '../../src/bedrock/content-mapping'

const parts: Part[] = [
  { type: 'text', text: 'hello' },
  { type: 'image', format: 'png', data: 'iVBORw0KGgo=' },
  { type: 'document', format: 'pdf', name: 'report', data: 'JVBERi0=' },
  { type: 'tool_call', toolUseId: 't1', name: 'weather', input: { city: 'Paris' } },
  { type: 'tool_result', toolUseId: 't1', content: 'sunny', isError: false },
  { type: 'tool_result', toolUseId: 't2', content: { temp: 21 }, isError: true },
  { type: 'reasoning', text: 'thinking', signature: 'sig' },
  { type: 'reasoning', text: 'unsigned' },
]

describe('Part[] ⇄ Converse content blocks', () => {
  it('maps every part type to its Converse block', () => {
    expect(partsToContentBlocks(parts)).toEqual([
      { text: 'hello' },
      { image: { format: 'png', source: { bytes: 'iVBORw0KGgo=' } } },
      { document: { format: 'pdf', name: 'report', source: { bytes: 'JVBERi0=' } } },
      { toolUse: { toolUseId: 't1', name: 'weather', input: { city: 'Paris' } } },
      { toolResult: { toolUseId: 't1', content: [{ text: 'sunny' }], status: 'success' } },
      { toolResult: { toolUseId: 't2', content: [{ json: { temp: 21 } }], status: 'error' } },
      { reasoningContent: { reasoningText: { text: 'thinking', signature: 'sig' } } },
      { reasoningContent: { reasoningText: { text: 'unsigned' } } },
    ])
  })

  it('round-trips', () => {
    expect(contentBlocksToParts(partsToContentBlocks(parts))).toEqual(parts)
  })

  it('sends non-object tool results as JSON text and reads multi-item results as arrays', () => {
    expect(partsToContentBlocks([{ type: 'tool_result', toolUseId: 'x', content: [1, 2], isError: false }])).toEqual([
      { toolResult: { toolUseId: 'x', content: [{ text: '[1,2]' }], status: 'success' } },
    ])
    expect(
      contentBlocksToParts([{ toolResult: { toolUseId: 'x', content: [{ text: 'a' }, { json: { b: 1 } }] } }, { cachePoint: { type: 'default' } } as never]),
    ).toEqual([{ type: 'tool_result', toolUseId: 'x', content: ['a', { b: 1 }], isError: false }])
  })
})

const user = (text: string): HistoryMessage => ({ role: 'user', parts: [{ type: 'text', text }], status: 'complete' })
const assistant = (text: string, status = 'complete'): HistoryMessage => ({
  role: 'assistant',
  parts: text ? [{ type: 'text', text }] : [],
  status,
})

describe('buildConverseMessages', () => {
  it('passes an alternating history through', () => {
    expect(buildConverseMessages([user('hi'), assistant('hello'), user('bye')])).toEqual([
      { role: 'user', content: [{ text: 'hi' }] },
      { role: 'assistant', content: [{ text: 'hello' }] },
      { role: 'user', content: [{ text: 'bye' }] },
    ])
  })

  it('skips failed or cancelled assistant messages without content and merges the users around them', () => {
    expect(buildConverseMessages([user('one'), assistant('', 'failed'), user('two'), assistant('', 'cancelled'), user('three')])).toEqual([
      { role: 'user', content: [{ text: 'one' }, { text: 'two' }, { text: 'three' }] },
    ])
  })

  it('keeps partial text of failed or cancelled answers', () => {
    expect(buildConverseMessages([user('one'), assistant('partial', 'cancelled'), user('two')])).toEqual([
      { role: 'user', content: [{ text: 'one' }] },
      { role: 'assistant', content: [{ text: 'partial' }] },
      { role: 'user', content: [{ text: 'two' }] },
    ])
  })

  it('merges consecutive same-role messages and drops blank text blocks', () => {
    const history: HistoryMessage[] = [
      { role: 'user', parts: [{ type: 'text', text: 'a' }, { type: 'text', text: '  ' }], status: 'complete' },
      { role: 'user', parts: [{ type: 'text', text: '' }, { type: 'image', format: 'png', data: 'AA==' }], status: 'complete' },
      assistant('x'),
      assistant('y', 'incomplete'),
    ]
    expect(buildConverseMessages(history)).toEqual([
      { role: 'user', content: [{ text: 'a' }, { image: { format: 'png', source: { bytes: 'AA==' } } }] },
      { role: 'assistant', content: [{ text: 'x' }, { text: 'y' }] },
    ])
  })

  it('drops leading assistant messages and returns [] without any user content', () => {
    expect(buildConverseMessages([assistant('welcome'), user('hi')])).toEqual([{ role: 'user', content: [{ text: 'hi' }] }])
    expect(buildConverseMessages([assistant('welcome'), user('   ')])).toEqual([])
  })

  it('splits an assistant message holding a whole tool loop into assistant / user / assistant turns', () => {
    const history: HistoryMessage[] = [
      user('weather?'),
      {
        role: 'assistant',
        status: 'complete',
        parts: [
          { type: 'reasoning', text: 'need tool', signature: 's' },
          { type: 'tool_call', toolUseId: 't1', name: 'weather', input: {} },
          { type: 'tool_result', toolUseId: 't1', content: 'sunny', isError: false },
          { type: 'text', text: 'It is sunny.' },
        ],
      },
      user('thanks'),
    ]
    expect(buildConverseMessages(history)).toEqual([
      { role: 'user', content: [{ text: 'weather?' }] },
      {
        role: 'assistant',
        content: [{ reasoningContent: { reasoningText: { text: 'need tool', signature: 's' } } }, { toolUse: { toolUseId: 't1', name: 'weather', input: {} } }],
      },
      { role: 'user', content: [{ toolResult: { toolUseId: 't1', content: [{ text: 'sunny' }], status: 'success' } }] },
      { role: 'assistant', content: [{ text: 'It is sunny.' }] },
      { role: 'user', content: [{ text: 'thanks' }] },
    ])
  })

  it('drops unsigned reasoning and tool calls left without results (e.g. a cancelled tool loop)', () => {
    const history: HistoryMessage[] = [
      user('go'),
      {
        role: 'assistant',
        status: 'cancelled',
        parts: [
          { type: 'reasoning', text: 'partial thought' },
          { type: 'text', text: 'Calling.' },
          { type: 'tool_call', toolUseId: 't9', name: 'search', input: {} },
        ],
      },
      { role: 'user', parts: [{ type: 'tool_result', toolUseId: 'unknown', content: 'x', isError: false }, { type: 'text', text: 'again' }], status: 'complete' },
    ]
    expect(buildConverseMessages(history)).toEqual([
      { role: 'user', content: [{ text: 'go' }] },
      { role: 'assistant', content: [{ text: 'Calling.' }] },
      { role: 'user', content: [{ text: 'again' }] },
    ])
  })

  it('removes a message emptied by dropping unpaired tool blocks and merges its neighbours', () => {
    const history: HistoryMessage[] = [
      user('go'),
      { role: 'assistant', status: 'failed', parts: [{ type: 'tool_call', toolUseId: 't1', name: 'search', input: {} }] },
      user('again'),
    ]
    expect(buildConverseMessages(history)).toEqual([{ role: 'user', content: [{ text: 'go' }, { text: 'again' }] }])
  })
})
