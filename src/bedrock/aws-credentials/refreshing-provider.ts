import { AwsCredentialsError, type AwsCredentialProvider, type AwsCredentials, type AwsCredentialSourceName } from './credentials'

export interface RefreshingProviderOptions {
  now?: () => number
  /** Refresh this long before the credentials expire (AWS SDKs use 5 minutes). */
  refreshBeforeMs?: number
  /** Credentials this close to expiring are not used to sign, so a request never arrives with expired ones. */
  expiryMarginMs?: number
  /** After a failed refresh while the old credentials still work, wait this long before trying again. */
  retryAfterFailureMs?: number
}

/**
 * Caches what `load` returns and loads again ahead of expiry. One load runs at a time (concurrent callers share
 * it); when a refresh fails, callers keep getting the old credentials for as long as they are usable, and only
 * an error with nothing usable left reaches them.
 */
export function refreshingProvider(
  source: AwsCredentialSourceName,
  load: AwsCredentialProvider,
  options: RefreshingProviderOptions = {},
): AwsCredentialProvider {
  const now = options.now ?? Date.now
  const refreshBeforeMs = options.refreshBeforeMs ?? 5 * 60_000
  const expiryMarginMs = options.expiryMarginMs ?? 10_000
  const retryAfterFailureMs = options.retryAfterFailureMs ?? 10_000
  let current: AwsCredentials | undefined
  let refreshAt = 0
  let loading: Promise<AwsCredentials> | undefined

  const usable = (credentials: AwsCredentials, at: number): boolean =>
    credentials.expiresAt === undefined || credentials.expiresAt - expiryMarginMs > at

  function refresh(): Promise<AwsCredentials> {
    loading ??= load()
      .then((loaded) => {
        const at = now()
        if (!usable(loaded, at)) {
          throw new AwsCredentialsError(source, `the ${source} credentials received expire at ${new Date(loaded.expiresAt ?? 0).toISOString()}, too soon to use`)
        }
        current = loaded
        // Credentials handed out already inside the refresh window are used until the retry delay has passed,
        // rather than fetched again for every request.
        refreshAt = loaded.expiresAt === undefined ? Infinity : Math.max(loaded.expiresAt - refreshBeforeMs, at + retryAfterFailureMs)
        return loaded
      })
      .catch((error: unknown) => {
        refreshAt = now() + retryAfterFailureMs
        throw error
      })
      .finally(() => {
        loading = undefined
      })
    return loading
  }

  return async () => {
    const at = now()
    if (current && usable(current, at) && at < refreshAt) return current
    try {
      return await refresh()
    } catch (error) {
      const fallback = current
      if (fallback && usable(fallback, now())) return fallback
      throw error
    }
  }
}
