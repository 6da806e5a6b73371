/**
 * The parts of a multifeed and how they are wired together: the façade
 * (Multifeed.ts) holds one `Parts` and the functions of `multifeed/` take it.
 * Names the multifeed as replication does (`MultifeedRef`), never imports
 * Multifeed.ts (that would be a cycle: notes/layers.md).
 */
import type { Corestore, ValueEncoding } from '@multifeed/holepunch-types'
import { mirrorSettings, type SetKeys } from '../capabilities.js'
import { Callbacks } from '../lifecycle/Callbacks.js'
import { Changes } from '../lifecycle/Changes.js'
import type { Settings } from '../lifecycle/options.js'
import type { TypedEmitter } from '../lifecycle/Resource.js'
import { heldElsewhere, type Registered } from '../lifecycle/registry.js'
import { setSalt } from '../protocol/pairing.js'
import type { MultifeedRef } from '../replication/PeerHost.js'
import { Peers } from '../replication/Peers.js'
import { rootOf } from '../replication/ReplicationStream.js'
import { AdmissionTags } from '../set/AdmissionTags.js'
import { CorePool } from '../set/CorePool.js'
import { Management } from '../set/Management.js'
import { Membership } from '../set/Membership.js'
import type { Owners } from '../set/Owners.js'
import { type SetSource, setNamespace } from '../set/opening.js'
import { recordsOf, type SetModeration } from '../set/SetModeration.js'
import { Writers } from '../set/Writers.js'
import type { MultifeedEvents } from '../types.js'
import { announce, type EventParts, grew } from './events.js'

/**
 * A multifeed's parts (internal: named in no public signature).
 * @internal
 */
export interface Parts extends EventParts {
  /** The set's namespace of the user's corestore. */
  readonly store: Corestore
  /** This multifeed as the store's registry knows it (lifecycle/registry.ts). */
  readonly registration: Registered
  readonly pool: CorePool
  readonly writers: Writers
  readonly management: Management
  readonly valueEncoding: ValueEncoding | undefined
  readonly source: SetSource
  readonly settings: Settings
  /** The façade's `assertOpen('Multifeed')` (ERR_CLOSED once it or its corestore closes). */
  readonly assertOpen: () => void
  /** The store's record of which multifeed holds a feed (set/Owners.ts), from open on. */
  owners: Owners | null
  /** A moderated set's authority on this peer (set/SetModeration.ts), from open on; null for other sets. */
  moderation: SetModeration | null
}

/** The multifeed as its parts name it: replication's view of it, and the emitter of its events. */
export type PartsOwner = MultifeedRef & TypedEmitter<MultifeedEvents>

/** Builds the parts of `multi` (its keys derived, its settings read): opens nothing. */
export function buildParts(
  multi: PartsOwner,
  assertOpen: () => void,
  keys: SetKeys,
  source: SetSource,
  settings: Settings
): Parts {
  const corestore = multi.corestore
  if (keys.tier === 'mirror') mirrorSettings(settings)
  const store = setNamespace(corestore, keys.discoveryKey)
  const membership = new Membership(
    store,
    keys.discoveryKey,
    setSalt(keys.pairingKey),
    settings.maxFeeds,
    new AdmissionTags(keys.mirrorKey !== null, keys.admissionKey)
  )
  const registration: Registered = {
    tier: keys.tier,
    holds: (key) => membership.set.find(key) !== undefined
  }
  const pool = new CorePool(store, {
    userStore: corestore,
    valueEncoding: settings.valueEncoding,
    encryptionKey: keys.encryptionKey,
    mirror: !settings.sparse,
    beforeOpen: () => membership.opening(),
    onLength: (feed, length) => grew(parts, multi.closing, feed, length),
    onTransfer: (_feed, direction, bytes, from) => peers.transferred(direction, bytes, from)
  })
  const callbacks = new Callbacks(multi, settings.policy)
  const changes = new Changes()
  const peers = new Peers({
    multifeed: multi,
    membership,
    pool,
    callbacks,
    settings,
    pairingKey: keys.pairingKey,
    assertOpen,
    announce: (feed, from) => announce(parts, feed, from),
    wake: () => changes.wake(),
    moderation: () => (parts.moderation === null ? null : recordsOf(parts.moderation))
  })
  const writers = new Writers(store, membership, pool, {
    assertOpen,
    announce: (feed) => announce(parts, feed, null),
    bind: async (key, keyPair) => {
      await parts.moderation?.bindWriter(key, keyPair)
    }
  })
  const management = new Management(membership, pool, callbacks, {
    root: () => rootOf(corestore),
    assertOpen,
    announce: (feed) => announce(parts, feed, null),
    forget: (feed) => peers.forget(feed),
    heldElsewhere: (key) => heldElsewhere(rootOf(corestore), registration, key)
  })
  const parts: Parts = {
    store,
    membership,
    registration,
    pool,
    callbacks,
    peers,
    writers,
    management,
    changes,
    valueEncoding: settings.valueEncoding,
    source,
    settings,
    assertOpen,
    owners: null,
    moderation: null
  }
  return parts
}
