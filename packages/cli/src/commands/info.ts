import { type FeedInfo, formatKey, Multifeed, parseKey } from '@multifeed/core'
import crypto from 'hypercore-crypto'
import { COMMON_HELP, COMMON_OPTIONS, commonOptions, parse } from '../options.js'
import { openStore } from '../store.js'

export const INFO_USAGE = `Usage: multifeed info [KEY...] [options]

What a store holds: the multifeeds stored in it (by discovery key: a store keeps
no multifeed's key) and, for each KEY given, its feeds and their lengths and the
feeds it blocks. Opens nothing on the network.

Options:
  --json                 one JSON document instead of text
${COMMON_HELP}`

interface SetReport {
  discoveryKey: string
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
  const keys = positionals.map((key) => parseKey(key, 'KEY'))
  const store = await openStore(storage, { create: false })
  try {
    const stored = await Multifeed.stored(store)
    const sets: SetReport[] = stored.map((dk) => ({ discoveryKey: dk.toString('hex') }))
    for (const key of keys) {
      const multi = await openStored(store, key, stored)
      try {
        const set = sets.find((s) => s.discoveryKey === multi.discoveryKey.toString('hex'))!
        set.key = formatKey(key)
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
  key: Buffer,
  stored: Buffer[]
): Promise<Multifeed> {
  const discoveryKey = crypto.discoveryKey(key)
  if (!stored.some((dk) => dk.equals(discoveryKey))) {
    throw new NotStoredError(`${formatKey(key)} is not a multifeed of this store`)
  }
  // Not sparse: a mirror key refuses it, and without a peer nothing downloads anyway.
  return Multifeed.open(store, key)
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
