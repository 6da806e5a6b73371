/**
 * What `Multifeed.open(corestore, key, options)` opens, before and at open:
 *
 * - no key: a new set (plain or encrypted), or with `moderated: true` a new
 *   moderated set founded by this peer's identity (its key derives from the
 *   founder and a secret: moderation/invite.ts);
 * - an invite (104 z-base-32 characters): the moderated set it names;
 * - a key: the set of that key. A key that reads as plain (capabilities.ts)
 *   may name a moderated set this store holds: its namespace then holds a
 *   moderation log (one storage lookup), and the set re-opens moderated,
 *   never as an unmoderated set of the same key. A tagged key (an encrypted
 *   set's, member or mirror) may name a moderated encrypted set this store
 *   holds: its id is read from the log before the set is built (the
 *   pairing key derives from the founder), one lookup as for a plain key.
 */
import type { Corestore, KeyPair } from '@multifeed/holepunch-types'
import crypto from 'hypercore-crypto'
import { mirrorKeyOf, tierOf } from '../capabilities.js'
import { InvalidArgumentError } from '../errors.js'
import { parseKey } from '../keys.js'
import type { Callbacks } from '../lifecycle/Callbacks.js'
import type { Settings } from '../lifecycle/options.js'
import {
  createModeratedSet,
  looksLikeInvite,
  type ModeratedSetId,
  parseInvite
} from '../moderation/invite.js'
import type { KeyLike } from '../types.js'
import { identityOf } from './identity.js'
import { Moderation } from './Moderation.js'
import { decodeHeader, ModerationLog } from './ModerationLog.js'
import { policyOf } from './moderationPolicy.js'
import { SetModeration, type SetModerationHost } from './SetModeration.js'

const CALL = 'Multifeed.open()'

/** What open()'s key argument names, read before the set is built. */
export interface SetSource {
  /** The set's key; null: a new plain or encrypted set (its key drawn by capabilities.ts). */
  key: Buffer | null
  /** A moderated set named by an invite, or founded now. */
  moderated: ModeratedSetId | null
  /** The identity, once resolved (a new moderated set's founder). */
  identity: KeyPair | null
}

/** The first byte of a mirror's log header (its mirror invite's format: moderation/invite.ts). */
const MIRROR_HEADER = 3

/** The founder a set's pairing key binds (a moderated encrypted set's), or null. */
export function pairingFounder(source: SetSource): Buffer | null {
  const id = source.moderated
  return id === null || id.tier === 'plain' ? null : id.founder
}

/** The namespace of the set whose discovery key is `discoveryKey` in the user's `corestore`. */
export function setNamespace(corestore: Corestore, discoveryKey: Buffer): Corestore {
  return corestore.namespace(`@multifeed/${discoveryKey.toString('hex')}`, { active: false })
}

/** Reads open()'s key argument: a new set, an invite or a key (`root`: the root of `corestore`). */
export async function sourceOf(
  corestore: Corestore,
  root: Corestore,
  key: KeyLike | null,
  settings: Settings
): Promise<SetSource> {
  if (key === null) {
    if (settings.moderated !== true) return { key: null, moderated: null, identity: null }
    const identity = await identityOf(root, settings.identity)
    const moderated = createModeratedSet(identity.publicKey, undefined, {
      encrypted: settings.encrypted === true
    })
    return { key: moderated.key, moderated, identity }
  }
  if (looksLikeInvite(key)) {
    if (settings.moderated === false) {
      throw new InvalidArgumentError(
        `${CALL}: moderated: false with an invite (an invite names a moderated set)`
      )
    }
    const moderated = parseInvite(key)
    return { key: moderated.key, moderated, identity: null }
  }
  const parsed = parseKey(key, 'Multifeed key')
  return { key: parsed, moderated: await heldEncrypted(corestore, root, parsed), identity: null }
}

/** The id of the moderated encrypted set a tagged `key` names in this store, or null. */
async function heldEncrypted(
  corestore: Corestore,
  root: Corestore,
  key: Buffer
): Promise<ModeratedSetId | null> {
  const tier = tierOf(key)
  if (tier === 'plain') return null
  const mirrorKey = tier === 'mirror' ? key : mirrorKeyOf(key)
  const store = setNamespace(corestore, crypto.discoveryKey(mirrorKey))
  try {
    const header = await ModerationLog.header(store, root)
    // The other tier's log: refused at load (ERR_TIER_CONFLICT, set/tier.ts).
    if (header === null || (header[0] === MIRROR_HEADER) !== (tier === 'mirror')) return null
    return decodeHeader(header, key)
  } finally {
    await store.close().catch(() => {})
  }
}

/** Where a set opens: its namespace (ready), the user's corestore, its key and open()'s arguments. */
export interface Opening {
  store: Corestore
  root: Corestore
  key: Buffer
  source: SetSource
  settings: Settings
}

/** The set's moderation at open (`multi.moderation`), or null for an unmoderated set. */
export async function moderationAt(
  opening: Opening,
  host: SetModerationHost
): Promise<SetModeration | null> {
  const records = await recordsAt(opening, host.callbacks)
  return records === null ? null : new SetModeration(records, host)
}

async function recordsAt(
  { store, root, key, source, settings }: Opening,
  callbacks: Callbacks
): Promise<Moderation | null> {
  let set: ModeratedSetId | Buffer | null = source.moderated
  // A tagged key was looked up before the set was built (sourceOf).
  const plain = tierOf(key) === 'plain'
  if (set === null && plain && (await ModerationLog.exists(store, root))) set = key
  if (set === null) {
    if (settings.moderated === true) {
      throw new InvalidArgumentError(
        `${CALL}: moderated: true with a key this corestore holds no moderated set of: open a moderated set with its invite (multi.invite), or create one without a key`
      )
    }
    return null
  }
  if (settings.moderated === false) {
    throw new InvalidArgumentError(
      `${CALL}: moderated: false with the key of a moderated set this corestore holds (it never re-opens unmoderated)`
    )
  }
  const identity = source.identity ?? (await identityOf(root, settings.identity))
  return Moderation.open(store, set, identity, {
    policy: policyOf(callbacks),
    maxRecords: settings.maxRecords
  })
}
