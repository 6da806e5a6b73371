import { formatKey } from '@multifeed/core'
import { COMMON_HELP, NETWORK_HELP, networkCommandLine } from '../options.js'
import { log, withSet } from '../session.js'
import { parseSet, readable } from '../setArgument.js'
import { aborted } from '../signals.js'

export const SEED_USAGE = `Usage: multifeed seed KEY [options]

Keeps the multifeed KEY online: joins the DHT, serves every feed the store
holds of it and downloads every feed its peers hold, until SIGINT or SIGTERM;
then leaves the DHT, closes the store and exits 0. Prints "seeding KEY" on
stdout once announced, and a line on stderr for each peer that comes or goes.

KEY is the set's key or, for a moderated set, its invite (multi.invite). A
mirror key or mirror invite cannot read the set: ERR_NOT_READABLE (exit 1);
keep a set online as a mirror with \`multifeed mirror add\` and \`mirror run\`.

Options:
${NETWORK_HELP}
${COMMON_HELP}`

export async function seed(argv: string[]): Promise<number> {
  const line = networkCommandLine(argv, SEED_USAGE, ['KEY'], {})
  if (line === null) return 0
  const { args, network, storage } = line
  const set = readable(parseSet(args[0]!), 'seed')
  return withSet(storage, set, network, async ({ multi, signal }) => {
    multi.on('feed', (feed) => log(`feed ${formatKey(feed.key)} joined`))
    if (!signal.aborted) process.stdout.write(`seeding ${set.text}\n`)
    await aborted(signal)
    log('shutting down')
    return 0
  })
}
