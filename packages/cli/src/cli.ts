#!/usr/bin/env node
import { MultifeedError } from '@multifeed/core'
import { cat } from './commands/cat.js'
import { info } from './commands/info.js'
import { mirror } from './commands/mirror.js'
import { seed } from './commands/seed.js'
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from './UsageError.js'

export const USAGE = `Usage: multifeed COMMAND [options]

Commands:
  info [KEY...]   what a store holds: its multifeeds, and the feeds of each KEY
  cat KEY         print a multifeed's entries (--live: and the ones to come)
  seed KEY        keep a multifeed online until SIGINT/SIGTERM
  mirror ...      an always-on peer of many multifeeds: mirror add/remove/list/run

KEY is a set's key or invite, as Multifeed.open takes it (multi.key,
multi.invite; a mirror's, multi.mirrorKey or multi.mirrorInvite, for mirror add).
\`multifeed COMMAND --help\` tells more. The store is --storage DIR (default under
your data directory). Without --bootstrap, cat, seed and mirror run join the
public HyperDHT.

Exit codes: 0 done, 1 failed (the error is printed), 2 wrong command line.`

const commands: Record<string, (argv: string[]) => Promise<number>> = { info, cat, seed, mirror }

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined) return usageError('missing COMMAND', USAGE)
  if (name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(`${USAGE}\n`)
    return EXIT_OK
  }
  const command = commands[name]
  if (command === undefined) return usageError(`unknown command: ${name}`, USAGE)
  try {
    return await command(rest)
  } catch (err) {
    if (err instanceof UsageError) return usageError(err.message, err.usage)
    process.stderr.write(`error: ${describe(err)}\n`)
    return EXIT_FAILURE
  }
}

function usageError(message: string, usage: string): number {
  process.stderr.write(`error: ${message}\n\n${usage}\n`)
  return EXIT_USAGE
}

/** A coded error by its code and message; anything else by its message (its stack with DEBUG). */
function describe(err: unknown): string {
  if (err instanceof MultifeedError) return `${err.code}: ${err.message}`
  if (err instanceof Error) return process.env.DEBUG ? (err.stack ?? err.message) : err.message
  return String(err)
}

const code = await main(process.argv.slice(2))
// Everything was closed; exit explicitly so that a straggling handle in a
// dependency cannot keep the process alive past its result. Not before our
// output is out: writes to a pipe are asynchronous, and process.exit() drops
// what is still queued (`cat` of a large set lost its end).
await Promise.all([flushed(process.stdout), flushed(process.stderr)])
process.exit(code)

/** Resolves once everything written to `stream` so far has been handed to the system. */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => stream.write('', () => resolve()))
}
