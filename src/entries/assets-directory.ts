import { readFile } from 'node:fs/promises'
import { extname, join, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { StaticAssets } from '../lib/static-assets'

/** The repository's public/ directory: what wrangler.toml [assets] uploads to Workers. */
export const PUBLIC_DIRECTORY = fileURLToPath(new URL('../../public', import.meta.url))

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
}

/** Static assets read from a directory on Node and Bun (files are read on each request: they are small but one). */
export function directoryAssets(directory: string = PUBLIC_DIRECTORY): StaticAssets {
  const root = resolve(directory)
  return {
    async get(path) {
      const file = resolve(join(root, path))
      const type = CONTENT_TYPES[extname(file)]
      if (!type || !file.startsWith(root + sep)) return null
      try {
        return new Response(new Uint8Array(await readFile(file)), { headers: { 'Content-Type': type } })
      } catch {
        return null
      }
    },
  }
}
