/**
 * Whether an MCP server URL names this machine or a private network by its host: `localhost`, or a literal IP in the
 * loopback, private, link-local (cloud metadata), shared or unspecified ranges. Workspace admins choose the URLs the
 * server then calls, so these are refused unless MCP_ALLOW_PRIVATE_URLS is set. A name that resolves to such an
 * address is not caught here: deployments that need that guarantee filter egress.
 */
export function isPrivateHost(url: URL): boolean {
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '')
  if (host === 'localhost' || host.endsWith('.localhost')) return true
  const v4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(host.replace(/^::ffff:/, ''))
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])]
    return a === 0 || a === 10 || a === 127 || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127)
  }
  if (!host.includes(':')) return false
  return host === '::' || host === '::1' || /^f[cd]/.test(host) || /^fe[89ab]/.test(host) || host.startsWith('::ffff:')
}
