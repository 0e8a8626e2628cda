import { usesBedrockEmulator, type Config } from '../config'
import { awsCredentialChain, type AwsCredentialSourceName, type CredentialHost } from './aws-credentials'
import { createBedrockClient } from './bedrock-client'
import { createBedrockEmulator } from './emulator'
import type { ModelClient } from './types'

const IN_PROCESS_EMULATOR = 'http://bedrock-emulator.internal'

export interface ModelClientChoice {
  models: ModelClient
  /** Where answers come from, for the start-up banner and /ready. */
  source: 'aws' | 'endpoint' | 'emulator'
  /** Which link of the AWS credential chain signs requests; undefined for the emulator and Bedrock API keys. */
  credentialSource?: AwsCredentialSourceName
}

/** What the runtime lends the client: `fetch`, and `readFile` (Node and Bun), which enables role credentials. */
export type ModelClientHost = CredentialHost

/**
 * Bedrock from configuration: a Bedrock API key or SigV4 credentials from the AWS credential chain against AWS (or
 * BEDROCK_ENDPOINT / AWS_ENDPOINT_URL_BEDROCK_RUNTIME); with no credentials, the built-in emulator answers
 * in-process through the same signed client, so every byte of the wire path is exercised.
 */
export function modelClientFromConfig(config: Config, host: ModelClientHost = {}): ModelClientChoice {
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
  const chain = awsCredentialChain(config, host)
  return {
    source: endpoint ? 'endpoint' : 'aws',
    credentialSource: chain?.source,
    models: createBedrockClient({
      region: config.AWS_REGION,
      endpoint,
      credentials: chain?.credentials,
      apiKey: config.AWS_BEARER_TOKEN_BEDROCK,
      fetch: host.fetch,
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
