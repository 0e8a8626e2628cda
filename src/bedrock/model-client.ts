import { ConfigError, usesBedrockEmulator, type Config } from '../config'
import { staticCredentials, type AwsCredentialSourceName, type CredentialChoice } from './aws-credentials'
import { createBedrockClient } from './bedrock-client'
import type { createBedrockEmulator } from './emulator'
import type { SignedFetchOptions } from './sigv4-fetch'
import type { BedrockClient } from './types'

const IN_PROCESS_EMULATOR = 'http://bedrock-emulator.internal'

export interface ModelClientChoice {
  models: BedrockClient
  /** Where answers come from, for the start-up banner and /ready. */
  source: 'aws' | 'endpoint' | 'emulator'
  /** Which link of the AWS credential chain signs requests; undefined for the emulator and Bedrock API keys. */
  credentialSource?: AwsCredentialSourceName
}

/**
 * What the entry lends the client. `credentials` picks the signing credentials (default: static keys; the Node and
 * Bun entries pass the whole AWS credential chain, which reads token files); `emulator` is the built-in Bedrock
 * emulator, left out of builds that must not carry it (a deployed Worker).
 */
export interface ModelClientHost {
  fetch?: typeof fetch
  /** A SigV4 signer with the runtime's own hashing (aws4fetch's, on Web Crypto, by default). */
  signer?: SignedFetchOptions['signer']
  credentials?: (config: Config) => CredentialChoice | undefined
  emulator?: typeof createBedrockEmulator
}

/**
 * Bedrock from configuration: a Bedrock API key or SigV4 credentials from the AWS credential chain against AWS (or
 * BEDROCK_ENDPOINT / AWS_ENDPOINT_URL_BEDROCK_RUNTIME); with no credentials, the built-in emulator answers
 * in-process through the same signed client, so every byte of the wire path is exercised.
 */
export function modelClientFromConfig(config: Config, host: ModelClientHost = {}): ModelClientChoice {
  if (usesBedrockEmulator(config)) {
    if (!host.emulator) {
      throw new ConfigError(
        'Invalid configuration:\n  BEDROCK_EMULATOR: this build has no Bedrock emulator (a deployed Worker): set AWS credentials or AWS_BEARER_TOKEN_BEDROCK',
      )
    }
    const credentials = { accessKeyId: config.EMULATOR_ACCESS_KEY_ID, secretAccessKey: config.EMULATOR_SECRET_ACCESS_KEY }
    const emulator = host.emulator({ credentials })
    return {
      source: 'emulator',
      models: createBedrockClient({
        region: config.AWS_REGION,
        endpoint: IN_PROCESS_EMULATOR,
        credentials,
        signer: host.signer,
        fetch: (input, init) => Promise.resolve(emulator.fetch(new Request(input, init))),
      }),
    }
  }
  const endpoint = config.BEDROCK_ENDPOINT ?? config.AWS_ENDPOINT_URL_BEDROCK_RUNTIME
  const chain = (host.credentials ?? staticCredentials)(config)
  return {
    source: endpoint ? 'endpoint' : 'aws',
    credentialSource: chain?.source,
    models: createBedrockClient({
      region: config.AWS_REGION,
      endpoint,
      credentials: chain?.credentials,
      apiKey: config.AWS_BEARER_TOKEN_BEDROCK,
      fetch: host.fetch,
      signer: host.signer,
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
