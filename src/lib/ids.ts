const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

export type IdPrefix = 'usr' | 'ws' | 'key' | 'inv' | 'ast' | 'conv' | 'msg' | 'gen' | 'rt' | 'fam' | 'req' | 'mcp' | 'use' | 'file'

/**
 * ULID-style ids (48-bit millisecond time + 80 random bits, Crockford base32) with a type prefix.
 * Monotonic within one isolate: ids made in the same millisecond still sort in creation order.
 */
export function createIdGenerator(now: () => number = Date.now) {
  let lastTime = -1
  // The random part as 16 base32 digits, most significant first; the top bit starts clear so increments fit.
  const random = new Uint8Array(16)
  return (prefix: IdPrefix): string => {
    const time = Math.max(now(), lastTime)
    if (time === lastTime) {
      let i = random.length - 1
      while (i >= 0 && random[i] === 31) random[i--] = 0
      if (i >= 0) random[i]! += 1
    } else {
      lastTime = time
      crypto.getRandomValues(random)
      for (let i = 0; i < random.length; i++) random[i]! &= 31
      random[0]! &= 15
    }
    let out = `${prefix}_`
    for (let i = 9; i >= 0; i--) out += ALPHABET[Math.floor(time / 32 ** i) % 32]
    for (const digit of random) out += ALPHABET[digit]
    return out
  }
}

export type IdGenerator = ReturnType<typeof createIdGenerator>
