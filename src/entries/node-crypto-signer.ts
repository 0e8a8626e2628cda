/**
 * aws4fetch's SigV4 signer with its hashing done by node:crypto, synchronously: Web Crypto on Node runs every digest
 * and HMAC as a thread-pool job behind a promise, which cost a Bedrock call more than the rest of its signing. The
 * canonical request, the headers and the key cache stay aws4fetch's; test/bedrock/node-crypto-signer.test.ts proves
 * the signatures equal. For the Node and Bun entries (SignedFetchOptions.signer).
 */
import { createHash, createHmac, type BinaryLike } from 'node:crypto'
import { AwsV4Signer } from 'aws4fetch'

const hmac = (key: BinaryLike, data: string) => createHmac('sha256', key).update(data).digest()
const sha256Hex = (data: BinaryLike) => createHash('sha256').update(data).digest('hex')

export class NodeCryptoSigner extends AwsV4Signer {
  override async hexBodyHash(): Promise<string> {
    const declared = this.headers.get('X-Amz-Content-Sha256')
    if (declared) return declared
    const body = this.body ?? ''
    if (typeof body !== 'string' && !ArrayBuffer.isView(body) && !(body instanceof ArrayBuffer)) return super.hexBodyHash()
    return sha256Hex(typeof body === 'string' ? body : ArrayBuffer.isView(body) ? new Uint8Array(body.buffer, body.byteOffset, body.byteLength) : new Uint8Array(body))
  }

  override async stringToSign(): Promise<string> {
    return ['AWS4-HMAC-SHA256', this.datetime, this.credentialString, sha256Hex(await this.canonicalString())].join('\n')
  }

  override async signature(): Promise<string> {
    const date = this.datetime.slice(0, 8)
    const cacheKey = [this.secretAccessKey, date, this.region, this.service].join()
    let key = this.cache.get(cacheKey)
    if (!key) {
      const derived = hmac(hmac(hmac(hmac(`AWS4${this.secretAccessKey}`, date), this.region), this.service), 'aws4_request')
      key = derived.buffer.slice(derived.byteOffset, derived.byteOffset + derived.byteLength) as ArrayBuffer
      this.cache.set(cacheKey, key)
    }
    return createHmac('sha256', new Uint8Array(key)).update(await this.stringToSign()).digest('hex')
  }
}
