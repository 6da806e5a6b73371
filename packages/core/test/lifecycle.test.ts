import { ClosedError, formatKey, InvalidKeyError, Multifeed, PROTOCOL_NAME } from '@multifeed/core'
import type { Corestore } from '@multifeed/holepunch-types'
import CorestoreClass from 'corestore'
import { describe, expect, it } from 'vitest'
import { tmpDir, tmpStore } from './helpers.js'

describe('lifecycle and arguments', () => {
  it('generates a secure random key when none is given, never a shared default', async () => {
    const store = await tmpStore()
    const a = await Multifeed.open(store)
    const b = await Multifeed.open(store)
    expect(a.key).toHaveLength(32)
    expect(a.key).not.toEqual(b.key)
    expect(a.discoveryKey).toHaveLength(32)
    expect(a.discoveryKey).not.toEqual(a.key)
    expect(a.opened).toBe(true)
    expect(PROTOCOL_NAME).toBe('multifeed/1')
  })

  it('accepts the key as Buffer, Uint8Array, hex and z32', async () => {
    const store = await tmpStore()
    const a = await Multifeed.open(store)
    for (const form of [a.key, new Uint8Array(a.key), a.key.toString('hex'), formatKey(a.key)]) {
      const m = await Multifeed.open(store, form)
      expect(m.key).toEqual(a.key)
      await m.close()
    }
  })

  it('rejects malformed keys with ERR_INVALID_KEY', async () => {
    const store = await tmpStore()
    for (const bad of [
      Buffer.alloc(31),
      'abc',
      'zz'.repeat(32),
      `${'a'.repeat(63)}!`,
      42 as unknown as string
    ]) {
      await expect(Multifeed.open(store, bad)).rejects.toBeInstanceOf(InvalidKeyError)
    }
    const m = await Multifeed.open(store)
    expect(() => m.feed('not a key')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_KEY' }))
    expect(m.feed(Buffer.alloc(32))).toBeNull()
  })

  it('rejects bad arguments with ERR_INVALID_ARGUMENT', async () => {
    const store = await tmpStore()
    await expect(Multifeed.open({} as Corestore)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT'
    })
    await expect(Multifeed.open(store, null, { limits: { maxFeeds: 0 } })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT'
    })
    const m = await Multifeed.open(store)
    await expect(m.writer('')).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
    expect(() => m.replicate('yes' as unknown as boolean)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' })
    )
  })

  it('operations on a closed multifeed reject with ERR_CLOSED', async () => {
    const store = await tmpStore()
    const m = await Multifeed.open(store)
    const w = await m.writer()
    let closeEvents = 0
    m.on('close', () => closeEvents++)
    await Promise.all([m.close(), m.close()])
    expect(m.closed).toBe(true)
    expect(closeEvents).toBe(1)
    expect(w.closed).toBe(true)
    await expect(m.writer()).rejects.toBeInstanceOf(ClosedError)
    expect(() => m.replicate(true)).toThrow(ClosedError)
    await expect(m.downloaded()).rejects.toMatchObject({ code: 'ERR_CLOSED' })
  })

  it('rejects with ERR_CLOSED when the corestore is closed', async () => {
    const store = new CorestoreClass(await tmpDir())
    await store.close()
    await expect(Multifeed.open(store)).rejects.toMatchObject({ code: 'ERR_CLOSED' })
  })

  it('is disposable with await using', async () => {
    const store = await tmpStore()
    let seen: Multifeed | null = null
    {
      await using m = await Multifeed.open(store)
      seen = m
    }
    expect(seen?.closed).toBe(true)
  })
})
