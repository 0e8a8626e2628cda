import { awsCredentialSource, type Config } from '../../config'
import { containerCredentials } from './container'
import type { AwsCredentialProvider, AwsCredentialSourceName, ReadTextFile } from './credentials'
import { IMDS_ENDPOINT_IPV4, IMDS_ENDPOINT_IPV6, instanceMetadataCredentials } from './instance-metadata'
import { refreshingProvider, type RefreshingProviderOptions } from './refreshing-provider'
import { staticCredentials, type CredentialChoice } from './static-credentials'
import { webIdentityCredentials } from './web-identity'

export interface CredentialHost {
  /** Reads token files (the Node and Bun entries lend it). */
  readFile: ReadTextFile
  fetch?: typeof fetch
  now?: () => number
  /** Overrides for the cache (tests). */
  refresh?: Omit<RefreshingProviderOptions, 'now'>
}

/**
 * The AWS default credential chain, without the AWS SDK: static keys from the environment, web identity
 * (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN), container credentials (AWS_CONTAINER_CREDENTIALS_*), then EC2
 * instance metadata. The source is the first one configured (see awsCredentialSource), chosen once: if it fails,
 * the error says so rather than another source being tried behind its back. Undefined when no source applies.
 */
export function awsCredentialChain(config: Config, host: CredentialHost): CredentialChoice | undefined {
  const source = awsCredentialSource(config)
  if (source === undefined || source === 'api-key' || source === 'environment') return staticCredentials(config)
  const { readFile, fetch, now } = host
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
