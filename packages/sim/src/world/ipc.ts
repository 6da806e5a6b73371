/** Messages between the simulator and a peer in a child process (JSON over Node's IPC channel). */
import type { Acted, ActOutcome } from './Moderated.js'
import type { PeerErrorReport, PeerSnapshot } from './snapshot.js'

/** What the child needs to start: keys in hex. */
export interface ChildSetup {
  index: number
  dir: string
  publicKey: string
  secretKey: string
  primaryKey: string
  setKeys: string[]
  /** Moderated runs: each set's invite (else null), and the peer's identity (hex halves). */
  invites: Array<string | null>
  identity: { publicKey: string; secretKey: string } | null
  sets: number[]
  removed: Record<number, string[]>
  /** Over the loopback testnet: its bootstrap nodes (else the hub's link sockets). */
  bootstrap: Array<{ host: string; port: number }> | null
}

export type ToChild =
  | { type: 'start'; setup: ChildSetup }
  | { type: 'append'; id: number; set: number; count: number }
  | { type: 'snapshot'; id: number; ask: string[] }
  | { type: 'remove'; id: number; set: number; key: string }
  | { type: 'spam'; id: number; set: number; writers: number; count: number }
  | {
      type: 'moderate'
      id: number
      set: number
      action: 'block' | 'unblock'
      target: 'feed' | 'identity'
      spammer: string
      latestFeed: string | null
    }
  | { type: 'authority'; id: number; set: number; action: 'grant' | 'revoke'; identity: string }
  | { type: 'stop'; id: number }

export type FromChild =
  | { type: 'listening'; port: number }
  | { type: 'started' }
  | { type: 'join'; topic: string; announce: boolean; lookup: boolean }
  | { type: 'leave'; topic: string }
  | { type: 'reply'; id: number; result?: unknown; error?: string }
  | { type: 'peer-error'; report: PeerErrorReport }
  | { type: 'process'; detail: string }
  | { type: 'acted'; acted: Acted }

export type SnapshotReply = PeerSnapshot
export type ActReply = ActOutcome
