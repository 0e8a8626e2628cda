import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses } from '../../errors'
import { pathId, security } from '../../schemas'

export const connect = createRoute({
  method: 'get',
  path: '/v1/conversations/{id}/ws',
  tags: ['Conversations'],
  summary: 'WebSocket: send turns, cancel and resume over one connection',
  description:
    'Browsers cannot set headers on a WebSocket, so the token is also accepted as `?token=` or in ' +
    '`Sec-WebSocket-Protocol: bearer, <token>`. Client messages: `{type:"message", content, modelId?, inference?, ' +
    'parentId?}`, `{type:"cancel", generationId?}`, `{type:"resume", generationId, after}`. The server sends the ' +
    'same events as the SSE stream, one JSON object per message: `{id, event, data}`; a bad message gets ' +
    '`{event:"error", data:{code, status, message, errors?}}` and the socket stays open.',
  security,
  request: {
    params: z.object({ id: pathId('conv_01J...') }),
    query: z.object({ token: z.string().max(4096).optional() }),
  },
  responses: { 101: { description: 'Switching Protocols' }, ...errorResponses(400, 401, 404) },
})
