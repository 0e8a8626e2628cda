import type { StaticAssets } from '../lib/static-assets'

/** Workers static assets (wrangler.toml `[assets]`, binding ASSETS): the asset server answers by path alone. */
export function bindingAssets(binding: Fetcher): StaticAssets {
  return {
    async get(path) {
      const res = await binding.fetch(new Request(new URL(path, 'https://assets.invalid')))
      if (res.status !== 200) {
        await res.body?.cancel()
        return null
      }
      return res
    },
  }
}
