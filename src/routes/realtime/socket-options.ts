import type { WSContext } from 'hono/ws'

/** What the runtime can tell about, or do to, a socket beyond WSContext. The entry supplies it (src/entries). */
export interface SocketTransport {
  /** Bytes queued for sending and not yet written out. Absent where the runtime cannot tell (workerd). */
  bufferedAmount?: (ws: WSContext) => number
  /** Drops the connection at once: a client that does not read never completes a closing handshake. */
  terminate?: (ws: WSContext) => void
}

export interface SocketLimits {
  /** Stop pulling events for the socket while more than this many bytes wait to be sent. */
  highWaterBytes: number
  /** A socket whose send buffer stays above the mark this long is dropped (close code 1008). */
  stalledCloseMs: number
  /** How often a paused follower looks at the send buffer again. */
  drainPollMs: number
  /** Client frames per second, on average (a token bucket)… */
  framesPerSecond: number
  /** …and at once. Past it a frame is answered `rate_limited` and not processed. */
  frameBurst: number
  /** Frames refused for the rate (refilled at one a second) before the socket is closed (1008). */
  refusalsBeforeClose: number
  /** How often the socket's credential and access are checked again when the client sends nothing. */
  recheckMs: number
}

export const defaultSocketLimits: SocketLimits = {
  highWaterBytes: 1024 * 1024,
  stalledCloseMs: 30_000,
  drainPollMs: 50,
  framesPerSecond: 20,
  frameBurst: 40,
  refusalsBeforeClose: 40,
  recheckMs: 30_000,
}

export interface WebSocketOptions extends SocketTransport {
  limits?: Partial<SocketLimits>
  /** Milliseconds since the epoch for the frame-rate limit and the stall timer (tests may freeze it). */
  now?: () => number
}

/** Close codes the server uses besides the standard ones (1008 policy violation, 1009 message too big). */
export const CloseCode = {
  /** Rate limit abused, or the client stopped reading. */
  policy: 1008,
  /** The credential expired or was revoked (API key deleted): authenticate again and reconnect. */
  unauthorized: 4401,
  /** The conversation is no longer visible to the caller (removed from its workspace, or it was deleted). */
  forbidden: 4403,
} as const
