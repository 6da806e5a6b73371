/**
 * What a Noise stream holds unsent: its own write buffer and its raw
 * stream's read buffer (the ciphertext not yet taken by the link). streamx
 * keeps both counts in private state (`_writableState.buffered`,
 * `_readableState.buffered`); this is the one place we read them, because no
 * public API says how much a stream queues.
 */
import type { NoiseSecretStream } from '@multifeed/holepunch-types'

interface StreamxState {
  _writableState?: { buffered?: number }
  _readableState?: { buffered?: number }
}

export function queuedIn(stream: NoiseSecretStream): number {
  const noise = stream as unknown as StreamxState
  const raw = stream.rawStream as unknown as StreamxState
  return (noise._writableState?.buffered ?? 0) + (raw._readableState?.buffered ?? 0)
}
