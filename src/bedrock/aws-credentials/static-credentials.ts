import { awsCredentialSource, ConfigError, type Config } from '../../config'
import type { AwsCredentialProvider, AwsCredentialSourceName } from './credentials'

export interface CredentialChoice {
  source: AwsCredentialSourceName
  credentials: AwsCredentialProvider
}

/**
 * What every runtime can sign with: static keys from the configuration (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN). Undefined when no SigV4 source is configured (no credentials, or a Bedrock API key). Role
 * sources need the full chain (awsCredentialChain), which only the Node and Bun entries wire.
 */
export function staticCredentials(config: Config): CredentialChoice | undefined {
  const source = awsCredentialSource(config)
  if (source === undefined || source === 'api-key') return undefined
  if (source !== 'environment') {
    throw new ConfigError(
      `Invalid configuration:\n  AWS credentials: the ${source} source needs Node or Bun; on Workers set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) or AWS_BEARER_TOKEN_BEDROCK as secrets`,
    )
  }
  const credentials = { accessKeyId: config.AWS_ACCESS_KEY_ID!, secretAccessKey: config.AWS_SECRET_ACCESS_KEY!, sessionToken: config.AWS_SESSION_TOKEN }
  return { source, credentials: () => Promise.resolve(credentials) }
}
