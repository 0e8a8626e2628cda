import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses } from '../../errors'
import { access } from '../../middleware/scopes'
import { jsonContent } from '../../schemas'

export const TaskSchema = z
  .object({ name: z.string().openapi({ example: 'chat' }), description: z.string() })
  .openapi('Task', { description: 'A task handler: what a turn runs. An assistant or a turn names its task (default chat).' })

export const list = createRoute({
  method: 'get',
  path: '/v1/tasks',
  tags: ['Tools'],
  summary: 'The registered task handlers; chat is the first',
  ...access('read'),
  responses: { 200: jsonContent(z.object({ data: z.array(TaskSchema) }).openapi('TaskList'), 'Tasks'), ...errorResponses(401, 403) },
})
