import { describe, expect, it } from 'vitest'
import { hashPassword, verifyPassword, DUMMY_PASSWORD_HASH } from '../src/lib/crypto'
import { createIdGenerator } from '../src/lib/ids'

describe('ids', () => {
  it('are prefixed, 26 Crockford characters, and sort by creation even within one millisecond', () => {
    let now = 1_700_000_000_000
    const newId = createIdGenerator(() => now)
    const ids = Array.from({ length: 1000 }, (_, i) => {
      if (i % 100 === 0) now += 1
      return newId('msg')
    })
    expect(ids[0]).toMatch(/^msg_[0-9A-HJKMNP-TV-Z]{26}$/)
    expect([...ids].sort()).toEqual(ids)
    expect(new Set(ids).size).toBe(ids.length)
  })

  it('carry their millisecond in the first ten characters', () => {
    const now = Date.UTC(2026, 10, 22, 7, 30, 0, 123)
    const id = createIdGenerator(() => now)('gen').slice('gen_'.length)
    const decoded = [...id.slice(0, 10)].reduce((value, char) => value * 32 + '0123456789ABCDEFGHJKMNPQRSTVWXYZ'.indexOf(char), 0)
    expect(decoded).toBe(now)
  })

  it('stay ordered if the clock steps backwards', () => {
    let now = 2_000
    const newId = createIdGenerator(() => now)
    const a = newId('gen')
    now = 1_000
    expect(newId('gen') > a).toBe(true)
  })
})

describe('passwords', () => {
  it('verify only the right password, and the dummy hash matches nothing', async () => {
    const hash = await hashPassword('s3cret-pässword')
    expect(await verifyPassword('s3cret-pässword', hash)).toBe(true)
    expect(await verifyPassword('s3cret-password', hash)).toBe(false)
    expect(await verifyPassword('', DUMMY_PASSWORD_HASH)).toBe(false)
    expect(await verifyPassword('x', 'garbage')).toBe(false)
  })
})
