/**
 * What a peer shows the checkers, the same for an in-process peer and one in
 * a child process (which sends it over IPC as JSON).
 */
export interface FeedView {
  /** Feed key, hex. */
  key: string
  length: number
  /** Moderated sets: the identity (hex) its verified bind names, or null. */
  owner?: string | null
}

/** A moderated set as one peer sees it, read in one go (nothing changes in between). */
export interface ModerationView {
  /** Ids (hex) of the grant, revoke, block and unblock records held, ascending. */
  records: string[]
  /** Founder and moderators (hex), as `moderators()` gives them. */
  moderators: string[]
  /** `target:signer` of every block in force (`blocked()`), sorted. */
  blocked: string[]
  /** Targets blocked as of the last `moderation` event (the set acted on them), sorted. */
  acted: string[]
  /** `moderation` events seen since the set opened. */
  events: number
}

export interface PeerSnapshot {
  index: number
  online: boolean
  /** Per set index the peer has open: its `feeds()`, in order, duplicates kept. */
  sets: Record<number, FeedView[]>
  /** Of the discovery keys asked about (hex), those whose core this peer's corestore stores. */
  stored: string[]
  /** Blocks received from peers over all sessions of this run, per set (MultifeedPeer.progress). */
  received: Record<number, number>
  /** Per set index the peer has open: the keys it blocks (`blocked()`, hex); absent in older snapshots. */
  blocked?: Record<number, string[]>
  /** Moderated runs: per set index the peer has open, its moderation. */
  moderation?: Record<number, ModerationView>
}

/** A `peer-error` an honest peer reported: the remote's public key (hex) and the code. */
export interface PeerErrorReport {
  peer: number
  remote: string | null
  code: string
  message: string
}
