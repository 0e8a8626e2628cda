/**
 * Where file bytes live, keyed by their SHA-256 (hex): R2 on Workers (r2-blob-store.ts), a directory on Node and Bun
 * (src/entries/directory-blob-store.ts). Content-addressed: equal bytes are stored once; `put` of a key that exists
 * keeps the stored copy.
 */
export interface BlobStore {
  put(key: string, bytes: Uint8Array): Promise<void>
  /** The bytes, or null when the key is absent. */
  get(key: string): Promise<Uint8Array<ArrayBuffer> | null>
  /** Removes the key; absent keys are no error. */
  delete(key: string): Promise<void>
}

/** Bytes held in this process (tests, and `:memory:` databases whose files die with the process anyway). */
export function memoryBlobStore(): BlobStore {
  const blobs = new Map<string, Uint8Array>()
  return {
    async put(key, bytes) {
      if (!blobs.has(key)) blobs.set(key, bytes.slice())
    },
    async get(key) {
      return blobs.get(key)?.slice() ?? null
    },
    async delete(key) {
      blobs.delete(key)
    },
  }
}
