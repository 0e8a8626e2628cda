import { OpenAPIHono } from '@hono/zod-openapi'
import { validationHook } from '../errors'
import type { AppEnv } from '../types'

/** Every router renders request validation failures the same way. */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({ strict: false, defaultHook: validationHook })
}
