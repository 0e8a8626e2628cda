import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses } from '../../errors'
import { access } from '../../middleware/scopes'
import { pathId } from '../../schemas'

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
    '`{event:"error", data:{code, status, message, errors?}}` (`validation_failed` always with `errors`) and the ' +
    'socket stays open. A socket follows a generation once: resuming one it already follows is a `conflict`. ' +
    'Limits: frames up to MAX_TURN_BODY_BYTES (larger: close 1009); 20 frames/s, bursts of 40 (past it: ' +
    '`rate_limited` with `retryAfter`; 40 more such frames: close 1008); a client that stops reading is dropped ' +
    'after 30 s. The credential and access are checked again on every frame, every 30 s and at the token\'s ' +
    'expiry: close 4401 when the token expired or the API key was deleted, 4403 when the conversation is no longer ' +
    'visible (e.g. removed from its workspace).',
  ...access('chat'),
  request: {
    params: z.object({ id: pathId('conv_01J...') }),
    query: z.object({ token: z.string().max(4096).optional() }),
  },
  responses: { 101: { description: 'Switching Protocols' }, ...errorResponses(400, 401, 404) },
})
