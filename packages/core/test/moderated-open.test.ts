/**
 * Opening moderated sets (issue 14): created with `moderated: true`, joined
 * by the invite, re-opened by the key (never as an unmoderated set), typed
 * options and coded errors; unmoderated sets unchanged. Their keys are never
 * read as encrypted sets' keys (capabilities.ts tiers), nor the other way.
 */
import crypto from 'hypercore-crypto'
import { describe, expect, it } from 'vitest'
import z32 from 'z32'
import { newKey, tierOf } from '../src/capabilities.js'
import { Multifeed, type MultifeedOptions } from '../src/index.js'
import { INVITE_CHARS, moderatedSetKey, parseInvite } from '../src/moderation/invite.js'
import { Peers, type PeersContext } from '../src/replication/Peers.js'
import { identityOf } from '../src/set/identity.js'
import type { Moderation } from '../src/set/Moderation.js'
import { ModerationLog } from '../src/set/ModerationLog.js'
import { onCleanup, tmpDir, tmpStore } from './helpers.js'

type Store = Awaited<ReturnType<typeof tmpStore>>

async function open(
  store: Store,
  key?: Buffer | string | null,
  options: MultifeedOptions = {}
): Promise<Multifeed> {
  const multi = (await Multifeed.open(store, key, options)) as Multifeed
  onCleanup(() => multi.close())
  return multi
}

const namespaceOf = (store: Store, multi: Multifeed) =>
  store.namespace(`@multifeed/${multi.discoveryKey.toString('hex')}`, { active: false })

describe('moderated sets: open', () => {
  it('creates one founded by the store’s identity; the invite names founder and secret', async () => {
    const store = await tmpStore()
    const multi = await open(store, null, { moderated: true })
    const invite = multi.invite!
    expect(invite).toHaveLength(INVITE_CHARS)
    expect(INVITE_CHARS).toBeLessThanOrEqual(110)
    expect(z32.encode(z32.decode(invite))).toBe(invite)
    const id = parseInvite(invite)
    const identity = await identityOf(store)
    expect(id.founder.equals(identity.publicKey)).toBe(true)
    expect(moderatedSetKey(id.founder, id.secret!).equals(multi.key)).toBe(true)
    expect(multi.encrypted).toBe(false)
    expect(tierOf(multi.key)).toBe('plain')
  })

  it('a given identity founds it (one person’s devices share one)', async () => {
    const identity = crypto.keyPair()
    const multi = await open(await tmpStore(), null, { moderated: true, identity })
    expect(parseInvite(multi.invite!).founder.equals(identity.publicKey)).toBe(true)
  })

  it('a member joins by the invite: the same set, the same invite', async () => {
    const founder = await open(await tmpStore(), null, { moderated: true })
    const member = await open(await tmpStore(), founder.invite)
    expect(member.key.equals(founder.key)).toBe(true)
    expect(member.discoveryKey.equals(founder.discoveryKey)).toBe(true)
    expect(member.invite).toBe(founder.invite)
  })

  it('re-opens by its key as moderated, never as an unmoderated set', async () => {
    const dir = await tmpDir()
    const store = await tmpStore(dir)
    const first = (await Multifeed.open(store, null, { moderated: true })) as Multifeed
    const { key, invite } = first
    await first.close()
    await store.close()

    const again = await tmpStore(dir)
    const byKey = await open(again, key)
    expect(byKey.invite).toBe(invite)
    await byKey.close()
    // Said twice, the same; said otherwise, refused.
    const said = await open(again, key.toString('hex'), { moderated: true })
    expect(said.invite).toBe(invite)
    await said.close()
    await expect(Multifeed.open(again, key, { moderated: false })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
      message: expect.stringContaining('moderated: false')
    })
    // And by its invite (the log holds the same id).
    const byInvite = await open(again, invite)
    expect(byInvite.key.equals(key)).toBe(true)
  })

  it('leaves an unmoderated set as it was: no invite, no moderation log', async () => {
    const store = await tmpStore()
    const plain = await open(store)
    expect(plain.invite).toBeNull()
    expect(await ModerationLog.exists(namespaceOf(store, plain), store)).toBe(false)
    const peer = await open(await tmpStore(), plain.key)
    expect(peer.invite).toBeNull()
    const encrypted = await open(store, null, { encrypted: true })
    expect(encrypted.invite).toBeNull()
    expect(await ModerationLog.exists(namespaceOf(store, encrypted), store)).toBe(false)
  })

  it('refuses what does not name a moderated set, with a code naming the option', async () => {
    const store = await tmpStore()
    const moderated = await open(store, null, { moderated: true })
    const encryptedMirrorKey = (await open(store, null, { encrypted: true })).mirrorKey!
    const cases: Array<[Buffer | string | null, Record<string, unknown>, string, string]> = [
      [null, { moderated: 'yes' }, 'ERR_INVALID_ARGUMENT', 'moderated must be a boolean'],
      [null, { moderated: true, identity: { publicKey: 1 } }, 'ERR_INVALID_ARGUMENT', 'identity'],
      [
        null,
        {
          moderated: true,
          identity: { ...crypto.keyPair(), publicKey: crypto.keyPair().publicKey }
        },
        'ERR_INVALID_ARGUMENT',
        'agree'
      ],
      [crypto.randomBytes(32), { moderated: true }, 'ERR_INVALID_ARGUMENT', 'invite'],
      [moderated.invite, { moderated: false }, 'ERR_INVALID_ARGUMENT', 'moderated: false'],
      [moderated.invite, { encrypted: true }, 'ERR_INVALID_ARGUMENT', 'encrypted'],
      ['0'.repeat(INVITE_CHARS), {}, 'ERR_INVALID_KEY', 'z-base-32'],
      [`${moderated.invite!.slice(0, -1)}`, {}, 'ERR_INVALID_KEY', 'z-base-32'],
      [newKey(true), { moderated: true }, 'ERR_INVALID_ARGUMENT', 'moderated: true'],
      [encryptedMirrorKey, { moderated: true }, 'ERR_INVALID_ARGUMENT', 'moderated: true']
    ]
    for (const [key, options, code, says] of cases) {
      await expect(
        Multifeed.open(await tmpStore(), key, options as MultifeedOptions),
        JSON.stringify(options)
      ).rejects.toMatchObject({ code, message: expect.stringContaining(says) })
    }
  })
})

