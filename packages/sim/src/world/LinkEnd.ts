/** A member's end of a simulated link, and what makes one (SimHub's links are made of two). */
import type { Duplex } from 'node:stream'
import type { NoiseSecretStream as Connection } from '@multifeed/holepunch-types'

/** One end of a link as a member makes it: the raw stream its Noise stream reads and writes. */
export interface EndMaker {
  readonly publicKey: Buffer
  /** Makes this member's end of a new link; `close` destroys it. */
  open(initiator: boolean, remotePublicKey: Buffer): LinkEnd
}

export interface LinkEnd {
  /** Ciphertext out of this member (read it) and into it (write to it). */
  readonly raw: Duplex
  /** Fires once when this end is gone. */
  onClose(listener: () => void): void
  destroy(): void
  /** Bytes this member's side holds unsent on this link (its stream buffers), if known. */
  queued(): number
  /** The member's Noise stream, when it lives in this process (its plaintext can be watched). */
  readonly stream?: Connection
}
