import { type ParseArgsConfig, parseArgs } from 'node:util'
import { defaultStorage } from './storage.js'
import { UsageError } from './UsageError.js'

/** Options every command takes. */
export interface CommonOptions {
  /** The corestore's directory. */
  storage: string
}

/** Options of the commands that join a DHT. */
export interface NetworkOptions {
  /** Bootstrap nodes of the DHT to join; empty: the public HyperDHT. */
  bootstrap: Array<{ host: string; port: number }>
  /** The address our DHT node binds to; undefined: every interface. */
  host: string | undefined
}

type Options = NonNullable<ParseArgsConfig['options']>

export const COMMON_OPTIONS = {
  storage: { type: 'string' },
  help: { type: 'boolean', short: 'h' }
} satisfies Options

export const NETWORK_OPTIONS = {
  bootstrap: { type: 'string', multiple: true },
  host: { type: 'string' }
} satisfies Options

export const COMMON_HELP = `  --storage DIR          the store (default: ${defaultStorage()})
  -h, --help             this help`

export const NETWORK_HELP = `  --bootstrap HOST:PORT  a bootstrap node of the DHT to join (repeat for more);
                         without one, the public HyperDHT
  --host ADDRESS         the address to bind to (e.g. 127.0.0.1; default: every interface)`

type Parsed<O extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; allowPositionals: true }>
>

/** A command's arguments read: its option values, its positional arguments, the store. */
export interface CommandLine<O extends Options> {
  values: Parsed<O & typeof COMMON_OPTIONS>['values']
  /** The positional arguments, as many as named. */
  args: string[]
  storage: string
}

/**
 * Reads a command's arguments: the common options and `options`, exactly the
 * positional arguments `names`. Null when `--help` was asked: the usage is
 * printed on stdout then, and the command exits 0.
 */
export function commandLine<O extends Options>(
  argv: string[],
  usage: string,
  names: string[],
  options: O
): CommandLine<O> | null {
  const { values, positionals: given } = parse(argv, { ...COMMON_OPTIONS, ...options }, usage)
  if ((values as { help?: boolean }).help) {
    process.stdout.write(`${usage}\n`)
    return null
  }
  return {
    values: values as CommandLine<O>['values'],
    args: positionals(given, names, usage),
    storage: commonOptions(values as { storage?: string }).storage
  }
}

/** The same for a command that joins a DHT: the network options too, read. */
export function networkCommandLine<O extends Options>(
  argv: string[],
  usage: string,
  names: string[],
  options: O
): (CommandLine<O & typeof NETWORK_OPTIONS> & { network: NetworkOptions }) | null {
  const line = commandLine(argv, usage, names, { ...NETWORK_OPTIONS, ...options })
  if (line === null) return null
  return { ...line, network: networkOptions(line.values, usage) }
}

/** parseArgs, its errors as usage errors. */
export function parse<O extends Options>(
  argv: string[],
  options: O,
  usage: string
): ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true }>> {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true })
  } catch (err) {
    throw new UsageError((err as Error).message, usage)
  }
}

export function commonOptions(values: { storage?: string | undefined }): CommonOptions {
  return { storage: values.storage ?? defaultStorage() }
}

export function networkOptions(
  values: { bootstrap?: string[] | undefined; host?: string | undefined },
  usage: string
): NetworkOptions {
  const bootstrap = (values.bootstrap ?? []).map((node) => hostPort(node, usage))
  if (values.host === '') throw new UsageError('--host needs an address', usage)
  return { bootstrap, host: values.host }
}

function hostPort(node: string, usage: string): { host: string; port: number } {
  const colon = node.lastIndexOf(':')
  const host = node.slice(0, colon)
  const port = Number(node.slice(colon + 1))
  if (colon <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`--bootstrap ${node}: expected HOST:PORT (port 1–65535)`, usage)
  }
  return { host, port }
}

/** Exactly `count` positional arguments named `names`, or a usage error. */
export function positionals(given: string[], names: string[], usage: string): string[] {
  if (given.length < names.length) {
    throw new UsageError(`missing ${names.slice(given.length).join(', ')}`, usage)
  }
  if (given.length > names.length) {
    throw new UsageError(`unexpected argument: ${given[names.length]}`, usage)
  }
  return given
}

/** A positive number of seconds, or a usage error. */
export function seconds(value: string | undefined, fallback: number, name: string, usage: string) {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0) {
    throw new UsageError(`--${name} ${value}: expected a positive number of seconds`, usage)
  }
  return n
}
