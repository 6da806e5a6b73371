/**
 * What the world asks of an honest peer, in process or in a child process:
 * start (from its storage), stop, append, and show its state.
 */
import type { Acted, ActOutcome, ModerationAct } from './Moderated.js'
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
  /** Moderated runs, the spammer: `writers` new writers of `set`, `count` junk blocks each. */
  spam(
    set: number,
    writers: number,
    count: number
  ): Promise<{ feeds: Array<{ key: string; length: number }>; refused: number }>
  /** Moderated runs: a block or unblock of the spammer's identity or of a feed (hex: its latest). */
  moderate(set: number, act: ModerationAct): Promise<ActOutcome>
  /** Moderated runs, the founder: grants or revokes a moderator's identity. */
  authority(set: number, action: 'grant' | 'revoke', identity: Buffer): Promise<ActOutcome>
  /** Moderated runs: called with what a set acted on, after each change (and at open). */
  onActed: ((acted: Acted) => void) | null
  /** Called with every `peer-error` this peer's multifeeds report. */
  onPeerError: ((report: PeerErrorReport) => void) | null
  /** Stops for good and removes the storage. */
  destroy(): Promise<void>
}
