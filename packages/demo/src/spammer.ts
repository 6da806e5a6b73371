/**
 * `--spammer`: the demo's moderated run. Every multifeed is a moderated set
 * founded by peer 0 (the moderator); the last peer floods each set with new
 * writers of junk until its writers are refused; peer 0 blocks the
 * spammer's identity once it has seen its flood, and the run ends only when
 * every peer took the block and no peer lists a feed of that identity (its
 * feeds now and the ones it made after: an identity block covers both).
 */
import type { Multifeed } from '@multifeed/core'

/** New writers the spammer makes per multifeed at most (it stops at the first refusal). */
export const FLOOD_WRITERS = 50
/** Feeds of the spammer the moderator waits to see in each multifeed before it blocks. */
export const SEEN_BEFORE_BLOCK = 3
/** Junk entries per spam writer. */
const JUNK_ENTRIES = 20

/** What the flood and the block did, for the summary. */
export interface SpamReport {
  /** The spammer's peer index. */
  readonly peer: number
  /** Spam feeds written (a writer created and its junk appended), and their junk entries. */
  feeds: number
  blocks: number
  /** Writers refused to the spammer (its identity blocked), one per multifeed at most. */
  refused: number
  /** Seconds from the start of the run to peer 0's block (null: not blocked). */
  blockedAt: number | null
}

/** The spammer's identity (public key) in its multifeeds (one identity per corestore). */
export function spammerIdentity(multi: Multifeed): Buffer {
  return multi.moderation!.identity
}

/**
 * Floods every multifeed with new writers of junk, a writer every few ms,
 * until each refuses (ERR_NOT_WRITABLE: the block reached the spammer) or
 * holds FLOOD_WRITERS. Any other error ends the flood with it.
 */
export async function flood(
  multifeeds: Multifeed[],
  report: SpamReport,
  size: number,
  stop: { readonly stopped: boolean }
): Promise<void> {
  await Promise.all(
    multifeeds.map(async (multi, m) => {
      for (let w = 0; w < FLOOD_WRITERS && !stop.stopped; w++) {
        let core: Awaited<ReturnType<Multifeed['writer']>>
        try {
          core = await multi.writer(`junk-${w}`)
        } catch (err) {
          if ((err as { code?: string }).code !== 'ERR_NOT_WRITABLE') throw err
          report.refused++
          return
        }
        try {
          const junk = Array.from({ length: JUNK_ENTRIES }, (_, i) =>
            Buffer.alloc(size, `junk ${m}/${w}/${i} `)
          )
          await core.append(junk)
          report.feeds++
          report.blocks += junk.length
        } catch (err) {
          // The block came while it wrote: this writer is gone, the next one is refused.
          if (!multi.moderation!.blocked().length) throw err
        } finally {
          await core.close().catch(() => {})
        }
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    })
  )
}

/** Feeds of `identity` (FeedInfo.owner) that `multi` lists. */
export function spamListed(multi: Multifeed, identity: Buffer): number {
  return multi.feeds().filter((f) => f.owner?.equals(identity) === true).length
}

/** True when `multi` took a block of `identity` (its state blocks it). */
export function tookBlock(multi: Multifeed, identity: Buffer): boolean {
  return multi
    .moderation!.blocked()
    .some((b) => 'identity' in b.target && b.target.identity.equals(identity))
}

/**
 * The moderator's part: once `founder`'s multifeeds each list SEEN_BEFORE_BLOCK
 * feeds of the spammer (or the flood ended), blocks its identity in each.
 */
export async function blockWhenSeen(
  founder: Multifeed[],
  identity: Buffer,
  flooding: Promise<void>,
  report: SpamReport,
  started: number,
  signal: { readonly stopped: boolean }
): Promise<void> {
  let ended = false
  flooding.then(
    () => {
      ended = true
    },
    () => {
      ended = true
    }
  )
  while (!signal.stopped) {
    const seen = founder.every((multi) => spamListed(multi, identity) >= SEEN_BEFORE_BLOCK)
    if (seen || ended) break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  if (signal.stopped) return
  for (const multi of founder) {
    await multi.moderation!.block({ identity }, { reason: 'spam' })
  }
  report.blockedAt = (performance.now() - started) / 1000
}
