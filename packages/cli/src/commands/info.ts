import { type FeedInfo, formatKey, Multifeed } from '@multifeed/core'
import { readList } from '../mirror/MirrorList.js'
import { COMMON_HELP, COMMON_OPTIONS, commonOptions, parse } from '../options.js'
import { parseSet, type SetArgument } from '../setArgument.js'
import { openStore } from '../store.js'

export const INFO_USAGE = `Usage: multifeed info [KEY...] [options]

What a store holds: the multifeeds stored in it (by discovery key: a store keeps
no multifeed's key; a set of the store's mirror list shows the key or invite
listed) and, for each KEY given (a key or an invite, either tier), its feeds and
their lengths and the feeds it blocks. Opens nothing on the network.

Options:
  --json                 one JSON document instead of text
${COMMON_HELP}`

interface SetReport {
  discoveryKey: string
  /** The key or invite of the store's mirror list (mirror.json) that names the set. */
  listed?: string
  key?: string
  feeds?: Array<{ key: string; length: number; local: boolean; name: string | null }>
  blocked?: string[]
}

export async function info(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { ...COMMON_OPTIONS, json: { type: 'boolean' } },
    INFO_USAGE
  )
  if (values.help) return help()
  const { storage } = commonOptions(values)
  const keys = positionals.map((key) => parseSet(key))
  const store = await openStore(storage, { create: false })
  try {
    const stored = await Multifeed.stored(store)
    const sets: SetReport[] = stored.map((dk) => ({ discoveryKey: dk.toString('hex') }))
    for (const { key } of (await readList(storage)).sets) {
      const set = sets.find((s) => s.discoveryKey === discoveryKeyOf(key))
      if (set !== undefined) set.listed = key
    }
    for (const key of keys) {
      const multi = await openStored(store, key, stored)
      try {
        const set = sets.find((s) => s.discoveryKey === multi.discoveryKey.toString('hex'))!
        set.key = key.text
        set.feeds = multi.feeds().map(feedReport)
        set.blocked = multi.blocked().map(formatKey)
      } finally {
        await multi.close()
      }
    }
    const report = { storage, multifeeds: sets }
    process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : text(report))
    return 0
  } finally {
    await store.close()
  }
}

function help(): number {
  process.stdout.write(`${INFO_USAGE}\n`)
  return 0
}

/** Opens a multifeed the store holds; never one it does not (that would record it: info only reads). */
async function openStored(
  store: Parameters<typeof Multifeed.open>[0],
  set: SetArgument,
  stored: Buffer[]
): Promise<Multifeed> {
  if (!stored.some((dk) => dk.equals(set.discoveryKey))) {
    throw new NotStoredError(`${set.text} is not a multifeed of this store`)
  }
  // Not sparse: a mirror key refuses it, and without a peer nothing downloads anyway.
  return Multifeed.open(store, set.text)
}

/** The discovery key (hex) of a list entry; '' for one that names no set. */
function discoveryKeyOf(key: string): string {
  try {
    return Multifeed.discoveryKeyOf(key).toString('hex')
  } catch {
    return ''
  }
}

/** A KEY given to info that the store does not hold (exit 1). */
export class NotStoredError extends Error {
  override name = 'NotStoredError'
}

function feedReport(feed: FeedInfo) {
  return { key: formatKey(feed.key), length: feed.length, local: feed.local, name: feed.name }
}

function text({ storage, multifeeds }: { storage: string; multifeeds: SetReport[] }): string {
  const lines = [
    `store ${storage}`,
    `${multifeeds.length} multifeed${multifeeds.length === 1 ? '' : 's'}`
  ]
  for (const set of multifeeds) {
    lines.push(`  discovery key ${set.discoveryKey}`)
    if (set.listed !== undefined) lines.push(`    mirror list ${set.listed}`)
    if (set.feeds === undefined) continue
    const entries = set.feeds.reduce((sum, feed) => sum + feed.length, 0)
    lines.push(`    key ${set.key}`)
    lines.push(`    ${set.feeds.length} feeds, ${entries} entries`)
    for (const feed of set.feeds) {
      const own = feed.local ? `  (ours${feed.name !== null ? `: ${feed.name}` : ''})` : ''
      lines.push(`      ${feed.key}  length ${feed.length}${own}`)
    }
    for (const blocked of set.blocked ?? []) lines.push(`      ${blocked}  blocked`)
  }
  return `${lines.join('\n')}\n`
}
