import { awsCredentialSource, ConfigError, type Config } from '../../config'
import { containerCredentials } from './container'
import type { AwsCredentialProvider, AwsCredentialSourceName, ReadTextFile } from './credentials'
import { IMDS_ENDPOINT_IPV4, IMDS_ENDPOINT_IPV6, instanceMetadataCredentials } from './instance-metadata'
import { refreshingProvider, type RefreshingProviderOptions } from './refreshing-provider'
import { webIdentityCredentials } from './web-identity'

export interface CredentialHost {
  /**
   * Reads token files. Only the Node and Bun entries pass it: its presence says the runtime can use role
   * credentials (files, link-local metadata endpoints); without it (Workers) only static keys are accepted.
   */
  readFile?: ReadTextFile
  fetch?: typeof fetch
  now?: () => number
  /** Overrides for the cache (tests). */
  refresh?: Omit<RefreshingProviderOptions, 'now'>
}

export interface CredentialChoice {
  source: AwsCredentialSourceName
  credentials: AwsCredentialProvider
}

/**
 * The AWS default credential chain, without the AWS SDK: static keys from the environment, web identity
 * (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN), container credentials (AWS_CONTAINER_CREDENTIALS_*), then EC2
 * instance metadata. The source is the first one configured (see awsCredentialSource), chosen once: if it fails,
 * the error says so rather than another source being tried behind its back. Undefined when no source applies.
 */
export function awsCredentialChain(config: Config, host: CredentialHost = {}): CredentialChoice | undefined {
  const source = awsCredentialSource(config)
  if (source === undefined || source === 'api-key') return undefined
  if (source === 'environment') {
    const credentials = { accessKeyId: config.AWS_ACCESS_KEY_ID!, secretAccessKey: config.AWS_SECRET_ACCESS_KEY!, sessionToken: config.AWS_SESSION_TOKEN }
    return { source, credentials: () => Promise.resolve(credentials) }
  }
  const { readFile, fetch, now } = host
  if (!readFile) {
    throw new ConfigError(
      `Invalid configuration:\n  AWS credentials: the ${source} source needs Node or Bun; on Workers set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) or AWS_BEARER_TOKEN_BEDROCK as secrets`,
    )
  }
  const load =
    source === 'web-identity'
      ? webIdentityCredentials({
          tokenFile: config.AWS_WEB_IDENTITY_TOKEN_FILE!,
          roleArn: config.AWS_ROLE_ARN!,
          sessionName: config.AWS_ROLE_SESSION_NAME,
          region: config.AWS_REGION,
          endpoint: config.AWS_ENDPOINT_URL_STS,
          readFile,
          fetch,
          now,
        })
      : source === 'container'
        ? containerCredentials({
            relativeUri: config.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI,
            fullUri: config.AWS_CONTAINER_CREDENTIALS_FULL_URI,
            authorizationTokenFile: config.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE,
            authorizationToken: config.AWS_CONTAINER_AUTHORIZATION_TOKEN,
            readFile,
            fetch,
          })
        : instanceMetadataCredentials({
            endpoint:
              config.AWS_EC2_METADATA_SERVICE_ENDPOINT ?? (config.AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE === 'IPv6' ? IMDS_ENDPOINT_IPV6 : IMDS_ENDPOINT_IPV4),
            fetch,
          })
  return { source, credentials: refreshingProvider(source, load, { ...host.refresh, now }) }
}