describe('moderated and encrypted keys are never mistaken for each other', () => {
  it('a moderated key reads as plain; an encrypted set’s key never opens a moderated set', async () => {
    const store = await tmpStore()
    for (let i = 0; i < 20; i++) {
      const multi = (await Multifeed.open(store, null, { moderated: true })) as Multifeed
      expect(tierOf(multi.key)).toBe('plain')
      await multi.close()
    }
    const encrypted = await open(store, null, { encrypted: true })
    expect(tierOf(encrypted.key)).toBe('member')
    // The member key re-opens the encrypted set, never a moderated one.
    await encrypted.close()
    const again = await open(store, encrypted.key)
    expect(again.encrypted).toBe(true)
    expect(again.invite).toBeNull()
    // An invite is no key and a key is no invite: their lengths differ in every form.
    expect(() => parseInvite(z32.encode(encrypted.key))).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_KEY' })
    )
    const moderated = await open(store, null, { moderated: true })
    await expect(Multifeed.open(store, z32.decode(moderated.invite!))).rejects.toMatchObject({
      code: 'ERR_INVALID_KEY'
    })
  })
})

describe('the seam replication uses', () => {
  it('PeerHost.moderation is the set’s Moderation once open, null before and for other sets', () => {
    let moderation: Moderation | null = null
    const context = {
      multifeed: {},
      membership: { set: {}, tags: { required: false } },
      settings: {},
      moderation: () => moderation
    } as unknown as PeersContext
    const host = (new Peers(context) as unknown as { host: { moderation: Moderation | null } }).host
    expect(host.moderation).toBeNull()
    moderation = {} as Moderation
    expect(host.moderation).toBe(moderation)
  })
})
