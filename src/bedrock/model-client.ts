import { usesBedrockEmulator, type Config } from '../config'
import { createBedrockClient } from './bedrock-client'
import { createBedrockEmulator } from './emulator'
import type { ModelClient } from './types'

const IN_PROCESS_EMULATOR = 'http://bedrock-emulator.internal'

export interface ModelClientChoice {
  models: ModelClient
  /** Where answers come from, for the start-up banner and /ready. */
  source: 'aws' | 'endpoint' | 'emulator'
}

/**
 * Bedrock from configuration: a Bedrock API key or SigV4 credentials against AWS (or BEDROCK_ENDPOINT /
 * AWS_ENDPOINT_URL_BEDROCK_RUNTIME); with no credentials, the built-in emulator answers in-process through the
 * same signed client, so every byte of the wire path is exercised.
 */
export function modelClientFromConfig(config: Config, fetcher: typeof fetch = fetch): ModelClientChoice {
  if (usesBedrockEmulator(config)) {
    const credentials = { accessKeyId: config.EMULATOR_ACCESS_KEY_ID, secretAccessKey: config.EMULATOR_SECRET_ACCESS_KEY }
    const emulator = createBedrockEmulator({ credentials })
    return {
      source: 'emulator',
      models: createBedrockClient({
        region: config.AWS_REGION,
        endpoint: IN_PROCESS_EMULATOR,
        credentials,
        fetch: (input, init) => Promise.resolve(emulator.fetch(new Request(input, init))),
      }),
    }
  }
  const endpoint = config.BEDROCK_ENDPOINT ?? config.AWS_ENDPOINT_URL_BEDROCK_RUNTIME
  const credentials =
    config.AWS_ACCESS_KEY_ID && config.AWS_SECRET_ACCESS_KEY
      ? { accessKeyId: config.AWS_ACCESS_KEY_ID, secretAccessKey: config.AWS_SECRET_ACCESS_KEY, sessionToken: config.AWS_SESSION_TOKEN }
      : undefined
  return {
    source: endpoint ? 'endpoint' : 'aws',
    models: createBedrockClient({
      region: config.AWS_REGION,
      endpoint,
      credentials,
      apiKey: config.AWS_BEARER_TOKEN_BEDROCK,
      fetch: fetcher,
    }),
  }
}

const BANNER_LINES = [
  'BEDROCK EMULATOR: no AWS credentials are configured, so answers are',
  'SYNTHETIC, produced by the built-in emulator, not by a real model.',
  'Set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or a Bedrock API key in',
  'AWS_BEARER_TOKEN_BEDROCK) to use Amazon Bedrock.',
]
const BANNER_WIDTH = Math.max(...BANNER_LINES.map((line) => line.length))

export const EMULATOR_BANNER = [
  '',
  `  ${'*'.repeat(BANNER_WIDTH + 6)}`,
  ...BANNER_LINES.map((line) => `  *  ${line.padEnd(BANNER_WIDTH)}  *`),
  `  ${'*'.repeat(BANNER_WIDTH + 6)}`,
  '',
].join('\n')
