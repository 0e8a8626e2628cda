import { AwsV4Signer } from 'aws4fetch'
import { AwsCredentialsError, type AwsCredentialProvider, type AwsCredentials } from './aws-credentials'
import { BedrockError } from './bedrock-error'

export type { AwsCredentialProvider, AwsCredentials }

export interface SignedFetchOptions {
  region: string
  /**
   * SigV4 (service 'bedrock') with fixed credentials or a provider asked before every request (it caches and
   * refreshes temporary ones); or a Bedrock API key sent as `Authorization: Bearer` instead.
   */
  credentials?: AwsCredentials | AwsCredentialProvider
  apiKey?: string
  fetch?: typeof fetch
  /** aws4fetch's signer, or a subclass with the runtime's own hashing (the Node and Bun entries'). */
  signer?: typeof AwsV4Signer
}

export interface SignedRequestInit {
  headers: Record<string, string>
  body: string
  signal?: AbortSignal
}

/** POSTs `body` to `url`, authenticated for Bedrock. Makes exactly one attempt: retries belong to the caller. */
export type SignedFetch = (url: string, init: SignedRequestInit) => Promise<Response>

export function createSignedFetch(options: SignedFetchOptions): SignedFetch {
  const send = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init))
  const { apiKey, credentials, region, signer: Signer = AwsV4Signer } = options
  if (apiKey) {
    return (url, init) =>
      send(url, { method: 'POST', headers: { ...init.headers, authorization: `Bearer ${apiKey}` }, body: init.body, signal: init.signal })
  }
  if (!credentials) throw new TypeError('Bedrock client needs credentials or an apiKey')
  const provide: AwsCredentialProvider = typeof credentials === 'function' ? credentials : () => Promise.resolve(credentials)
  // aws4fetch caches the derived signing key per secret, day, region and service here.
  const cache = new Map<string, ArrayBuffer>()
  return async (url, init) => {
    let current: AwsCredentials
    try {
      current = await provide()
    } catch (error) {
      if (!(error instanceof AwsCredentialsError)) throw error
      // Not retried here: the provider has already tried its endpoint and kept any credentials still usable.
      throw new BedrockError({ type: 'CredentialsError', message: `AWS credentials unavailable: ${error.message}`, retryable: false, cause: error })
    }
    if (cache.size > 16) cache.clear()
    const signed = await new Signer({
      method: 'POST',
      url,
      headers: init.headers,
      body: init.body,
      accessKeyId: current.accessKeyId,
      secretAccessKey: current.secretAccessKey,
      sessionToken: current.sessionToken,
      service: 'bedrock',
      region,
      cache,
    }).sign()
    return send(url, { method: 'POST', headers: signed.headers, body: init.body, signal: init.signal })
  }
}
