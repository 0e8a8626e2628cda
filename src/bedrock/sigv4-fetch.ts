import { AwsV4Signer } from 'aws4fetch'

export interface AwsCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
}

export interface SignedFetchOptions {
  region: string
  /** SigV4 (service 'bedrock'), or a Bedrock API key sent as `Authorization: Bearer` instead. */
  credentials?: AwsCredentials
  apiKey?: string
  fetch?: typeof fetch
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
  const { apiKey, credentials, region } = options
  if (apiKey) {
    return (url, init) =>
      send(url, { method: 'POST', headers: { ...init.headers, authorization: `Bearer ${apiKey}` }, body: init.body, signal: init.signal })
  }
  if (!credentials) throw new TypeError('Bedrock client needs credentials or an apiKey')
  // aws4fetch caches the derived signing key per secret, day, region and service here.
  const cache = new Map<string, ArrayBuffer>()
  return async (url, init) => {
    const signed = await new AwsV4Signer({
      method: 'POST',
      url,
      headers: init.headers,
      body: init.body,
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      sessionToken: credentials.sessionToken,
      service: 'bedrock',
      region,
      cache,
    }).sign()
    return send(url, { method: 'POST', headers: signed.headers, body: init.body, signal: init.signal })
  }
}
