const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

export type IdPrefix = 'usr' | 'ws' | 'key' | 'ast' | 'conv' | 'msg' | 'gen' | 'rt' | 'fam' | 'req'

/**
 * ULID-style ids (48-bit millisecond time + 80 random bits, Crockford base32) with a type prefix.
 * Monotonic within one isolate: ids made in the same millisecond still sort in creation order.
 */
export function createIdGenerator(now: () => number = Date.now) {
  let lastTime = -1
  let lastRandom = 0n
  return (prefix: IdPrefix): string => {
    const time = Math.max(now(), lastTime)
    if (time === lastTime) {
      lastRandom = (lastRandom + 1n) & ((1n << 80n) - 1n)
    } else {
      lastTime = time
      const bytes = crypto.getRandomValues(new Uint8Array(10))
      lastRandom = bytes.reduce((acc, byte) => (acc << 8n) | BigInt(byte), 0n) >> 1n
    }
    return `${prefix}_${encode(BigInt(time), 10)}${encode(lastRandom, 16)}`
  }
}

function encode(value: bigint, length: number): string {
  let out = ''
  for (let i = 0; i < length; i++) {
    out = ALPHABET[Number(value & 31n)] + out
    value >>= 5n
  }
  return out
}

export type IdGenerator = ReturnType<typeof createIdGenerator>
