import { z } from '@hono/zod-openapi'
import { roles } from './db/schema'

export const RoleSchema = z.enum(roles).openapi('Role')

export const UserSchema = z
  .object({ id: z.string(), email: z.string(), name: z.string().nullable(), createdAt: z.string() })
  .openapi('User')

export const WorkspaceSchema = z
  .object({ id: z.string(), name: z.string(), role: RoleSchema, createdAt: z.string() })
  .openapi('Workspace')

export const TokenPairSchema = z
  .object({
    accessToken: z.string(),
    refreshToken: z.string(),
    tokenType: z.literal('Bearer'),
    expiresIn: z.number().int().openapi({ description: 'Access token lifetime in seconds' }),
  })
  .openapi('TokenPair')

export const pathId = (example: string) => z.string().min(1).max(100).openapi({ example })

export const EmailSchema = z.email({ pattern: z.regexes.unicodeEmail }).max(254)

export const jsonContent = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { 'application/json': { schema } },
  description,
})

export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  body: { content: { 'application/json': { schema } }, required: true },
})

export function renderUser(user: { id: string; email: string; name: string | null; createdAt: Date }) {
  return { id: user.id, email: user.email, name: user.name, createdAt: user.createdAt.toISOString() }
}

export function renderWorkspace(workspace: { id: string; name: string; role: z.infer<typeof RoleSchema>; createdAt: Date }) {
  return { id: workspace.id, name: workspace.name, role: workspace.role, createdAt: workspace.createdAt.toISOString() }
}
