/**
 * The promise of a mirror (issue 15), end to end over the networker: alice
 * writes and goes offline; a mirror that synced from her serves bob, who
 * joins later and reads every entry from the mirror alone; bob's entries
 * reach alice through the mirror when she is back. The mirror's storage
 * holds no byte of the plaintext (every file searched for a marker written
 * in every entry; the control, a plain set of the same entries, shows it)
 * and the mirror cannot read. The same through a chain of two mirrors.
 */
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Multifeed } from '@multifeed/core'
import { describe, expect, test } from 'vitest'
import { eachTestEnv, KINDS, type Peer, waitFor } from './helpers.js'

/** 32 bytes written in every entry. */
const MARKER = Buffer.from('end-to-end mirror marker 0123456')
const ENTRIES = 1000
const entry = (who: string, i: number): Buffer =>
  Buffer.concat([MARKER, Buffer.from(` ${who} ${i}`)])

/** The number of files under `dir` whose bytes contain `needle`. */
async function filesContaining(dir: string, needle: Buffer): Promise<number> {
  let hits = 0
  for (const file of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!file.isFile()) continue
    if ((await readFile(join(file.parentPath, file.name))).includes(needle)) hits++
  }
  return hits
}

/** Appends `count` entries of `who` to the writer `who` of `multi`. */
async function append(multi: Multifeed, who: string, from: number, count: number): Promise<void> {
  const w = await multi.writer(who)
  try {
    await w.append(Array.from({ length: count }, (_, i) => entry(who, from + i)))
  } finally {
    await w.close()
  }
}

/** Every entry a member reads, as strings, sorted. */
async function entriesOf(multi: Multifeed): Promise<string[]> {
  const out: string[] = []
  for await (const e of multi.read()) if ('value' in e) out.push((e.value as Buffer).toString())
  return out.sort()
}

/** The total of the lengths `multi` holds. */
const blocksOf = (multi: Multifeed): number => multi.feeds().reduce((n, f) => n + f.length, 0)

/** Waits until `multi` holds `blocks` blocks in all (bounded). */
async function holdsBlocks(multi: Multifeed, blocks: number, who: string): Promise<void> {
  await waitFor(
    () => blocksOf(multi) === blocks,
    () => `${who} holds ${blocks} blocks; has ${blocksOf(multi)}`,
    30_000
  )
}

describe.each(KINDS)('%s networker: a mirror', (kind) => {
  const env = eachTestEnv(kind)

  /** A peer holding the encrypted set `key` (created when null), swarmed. */
  async function member(key: Buffer | null, dir?: string): Promise<[Peer, Multifeed]> {
    const peer = await env.peer(dir)
    const multi = await Multifeed.open(peer.store, key, key ? {} : { encrypted: true })
    peer.multis.push(multi)
    await peer.net.swarm(multi)
    return [peer, multi]
  }

  /** A peer mirroring the set of `mirrorKey`, swarmed. */
  async function mirrorPeer(mirrorKey: Buffer): Promise<[Peer, Multifeed]> {
    const peer = await env.peer()
    const multi = await peer.open(mirrorKey)
    expect(multi.tier).toBe('mirror')
    await peer.net.swarm(multi)
    return [peer, multi]
  }

  test('alice writes and leaves; bob joins later and reads everything from the mirror alone; no plaintext on the mirror', {
    timeout: 90_000
  }, async () => {
    const [alicePeer, alice] = await member(null)
    await append(alice, 'alice', 0, ENTRIES)
    const key = alice.key
    const mirrorKey = alice.mirrorKey!
    const [mirrorNode, mirror] = await mirrorPeer(mirrorKey)
    await mirror.synced({ minPeers: 1, timeout: 30_000 })
    expect(blocksOf(mirror)).toBe(ENTRIES)
    const written = await entriesOf(alice)
    expect(written).toHaveLength(ENTRIES)
    await alicePeer.close()

    // Bob never met alice: the mirror is the only peer online.
    const [bobPeer, bob] = await member(key)
    await bob.synced({ minPeers: 1, timeout: 30_000 })
    expect(await entriesOf(bob)).toEqual(written)
    expect(bob.peers()).toHaveLength(1)

    // Bob writes; his entries reach alice through the mirror once she is back and bob is gone.
    await append(bob, 'bob', 0, 10)
    await holdsBlocks(mirror, ENTRIES + 10, 'the mirror')
    await bobPeer.close()
    const [, aliceAgain] = await member(key, alicePeer.dir)
    await holdsBlocks(aliceAgain, ENTRIES + 10, 'alice, back')
    const all = await entriesOf(aliceAgain)
    expect(all.filter((e) => e.includes(' bob '))).toHaveLength(10)

    // The mirror cannot read, and its storage holds no byte of the plaintext.
    expect(() => mirror.read()).toThrow(/cannot decrypt/)
    await expect(mirror.get(mirror.feeds()[0]!.key)).rejects.toMatchObject({
      code: 'ERR_NOT_READABLE'
    })
    await mirrorNode.close()
    expect(await filesContaining(mirrorNode.dir, MARKER)).toBe(0)

    // Control: the same entries in a plain set are found by the same search.
    const plainPeer = await env.peer()
    const plain = await plainPeer.open()
    await append(plain, 'alice', 0, ENTRIES)
    await plainPeer.close()
    expect(await filesContaining(plainPeer.dir, MARKER)).toBeGreaterThan(0)
  })

  test('through a chain of two mirrors: each one leaves once the next synced', {
    timeout: 90_000
  }, async () => {
    const [alicePeer, alice] = await member(null)
    await append(alice, 'alice', 0, 100)
    const written = await entriesOf(alice)
    const [firstNode, first] = await mirrorPeer(alice.mirrorKey!)
    await first.synced({ minPeers: 1, timeout: 30_000 })
    await alicePeer.close()
    const [secondNode, second] = await mirrorPeer(alice.mirrorKey!)
    await second.synced({ minPeers: 1, timeout: 30_000 })
    expect(blocksOf(second)).toBe(100)
    await firstNode.close()
    const [, bob] = await member(alice.key)
    await bob.synced({ minPeers: 1, timeout: 30_000 })
    expect(await entriesOf(bob)).toEqual(written)
    await secondNode.close()
    expect(await filesContaining(secondNode.dir, MARKER)).toBe(0)
    expect(await filesContaining(firstNode.dir, MARKER)).toBe(0)
  })
})
