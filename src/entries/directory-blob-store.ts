import { randomUUID } from 'node:crypto'
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { BlobStore } from '../files/blob-store'

const KEY = /^[0-9a-f]{64}$/

/**
 * A directory as the blob store (Node, Bun; FILES_DIR, default ./data/files): each blob is a file named by its
 * SHA-256 under two levels of fan-out (ab/cd/abcd…). Written atomically: to a temporary file in the same directory,
 * then renamed into place, so a reader never sees a partial blob and a crash leaves only a temporary file.
 */
export function directoryBlobStore(root: string): BlobStore {
  const pathOf = (key: string) => {
    if (!KEY.test(key)) throw new Error('blob keys are SHA-256 hex digests')
    return join(root, key.slice(0, 2), key.slice(2, 4), key)
  }
  return {
    async put(key, bytes) {
      const path = pathOf(key)
      if (await stat(path).then(() => true, () => false)) return
      const dir = join(root, key.slice(0, 2), key.slice(2, 4))
      await mkdir(dir, { recursive: true, mode: 0o700 })
      const temporary = join(dir, `.${key}.${randomUUID()}.tmp`)
      try {
        await writeFile(temporary, bytes, { mode: 0o600, flush: true })
        await rename(temporary, path)
      } catch (error) {
        await rm(temporary, { force: true })
        throw error
      }
    },
    async get(key) {
      try {
        return new Uint8Array(await readFile(pathOf(key)))
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
        throw error
      }
    },
    async delete(key) {
      await rm(pathOf(key), { force: true })
    },
  }
}
