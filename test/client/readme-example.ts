/** The README's typed call, compiled by `npm run typecheck` so the example stays true. Never run. */
import { createClient } from '../../client/src/index'

export async function readmeExample() {
  const api = createClient({ baseUrl: 'http://localhost:8787', token: process.env.EDGECHAT_API_KEY })

  const { data: conversation, error } = await api.POST('/v1/conversations', { body: { title: 'Hello' } })
  if (error) throw new Error(`${error.code}: ${error.detail}`) // an RFC 9457 problem, typed
  const { data } = await api.POST('/v1/conversations/{id}/messages', {
    params: { path: { id: conversation.id } },
    body: { content: 'Hi there', stream: false },
  })
  return data
}
