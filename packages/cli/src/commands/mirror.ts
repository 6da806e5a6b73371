import {
  addToList,
  listPath,
  type MirrorDocument,
  readList,
  removeFromList
} from '../mirror/MirrorList.js'
import { runMirror } from '../mirror/run.js'
import { COMMON_HELP, commandLine, NETWORK_HELP, networkCommandLine } from '../options.js'
import { kindOf, mirrorOf, parseSet } from '../setArgument.js'
import { EXIT_OK, UsageError } from '../UsageError.js'

export const MIRROR_USAGE = `Usage: multifeed mirror COMMAND [options]

An always-on peer for sets whose members come and go: it keeps many sets
online over one connection per peer, downloads every feed of each and serves
them. Give it an encrypted set's mirror key (multi.mirrorKey), or a moderated
encrypted set's mirror invite (multi.mirrorInvite): it stores and serves the
set's blocks, applies a moderated set's blocks, and cannot read them. A plain
set's key, or a moderated set's invite, works too (a full copy that writes
nothing, and can read).

Commands:
  add KEY      add a set (a key or an invite) to the list (a running mirror
               takes it up at once)
  remove KEY   remove a set from the list, named by any of its keys or invites
               (a running mirror drops it at once)
  list         the sets of the list
  run          mirror every set of the list until SIGINT/SIGTERM

The list is the file mirror.json in the store's directory (--storage DIR).
\`multifeed mirror COMMAND --help\` tells more.

Options:
${COMMON_HELP}`

const ADD_USAGE = `Usage: multifeed mirror add KEY [options]

Adds the set KEY to the mirror's list (DIR/mirror.json; created with DIR if
needed). Prints "added KEY", or "KEY is already in the list" (exit 0 too; a
set is listed once, by whichever key or invite added it first). A running
mirror starts on it at once. Does not open the store.

KEY is best an encrypted set's mirror key (multi.mirrorKey) or, for a
moderated encrypted set, its mirror invite (multi.mirrorInvite: the mirror
then applies the set's blocks too): the mirror cannot read the set. Given a
member key or member invite (multi.key, multi.invite: they read and write),
add stores its mirror key or mirror invite instead and says so; --member-ok
stores it as given (a mirror that can read the set). A plain set's key and a
moderated set's invite are stored as given (no mirror tier: a full copy,
readable). A moderated encrypted set's bare mirror key opens, in a store that
does not hold the set yet, a mirror that pairs with no one: give its invite.

Options:
  --member-ok            store a member key or invite as given (this mirror can then read the set)
${COMMON_HELP}`

const REMOVE_USAGE = `Usage: multifeed mirror remove KEY [options]

Removes the set KEY from the mirror's list. Prints "removed KEY" (the entry
removed), or "KEY is not in the list" (exit 0 too). KEY may be any key or
invite of the set: a member key or invite removes the mirror key or invite
\`mirror add\` stored for it. A running mirror stops on it at once; what it
stored of the set stays in the store.

Options:
${COMMON_HELP}`

const LIST_USAGE = `Usage: multifeed mirror list [options]

Prints the sets of the mirror's list, one a line: KEY (a key or an invite)
and when it was added.

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
  add,
  remove,
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

async function add(argv: string[]): Promise<number> {
  const line = commandLine(argv, ADD_USAGE, ['KEY'], { 'member-ok': { type: 'boolean' } })
  if (line === null) return EXIT_OK
  const given = parseSet(line.args[0]!)
  const member = given.tier === 'member'
  const memberOk = line.values['member-ok'] === true
  // A member key or invite reads and writes the set: what a mirror must not hold unless asked to.
  const set = member && !memberOk ? mirrorOf(given) : given
  const { key, added } = await addToList(line.storage, set)
  if (added) process.stdout.write(`added ${key}\n`)
  else if (key === set.text) process.stdout.write(`${key} is already in the list\n`)
  else process.stdout.write(`${set.text} is already in the list, as ${key}\n`)
  if (member) {
    const form = given.form
    process.stderr.write(
      memberOk
        ? `a member ${form}, kept as given (--member-ok): this mirror CAN read the set\n`
        : `${given.text} is ${kindOf(given)} (it reads the set): its mirror ${form} was added instead, this mirror cannot read the set (--member-ok adds the member ${form})\n`
    )
  }
  return EXIT_OK
}

async function remove(argv: string[]): Promise<number> {
  const line = commandLine(argv, REMOVE_USAGE, ['KEY'], {})
  if (line === null) return EXIT_OK
  const given = parseSet(line.args[0]!)
  // By any name of the set: a member key finds the mirror key `mirror add` stored for it.
  const removed = await removeFromList(line.storage, given)
  process.stdout.write(
    removed !== null ? `removed ${removed}\n` : `${given.text} is not in the list\n`
  )
  return EXIT_OK
}

async function list(argv: string[]): Promise<number> {
  const line = commandLine(argv, LIST_USAGE, [], { json: { type: 'boolean' } })
  if (line === null) return EXIT_OK
  const doc: MirrorDocument = await readList(line.storage)
  if (line.values.json) {
    process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`)
  } else {
    for (const set of doc.sets) process.stdout.write(`${set.key}  added ${set.added}\n`)
    if (doc.sets.length === 0) process.stderr.write(`no sets in ${listPath(line.storage)}\n`)
  }
  return EXIT_OK
}

async function run(argv: string[]): Promise<number> {
  const line = networkCommandLine(argv, RUN_USAGE, [], {})
  if (line === null) return EXIT_OK
  return runMirror(line.storage, line.network)
}
