// Moderation records made outside a set, for scenario 17: signed by a founder
// identity the bench holds, written straight into the founder's closed store,
// verified as a member verifies them. The one place the bench reaches modules
// that @multifeed/core does not export (its dist/moderation/signing.js, and the
// moderation log's name and namespace, as multifeed/parts.ts and
// set/ModerationLog.ts make them), and why:
// - `multi.moderation.block()` costs O(records held) per call (the rule is
//   evaluated again and the heads found by a scan after each record: 7 ms per
//   call at 1,000 records on the shared machine, growing linearly), so making
//   10,000 records through the API would take about 20 minutes of setup. Records
//   signed here are the bytes the founder's own block() calls would write: each
//   names the one before (one chain, as successive calls make), signed by the
//   founder's identity for the set's key, appended to its log as block() appends;
//   the set reads them at its next open and every peer takes them over the wire.
// - The CPU figure is the cost of `verifyRecord` itself (decode, Ed25519, id),
//   which no public call isolates.
// A test (test/moderation-records.test.ts) checks that a set opened over records
// written here lists them as its own blocks and sends them to a member.
import { randomBytes } from 'node:crypto'
import type { IdentityKeyPair } from '@multifeed/core'
import type { Corestore } from '@multifeed/holepunch-types'
import crypto from 'hypercore-crypto'

/** A record as core's signing module returns it. */
export interface SignedBytes {
  bytes: Buffer
  id: Buffer
}

interface Signing {
  signRecord(
    setKey: Buffer,
    signer: IdentityKeyPair,
    body: { type: 'block'; kind: 'feed'; target: Buffer; reason: string },
    options: { deps?: Buffer[]; time?: number }
  ): SignedBytes
  verifyRecord(setKey: Buffer, bytes: Buffer): { ok: boolean }
}

let signing: Promise<Signing> | null = null

/** core's dist/moderation/signing.js, next to the index the package exports. */
export function signingModule(): Promise<Signing> {
  signing ??= import(
    new URL('./moderation/signing.js', import.meta.resolve('@multifeed/core')).href
  )
  return signing
}

/**
 * `count` block records of random feed keys signed by `founder` for the set
 * `setKey`, each naming the one before (the first names `after`, when given).
 */
export async function blockRecords(
  setKey: Buffer,
  founder: IdentityKeyPair,
  count: number,
  after: Buffer | null = null,
  reason = 'spam'
): Promise<SignedBytes[]> {
  const { signRecord } = await signingModule()
  const out: SignedBytes[] = []
  let prev = after
  for (let i = 0; i < count; i++) {
    const record = signRecord(
      setKey,
      founder,
      { type: 'block', kind: 'feed', target: randomBytes(32), reason },
      { deps: prev ? [prev] : [] }
    )
    out.push(record)
    prev = record.id
  }
  return out
}

// As multifeed/parts.ts names a set's namespace and set/ModerationLog.ts its log.
const LOG_NAME = 'multifeed/moderation'
const namespaceOf = (setKey: Buffer) => `@multifeed/${crypto.discoveryKey(setKey).toString('hex')}`

/**
 * Appends records to the moderation log of the set `setKey` in `store`, whose
 * multifeed must be closed (it reads its log at open). Appended in batches of
 * 1,000, as one append each (the log's own unit).
 */
export async function appendToLog(
  store: Corestore,
  setKey: Buffer,
  records: SignedBytes[]
): Promise<void> {
  const ns = store.namespace(namespaceOf(setKey), { active: false } as never)
  const log = ns.get({ name: LOG_NAME, active: false })
  try {
    await log.ready()
    if (log.length === 0) throw new Error('no moderation log in this store: open the set first')
    for (let i = 0; i < records.length; i += 1000) {
      await log.append(records.slice(i, i + 1000).map((r) => r.bytes))
    }
  } finally {
    await log.close()
    await ns.close()
  }
}
