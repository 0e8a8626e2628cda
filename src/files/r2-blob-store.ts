import type { BlobStore } from './blob-store'

/** An R2 bucket (the Worker's FILES binding) as the blob store; objects are named by their SHA-256. */
export function r2BlobStore(bucket: R2Bucket): BlobStore {
  return {
    async put(key, bytes) {
      // R2 checks the digest it is given against the bytes it receives.
      await bucket.put(key, bytes, { sha256: key })
    },
    async get(key) {
      const object = await bucket.get(key)
      return object ? new Uint8Array(await object.arrayBuffer()) : null
    },
    async delete(key) {
      await bucket.delete(key)
    },
  }
}
