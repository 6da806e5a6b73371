/**
 * The waiter of moderated sets: every copy of a moderated multifeed holds
 * the same grant, revoke, block and unblock records (`moderation.recordIds()`),
 * so each computes the same moderators and blocks, and acted on them: it
 * lists no feed its blocks cover (by key, or by the identity that owns it).
 * The positive signal a test waits for after a block, an unblock, a grant
 * or a revoke.
 */
import type { Multifeed } from '@multifeed/core'
import {
  checkWaiter,
  type MultifeedTargets,
  pollUntil,
  resolveTargets,
  type WaitOptions
} from './waiters.js'

/**
 * Resolves once, for each moderated multifeed key, every copy holds every
 * moderation record any copy holds and lists no feed its blocks cover
 * (multifeeds that are not moderated are ignored). On timeout it names the
 * copies that lack records or still list a blocked feed.
 *
 * ```ts
 * await founder.moderation!.block({ identity }, { reason: 'spam' })
 * await untilModerated(peers, { timeout: 10_000 })
 * ```
 */
export async function untilModerated(
  targets: MultifeedTargets,
  options: WaitOptions = {}
): Promise<void> {
  checkWaiter('untilModerated()', targets, options)
  await pollUntil(() => moderationReport(targets), 'untilModerated', options)
}

/** The lines `untilModerated` would print (empty when every copy holds and acted on every record). */
export function moderationReport(targets: MultifeedTargets): string[] {
  const byKey = new Map<string, Array<{ label: string; ids: Set<string> }>>()
  const lines: string[] = []
  for (const { label, multi } of resolveTargets(targets)) {
    const ids = recordsOf(multi)
    if (ids === undefined) continue
    if (ids === null) return [`${label}: multifeed is closed`]
    for (const key of stillListed(multi)) lines.push(`${label} still lists blocked feed ${key}`)
    const key = multi.key.toString('hex')
    const copies = byKey.get(key) ?? []
    copies.push({ label, ids })
    byKey.set(key, copies)
  }
  for (const copies of byKey.values()) {
    const all = new Set(copies.flatMap((c) => [...c.ids]))
    for (const { label, ids } of copies) {
      if (ids.size < all.size)
        lines.push(`${label} holds ${ids.size}/${all.size} moderation records`)
    }
  }
  return lines
}

/** Feeds (short hex) `multi` lists that its own moderation blocks: a removal under way. */
function stillListed(multi: Multifeed<unknown>): string[] {
  const blocked = new Set(
    multi
      .moderation!.blocked()
      .map((b) =>
        'feed' in b.target
          ? `feed:${b.target.feed.toString('hex')}`
          : `identity:${b.target.identity.toString('hex')}`
      )
  )
  if (blocked.size === 0) return []
  return multi
    .feeds()
    .filter(
      (f) =>
        blocked.has(`feed:${f.key.toString('hex')}`) ||
        (f.owner !== null && blocked.has(`identity:${f.owner.toString('hex')}`))
    )
    .map((f) => f.key.toString('hex').slice(0, 8))
}

/** Record ids (hex) of a moderated multifeed; undefined: not moderated; null: closed. */
function recordsOf(multi: Multifeed<unknown>): Set<string> | null | undefined {
  if (multi.closing) return null
  const moderation = multi.moderation
  if (moderation === null) return undefined
  return new Set(moderation.recordIds().map((id) => id.toString('hex')))
}
