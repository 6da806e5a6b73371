/**
 * How the peers of a run open its sets. Plain runs: the schedule's keys.
 * Moderated runs: every honest peer gets an identity drawn from the seed,
 * and each set is founded by peer 0's identity in a throwaway corestore
 * (`open(null, { moderated, identity })`): its invite is what the members
 * open, its key what hostile key holders attack. The secret is drawn by the
 * library, so a moderated run's set keys differ between two runs of a seed;
 * the schedule (and its fingerprint) does not.
 */
import { type IdentityKeyPair, Multifeed } from '@multifeed/core'
import { createTempCorestore } from '@multifeed/testing'
import crypto from 'hypercore-crypto'
import type { Schedule } from '../schedule.js'
import type { SetAccess } from './Replica.js'

export interface RunAccess {
  /** Per set: its key, and its invite in moderated runs. */
  readonly sets: SetAccess[]
  /** Moderated runs: each honest peer's identity, by index (else empty). */
  readonly identities: ReadonlyMap<number, IdentityKeyPair>
}

export async function runAccess(schedule: Schedule): Promise<RunAccess> {
  if (schedule.moderation === null) {
    return { sets: schedule.setKeys.map((key) => ({ key, invite: null })), identities: new Map() }
  }
  const identities = new Map<number, IdentityKeyPair>()
  for (const plan of schedule.peers) {
    if (plan.kind === 'hostile') continue
    const seed = Buffer.alloc(32)
    seed.write('multifeed-sim identity')
    seed.writeUInt32BE(schedule.seed, 24)
    seed.writeUInt32BE(plan.index, 28)
    identities.set(plan.index, crypto.keyPair(crypto.hash(seed)))
  }
  const founder = identities.get(schedule.moderation.founder)!
  const tmp = await createTempCorestore({ prefix: 'multifeed-sim-founding-' })
  try {
    const sets: SetAccess[] = []
    for (let s = 0; s < schedule.setKeys.length; s++) {
      const multi = await Multifeed.open(tmp.corestore, null, {
        moderated: true,
        identity: founder
      })
      sets.push({ key: Buffer.from(multi.key), invite: multi.invite })
      await multi.close()
    }
    return { sets, identities }
  } finally {
    await tmp.close()
  }
}
