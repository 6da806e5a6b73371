/**
 * What the world asks of an honest peer, in process or in a child process:
 * start (from its storage), stop, append, and show its state.
 */
import type { PeerErrorReport, PeerSnapshot } from './snapshot.js'

export interface HonestMember {
  readonly index: number
  readonly publicKey: Buffer
  readonly online: boolean
  start(): Promise<void>
  /** A graceful stop (networker, multifeeds, corestore closed). */
  stop(): Promise<void>
  /** Kills the peer without a chance to clean up (child peers: SIGKILL). */
  crash(): Promise<void>
  /** Appends `count` blocks to our writer of `set`: its key (hex) and new length. */
  append(set: number, count: number): Promise<{ key: string; length: number }>
  /** Drops the feed `key` (hex) from `set` for good; offline, the next start does. */
  remove(set: number, key: string): Promise<void>
  /** `ask`: discovery keys (hex) whose storage the snapshot reports. */
  snapshot(ask: string[]): Promise<PeerSnapshot>
  /** Called with every `peer-error` this peer's multifeeds report. */
  onPeerError: ((report: PeerErrorReport) => void) | null
  /** Stops for good and removes the storage. */
  destroy(): Promise<void>
}
