// Scenario 17 makes its records outside the set (src/moderation/records.ts:
// signed with core's own signing module, appended to the founder's log while
// it is closed) and measures core's verifyRecord. Both reach modules that
// @multifeed/core does not export: this checks they still are what the set
// reads and sends, so a move in core fails here rather than in a bench run.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Multifeed } from '@multifeed/core'
import CorestoreClass from 'corestore'
import hypercoreCrypto from 'hypercore-crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { appendToLog, blockRecords, signingModule } from '../src/moderation/records.js'
import { verifyCost } from '../src/moderation/verify.js'

const dirs: string[] = []
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

async function store(): Promise<{ dir: string; store: InstanceType<typeof CorestoreClass> }> {
  const dir = await mkdtemp(join(tmpdir(), 'multifeed-bench-records-'))
  dirs.push(dir)
  return { dir, store: new CorestoreClass(dir) }
}

describe("records written to a closed founder's log (scenario 17)", () => {
  it('are the set’s own blocks when it opens again, and reach a member over the wire', async () => {
    const founder = hypercoreCrypto.keyPair()
    const a = await store()
    let multi = await Multifeed.open(a.store, null, { moderated: true, identity: founder })
    const key = multi.key
    const invite = multi.invite!
    await multi.close()
    const made = await blockRecords(key, founder, 5)
    await appendToLog(a.store, key, made)
    await a.store.close()
    const again = new CorestoreClass(a.dir)
    multi = await Multifeed.open(again, key, { moderated: true, identity: founder })
    expect(multi.moderation!.blocked()).toHaveLength(5)
    expect(multi.moderation!.blocked().every((b) => b.signer.equals(founder.publicKey))).toBe(true)

    const b = await store()
    const member = await Multifeed.open(b.store, invite)
    const s = multi.replicate(true)
    s.pipe(member.replicate(false)).pipe(s)
    await member.synced({ minPeers: 1, timeout: 20_000 })
    expect(member.moderation!.blocked()).toHaveLength(5)
    s.destroy()
    await member.close()
    await multi.close()
    await b.store.close()
    await again.close()
  })

  it('verify with the function a member uses, and a mutated one does not', async () => {
    const { verifyRecord } = await signingModule()
    const setKey = Buffer.alloc(32, 1)
    const [record] = await blockRecords(setKey, hypercoreCrypto.keyPair(), 1)
    expect(verifyRecord(setKey, record!.bytes).ok).toBe(true)
    const mutated = Buffer.from(record!.bytes)
    mutated[mutated.length - 70]! ^= 1
    expect(verifyRecord(setKey, mutated).ok).toBe(false)
    expect(verifyRecord(Buffer.alloc(32, 2), record!.bytes).ok).toBe(false)
    const [sample] = await verifyCost(20, 1)
    expect(sample!.recordsMs).toBeGreaterThan(0)
    expect(sample!.ed25519Ms).toBeGreaterThan(0)
  })
})
