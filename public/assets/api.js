// @ts-check
// The playground's side of the native API: the session (access and refresh tokens, rotated on refresh and shared
// by the tabs of this origin through localStorage), authenticated requests, and problem+json errors.

const SESSION_KEY = 'edgechat.session'
/** Refresh this long before the access token expires, so no request is sent with a token about to lapse. */
const REFRESH_MARGIN_MS = 30_000

export class ApiError extends Error {
  /** @param {number} status @param {Record<string, unknown>} problem */
  constructor(status, problem) {
    super(typeof problem.detail === 'string' ? problem.detail : `HTTP ${status}`)
    this.status = status
    this.code = typeof problem.code === 'string' ? problem.code : null
    this.problem = problem
  }
}

/** @typedef {{ accessToken: string, refreshToken: string, expiresAt: number }} Session */

/** @returns {Session | null} */
export function loadSession() {
  try {
    const session = JSON.parse(localStorage.getItem(SESSION_KEY) ?? 'null')
    return session && typeof session.refreshToken === 'string' ? session : null
  } catch {
    return null
  }
}

/** @param {{ accessToken: string, refreshToken: string, expiresIn: number }} tokens */
function storeSession(tokens) {
  const session = { accessToken: tokens.accessToken, refreshToken: tokens.refreshToken, expiresAt: Date.now() + tokens.expiresIn * 1000 }
  localStorage.setItem(SESSION_KEY, JSON.stringify(session))
  return session
}

export function clearSession() {
  localStorage.removeItem(SESSION_KEY)
}

/** @param {Response} res */
async function failure(res) {
  /** @type {Record<string, unknown>} */
  let problem = {}
  try {
    problem = await res.json()
  } catch {
    // not JSON: the status says enough
  }
  return new ApiError(res.status, problem)
}

/** A JSON request without credentials (the auth routes). */
async function publicJson(path, body) {
  const res = await fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
  if (!res.ok) throw await failure(res)
  return res.status === 204 ? null : res.json()
}

export async function register(email, password) {
  return storeSession(await publicJson('/v1/auth/register', { email, password }))
}

export async function login(email, password) {
  return storeSession(await publicJson('/v1/auth/login', { email, password }))
}

export async function logout() {
  const session = loadSession()
  clearSession()
  if (session) await publicJson('/v1/auth/logout', { refreshToken: session.refreshToken }).catch(() => {})
}

/**
 * Rotates the refresh token. Tabs share one session: the Web Locks API (where the browser offers it) lets one tab
 * refresh at a time, and a tab that waited uses what the other stored instead of presenting a rotated token.
 */
async function refresh(stale) {
  const run = async () => {
    const current = loadSession()
    if (!current) throw new ApiError(401, { detail: 'Logged out' })
    if (current.accessToken !== stale.accessToken && current.expiresAt - Date.now() > REFRESH_MARGIN_MS) return current
    try {
      return storeSession(await publicJson('/v1/auth/refresh', { refreshToken: current.refreshToken }))
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) clearSession()
      throw error
    }
  }
  return navigator.locks ? navigator.locks.request('edgechat.refresh', run) : run()
}

async function accessToken() {
  const session = loadSession()
  if (!session) throw new ApiError(401, { detail: 'Logged out' })
  if (session.expiresAt - Date.now() > REFRESH_MARGIN_MS) return session
  return refresh(session)
}

/**
 * An authenticated request; a 401 (the token was revoked or expired early) refreshes once and retries.
 * @param {string} path
 * @param {RequestInit & { json?: unknown }} [init]
 * @returns {Promise<Response>} a 2xx response
 */
export async function request(path, init = {}) {
  const { json, ...options } = init
  const send = (session) => {
    const headers = new Headers(options.headers)
    headers.set('Authorization', `Bearer ${session.accessToken}`)
    if (json !== undefined) headers.set('Content-Type', 'application/json')
    return fetch(path, { ...options, headers, body: json === undefined ? options.body : JSON.stringify(json) })
  }
  let session = await accessToken()
  let res = await send(session)
  if (res.status === 401) {
    await res.body?.cancel()
    session = await refresh(session)
    res = await send(session)
  }
  if (!res.ok) throw await failure(res)
  return res
}

/** An authenticated JSON request: the parsed body, or null for 204. */
export async function call(path, init = {}) {
  const res = await request(path, init)
  return res.status === 204 ? null : res.json()
}

/** Every page of a list route (`{data, nextCursor}`), up to `max` items. */
export async function listAll(path, max = 1000) {
  const items = []
  let cursor = null
  do {
    const url = new URL(path, location.origin)
    url.searchParams.set('limit', '100')
    if (cursor) url.searchParams.set('cursor', cursor)
    const page = await call(url.pathname + url.search)
    items.push(...page.data)
    cursor = page.nextCursor
  } while (cursor && items.length < max)
  return items
}
