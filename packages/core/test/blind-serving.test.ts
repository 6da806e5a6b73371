/**
 * The property encrypted sets stand on, checked on the stack itself
 * (hypercore 11 / corestore 7, no multifeed): hypercore encrypts a block
 * before hashing it into the Merkle tree, so a store that holds the core's
 * key but not its encryption key downloads, verifies, stores and serves the
 * blocks, and holds only ciphertext.
 */
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import crypto from 'hypercore-crypto'
import { describe, expect, it } from 'vitest'
import { linkStores, onCleanup, tmpDir, tmpStore } from './helpers.js'

const MARKER = Buffer.from('blind-serving marker 0123456789ab')

async function filesContain(dir: string, needle: Buffer): Promise<number> {
  let hits = 0
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue
    const bytes = await readFile(join(entry.parentPath, entry.name))
    if (bytes.includes(needle)) hits++
  }
  return hits
}

describe('blind serving (hypercore block encryption)', () => {
  it('a store without the encryption key verifies, stores and serves the blocks; it holds only ciphertext', async () => {
    const encryption = { key: crypto.randomBytes(32) }
    const writerStore = await tmpStore()
    const blindDir = await tmpDir()
    const blindStore = await tmpStore(blindDir)
    const readerStore = await tmpStore()

    const writer = writerStore.get({ name: 'w', encryption })
    await writer.ready()
    const blocks = Array.from({ length: 20 }, (_, i) =>
      Buffer.concat([MARKER, Buffer.from(` ${i}`)])
    )
    await writer.append(blocks)
    onCleanup(() => writer.close())

    // The blind store: the core key only.
    const blind = blindStore.get({ key: writer.key! })
    await blind.ready()
    onCleanup(() => blind.close())
    const toBlind = linkStores(writerStore, blindStore)
    await blind.update({ wait: true })
    await blind.download({ start: 0, end: blocks.length }).done()
    expect(blind.contiguousLength).toBe(blocks.length)
    const raw = (await blind.get(3))!
    expect(raw.includes(MARKER)).toBe(false)
    expect(raw.byteLength).toBe(blocks[3]!.byteLength + writer.padding)

    // The writer goes away; the reader, with both keys, is served by the blind store alone.
    await toBlind.destroy()
    await writer.close()
    const reader = readerStore.get({ key: blind.key!, encryption })
    await reader.ready()
    onCleanup(() => reader.close())
    linkStores(blindStore, readerStore)
    await reader.update({ wait: true })
    expect(reader.length).toBe(blocks.length)
    for (let i = 0; i < blocks.length; i++) expect(await reader.get(i)).toEqual(blocks[i])

    // Nothing of the plaintext reached the blind store's files.
    await blind.close()
    await blindStore.close()
    expect(await filesContain(blindDir, MARKER)).toBe(0)
  })

  it('control: the search sees the marker in a store holding the same blocks unencrypted', async () => {
    const dir = await tmpDir()
    const store = await tmpStore(dir)
    const core = store.get({ name: 'plain' })
    await core.ready()
    await core.append(
      Array.from({ length: 20 }, (_, i) => Buffer.concat([MARKER, Buffer.from(` ${i}`)]))
    )
    await core.close()
    await store.close()
    expect(await filesContain(dir, MARKER)).toBeGreaterThan(0)
  })
})
