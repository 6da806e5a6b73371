import { formatKey, parseKey } from '@multifeed/core'
import {
  addToList,
  listPath,
  type MirrorDocument,
  readList,
  removeFromList
} from '../mirror/MirrorList.js'
import { runMirror } from '../mirror/run.js'
import {
  COMMON_HELP,
  COMMON_OPTIONS,
  commonOptions,
  NETWORK_HELP,
  NETWORK_OPTIONS,
  networkOptions,
  parse,
  positionals
} from '../options.js'
import { EXIT_OK, UsageError } from '../UsageError.js'

export const MIRROR_USAGE = `Usage: multifeed mirror COMMAND [options]

An always-on peer for sets whose members come and go: it keeps many sets
online over one connection per peer, downloads every feed of each and serves
them. Give it an encrypted set's mirror key (multi.mirrorKey): it stores and
serves the set's blocks and cannot read them. A plain set's key works too (a
full copy that writes nothing, and can read).

Commands:
  add KEY      add a set to the list (a running mirror takes it up at once)
  remove KEY   remove a set from the list (a running mirror drops it at once)
  list         the sets of the list
  run          mirror every set of the list until SIGINT/SIGTERM

The list is the file mirror.json in the store's directory (--storage DIR).
\`multifeed mirror COMMAND --help\` tells more.

Options:
${COMMON_HELP}`

const ADD_USAGE = `Usage: multifeed mirror add KEY [options]

Adds the set KEY to the mirror's list (DIR/mirror.json; created with DIR if
needed). Prints "added KEY", or "KEY is already in the list" (exit 0 too). A
running mirror starts on it at once. Does not open the store.

Options:
${COMMON_HELP}`

const REMOVE_USAGE = `Usage: multifeed mirror remove KEY [options]

Removes the set KEY from the mirror's list. Prints "removed KEY", or "KEY is
not in the list" (exit 0 too). A running mirror stops on it at once; what it
stored of the set stays in the store.

Options:
${COMMON_HELP}`

const LIST_USAGE = `Usage: multifeed mirror list [options]

Prints the sets of the mirror's list, one a line: KEY and when it was added.

Options:
  --json                 the list file's document: { version, sets: [{ key, added }] }
${COMMON_HELP}`

export const RUN_USAGE = `Usage: multifeed mirror run [options]

Mirrors every set of the list over one networker and one store: joins the DHT,
downloads every feed of each set and serves them, until SIGINT or SIGTERM; then
leaves the DHT, closes every set and the store, and exits 0. \`mirror add\` and
\`mirror remove\` take effect while it runs. Started again, it resumes where it
stopped. Prints "mirror running: N sets" on stdout once started; on stderr a
status line on a terminal (sets, peers, feeds, blocks, bytes, what is still
syncing), otherwise log lines: a set that starts or stops, peers that come and
go, "KEY syncing: ..." and "KEY in sync: F feeds, B blocks (P peers)".

Options:
${NETWORK_HELP}
${COMMON_HELP}`

const SUBCOMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  add: (argv) => change(argv, ADD_USAGE, 'add'),
  remove: (argv) => change(argv, REMOVE_USAGE, 'remove'),
  list,
  run
}

export async function mirror(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (name === '-h' || name === '--help') return help(MIRROR_USAGE)
  if (name === undefined)
    throw new UsageError('missing COMMAND (add, remove, list, run)', MIRROR_USAGE)
  const sub = SUBCOMMANDS[name]
  if (sub === undefined) throw new UsageError(`unknown mirror command: ${name}`, MIRROR_USAGE)
  return sub(rest)
}

function help(usage: string): number {
  process.stdout.write(`${usage}\n`)
  return EXIT_OK
}

async function change(argv: string[], usage: string, what: 'add' | 'remove'): Promise<number> {
  const { values, positionals: given } = parse(argv, COMMON_OPTIONS, usage)
  if (values.help) return help(usage)
  const [keyArg] = positionals(given, ['KEY'], usage)
  const key = parseKey(keyArg, 'KEY')
  const { storage } = commonOptions(values)
  const z = formatKey(key)
  if (what === 'add') {
    const added = await addToList(storage, key)
    process.stdout.write(added ? `added ${z}\n` : `${z} is already in the list\n`)
  } else {
    const removed = await removeFromList(storage, key)
    process.stdout.write(removed ? `removed ${z}\n` : `${z} is not in the list\n`)
  }
  return EXIT_OK
}

async function list(argv: string[]): Promise<number> {
  const { values, positionals: given } = parse(
    argv,
    { ...COMMON_OPTIONS, json: { type: 'boolean' } },
    LIST_USAGE
  )
  if (values.help) return help(LIST_USAGE)
  positionals(given, [], LIST_USAGE)
  const { storage } = commonOptions(values)
  const doc: MirrorDocument = await readList(storage)
  if (values.json) {
    process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`)
  } else {
    for (const set of doc.sets) process.stdout.write(`${set.key}  added ${set.added}\n`)
    if (doc.sets.length === 0) process.stderr.write(`no sets in ${listPath(storage)}\n`)
  }
  return EXIT_OK
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals: given } = parse(
    argv,
    { ...COMMON_OPTIONS, ...NETWORK_OPTIONS },
    RUN_USAGE
  )
  if (values.help) return help(RUN_USAGE)
  positionals(given, [], RUN_USAGE)
  const network = networkOptions(values, RUN_USAGE)
  const { storage } = commonOptions(values)
  return runMirror(storage, network)
}
