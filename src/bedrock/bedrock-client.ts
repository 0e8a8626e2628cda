import { abortError, sleep as abortableSleep } from './abort'
import { BedrockError, bedrockErrorFromResponse } from './bedrock-error'
import { toConverseResponse } from './converse-response'
import { chunkReader } from './chunk-reader'
import { converseStreamEvents } from './converse-stream'
import { createSignedFetch, type AwsCredentialProvider, type AwsCredentials, type SignedFetchOptions } from './sigv4-fetch'
import type { BedrockClient, CallOptions, ConverseRequest, ConverseResponse, ConverseStreamEvents } from './types'

export interface BedrockClientOptions {
  region: string
  /** Defaults to `https://bedrock-runtime.${region}.amazonaws.com`. */
  endpoint?: string
  /** SigV4 credentials (fixed, or a provider of current ones); or `apiKey`, a Bedrock API key sent as a Bearer token (which wins when both are set). */
  credentials?: AwsCredentials | AwsCredentialProvider
  apiKey?: string
  fetch?: typeof fetch
  signer?: SignedFetchOptions['signer']
  /** HTTP attempts per call, the first included. */
  maxAttempts?: number
  /** Full-jitter exponential backoff: attempt n waits random() × min(maxDelayMs, baseDelayMs × 2^(n-1)). */
  baseDelayMs?: number
  maxDelayMs?: number
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
  random?: () => number
}

type Operation = 'converse' | 'converse-stream'

export function createBedrockClient(options: BedrockClientOptions): BedrockClient {
  const endpoint = (options.endpoint ?? `https://bedrock-runtime.${options.region}.amazonaws.com`).replace(/\/+$/, '')
  const signedFetch = createSignedFetch(options)
  const maxAttempts = Math.max(1, options.maxAttempts ?? 3)
  const baseDelayMs = options.baseDelayMs ?? 200
  const maxDelayMs = options.maxDelayMs ?? 5_000
  const sleep = options.sleep ?? abortableSleep
  const random = options.random ?? Math.random

  /**
   * Retries only on the response status (or a failed connection), i.e. before any byte of the
   * answer exists; once a 2xx response is returned nothing is ever retried.
   */
  async function send(operation: Operation, request: ConverseRequest, signal: AbortSignal | undefined) {
    const { modelId, ...payload } = request
    const url = `${endpoint}/model/${encodeURIComponent(modelId)}/${operation}`
    // Same headers as the official SDK sends (no Accept).
    const init = { headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload), signal }
    for (let attempt = 1; ; attempt++) {
      if (signal?.aborted) throw abortError(signal)
      let failure: BedrockError
      try {
        const response = await signedFetch(url, init)
        if (response.ok) return { response, attempts: attempt }
        failure = await bedrockErrorFromResponse(response, attempt)
      } catch (error) {
        if (signal?.aborted) throw abortError(signal)
        if (error instanceof BedrockError) throw error
        failure = new BedrockError({
          type: 'NetworkError',
          message: `Bedrock request failed: ${error instanceof Error ? error.message : String(error)}`,
          retryable: true,
          attempts: attempt,
          cause: error,
        })
      }
      if (!failure.retryable || attempt >= maxAttempts) throw failure
      await sleep(random() * Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1)), signal)
    }
  }

  return {
    async converse(request: ConverseRequest, callOptions?: CallOptions): Promise<ConverseResponse> {
      const signal = callOptions?.signal
      const { response, attempts } = await send('converse', request, signal)
      let body: unknown
      try {
        body = await response.json()
      } catch (error) {
        if (signal?.aborted) throw abortError(signal)
        throw new BedrockError({ type: 'InvalidResponse', message: 'Converse response is not JSON', retryable: false, attempts, cause: error })
      }
      try {
        return toConverseResponse(body)
      } catch (error) {
        if (error instanceof BedrockError) error.attempts = attempts
        throw error
      }
    },

    async converseStream(request: ConverseRequest, callOptions?: CallOptions): Promise<ConverseStreamEvents> {
      const signal = callOptions?.signal
      const { response, attempts } = await send('converse-stream', request, signal)
      const body = chunkReader(response)
      if (!body) {
        throw new BedrockError({ type: 'InvalidResponse', message: 'ConverseStream response has no body', retryable: false, attempts })
      }
      return converseStreamEvents(body, { signal, attempts, requestId: response.headers.get('x-amzn-requestid') ?? undefined })
    },
  }
}
