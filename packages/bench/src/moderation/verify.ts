// Scenario 17, CPU to verify moderation records: `n` block records signed by
// one identity (each naming the one before, as a founder's successive blocks
// do) verified as a member verifies what it receives (core's verifyRecord:
// decode, Ed25519 over the domain-separated message, BLAKE2b id), against `n`
// bare Ed25519 verifications through sodium-universal of messages of the same
// length (the signature check alone: what the rest costs is the difference).
// Both in this process, one after the other, alternating which runs first.
import sodium from 'sodium-universal'
import { cpuMs } from '../clock.js'
import { blockRecords, signingModule } from './records.js'

/** What one verification run cost (CPU time of this process, ms). */
export interface VerifySample {
  recordsMs: number
  ed25519Ms: number
  /** Bytes of one record, and of the message its signature covers. */
  recordBytes: number
}

// "multifeed/moderation/1\n" ‖ set key ‖ the record without its signature (signing.ts).
const DOMAIN_BYTES = 23

export async function verifyCost(n: number, reps: number): Promise<VerifySample[]> {
  const { verifyRecord } = await signingModule()
  const founder = keyPair()
  const setKey = Buffer.alloc(32, 7)
  const records = await blockRecords(setKey, founder, n)
  // The first names no record; every other one names the one before, as a founder's blocks do.
  const recordBytes = records.at(-1)!.bytes.byteLength
  const messageBytes = DOMAIN_BYTES + 32 + recordBytes - sodium.crypto_sign_BYTES
  const messages = records.map((_, i) => {
    const m = Buffer.alloc(messageBytes, i & 0xff)
    m.writeUInt32BE(i)
    return m
  })
  const signatures = messages.map((m) => {
    const sig = Buffer.alloc(sodium.crypto_sign_BYTES)
    sodium.crypto_sign_detached(sig, m, founder.secretKey)
    return sig
  })
  const verifyAll = () => {
    const t = cpuMs()
    for (const r of records) {
      if (!verifyRecord(setKey, r.bytes).ok) throw new Error('a record did not verify')
    }
    return cpuMs() - t
  }
  const ed25519All = () => {
    const t = cpuMs()
    for (let i = 0; i < n; i++) {
      if (!sodium.crypto_sign_verify_detached(signatures[i]!, messages[i]!, founder.publicKey)) {
        throw new Error('a signature did not verify')
      }
    }
    return cpuMs() - t
  }
  const out: VerifySample[] = []
  for (let rep = 0; rep < reps; rep++) {
    if (rep % 2 === 0) {
      const recordsMs = verifyAll()
      out.push({ recordsMs, ed25519Ms: ed25519All(), recordBytes })
    } else {
      const ed25519Ms = ed25519All()
      out.push({ recordsMs: verifyAll(), ed25519Ms, recordBytes })
    }
  }
  return out
}

function keyPair(): { publicKey: Buffer; secretKey: Buffer } {
  const publicKey = Buffer.alloc(sodium.crypto_sign_PUBLICKEYBYTES)
  const secretKey = Buffer.alloc(sodium.crypto_sign_SECRETKEYBYTES)
  sodium.crypto_sign_keypair(publicKey, secretKey)
  return { publicKey, secretKey }
}
