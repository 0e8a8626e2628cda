export { awsCredentialChain, type CredentialHost } from './credential-chain'
export { staticCredentials, type CredentialChoice } from './static-credentials'
export { containerCredentials, containerUriProblem, ECS_CREDENTIALS_HOST, type ContainerCredentialsOptions } from './container'
export {
  AwsCredentialsError,
  type AwsCredentialProvider,
  type AwsCredentials,
  type AwsCredentialSourceName,
  type ReadTextFile,
} from './credentials'
export { instanceMetadataCredentials, type InstanceMetadataOptions } from './instance-metadata'
export { refreshingProvider, type RefreshingProviderOptions } from './refreshing-provider'
export { parseAssumeRoleWithWebIdentity, stsEndpoint, webIdentityCredentials, type WebIdentityOptions } from './web-identity'
