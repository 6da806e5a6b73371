import { formatKey, type Multifeed } from '@multifeed/core'
import { ENCODINGS, type Encoding, isEncoding, show } from '../encodings.js'
import { COMMON_HELP, NETWORK_HELP, networkCommandLine, seconds } from '../options.js'
import { withSet } from '../session.js'
import { parseSet, readable } from '../setArgument.js'
import { UsageError } from '../UsageError.js'

export const CAT_USAGE = `Usage: multifeed cat KEY [options]

Prints the entries of the multifeed KEY, one a line, each feed in order. First
it joins the DHT and syncs with the peers it finds (it waits for one, up to
--timeout); with --offline it prints what the store holds. The entries it gets
stay in the store.

KEY is the set's key or, for a moderated set, its invite (multi.invite). A
mirror key or mirror invite cannot read the set: ERR_NOT_READABLE (exit 1).

Options:
  --live                 keep printing entries as they come, until SIGINT/SIGTERM
  --encoding NAME        ${ENCODINGS.join(' | ')} (default utf-8; json: one entry a line)
  --offline              do not join the DHT
  --timeout SECONDS      wait that long for a peer (default 30; then exit 1)
${NETWORK_HELP}
${COMMON_HELP}`

export async function cat(argv: string[]): Promise<number> {
  const line = networkCommandLine(argv, CAT_USAGE, ['KEY'], {
    live: { type: 'boolean' },
    offline: { type: 'boolean' },
    encoding: { type: 'string' },
    timeout: { type: 'string' }
  })
  if (line === null) return 0
  const { values, args, network, storage } = line
  const encoding = values.encoding ?? 'utf-8'
  if (!isEncoding(encoding)) {
    throw new UsageError(`--encoding ${encoding}: expected ${ENCODINGS.join(', ')}`, CAT_USAGE)
  }
  const timeout = seconds(values.timeout, 30, 'timeout', CAT_USAGE)
  if (values.offline && (network.bootstrap.length > 0 || network.host !== undefined)) {
    throw new UsageError('--offline joins no DHT: drop --bootstrap and --host', CAT_USAGE)
  }
  const set = readable(parseSet(args[0]!), 'cat')
  return withSet(storage, set, values.offline ? null : network, async ({ multi, net, signal }) => {
    if (net !== null) await multi.synced({ minPeers: 1, timeout: timeout * 1000, signal })
    await print(multi, encoding, values.live === true, signal)
    return 0
  })
}

async function print(
  multi: Multifeed,
  encoding: Encoding,
  live: boolean,
  signal: AbortSignal
): Promise<void> {
  try {
    for await (const entry of multi.read({ live, signal })) {
      if (entry.error !== undefined) {
        process.stderr.write(
          `skipped ${formatKey(entry.key)} #${entry.seq}: ${entry.error.message}\n`
        )
        continue
      }
      process.stdout.write(`${show(entry.value, encoding)}\n`)
    }
  } catch (err) {
    // SIGINT/SIGTERM ends --live: that is its normal end.
    if (!signal.aborted) throw err
  }
}
