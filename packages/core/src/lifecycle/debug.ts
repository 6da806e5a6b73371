/**
 * Debug logging, one namespace per concern (obug, the ESM fork of `debug`):
 *
 * - `multifeed:pairing`   a multifeed paired with a peer, its capability verified, its channel
 *                         closed (and why); pairing on a connection concluded (how, how many paired)
 * - `multifeed:reconcile` a reconciliation began (in sync, list or symbols, the estimate) and
 *                         ended (rounds, symbols each way, differences)
 * - `multifeed:attach`    a core attached to a peer's stream, or detached (and why)
 * - `multifeed:limits`    a peer hit a limit (its channel closes)
 * - `multifeed:error`     a peer's fault, or a local failure while handling its input
 *
 * Each line names the peer by the first 8 hex characters of its Noise public
 * key and the multifeed by those of its discovery key (never its key):
 * `peer 1a2b3c4d set 5e6f7a8b reconciled: …`.
 *
 * On Node, `DEBUG=multifeed:*` turns them on (obug reads it at import);
 * anywhere (Bare has no `process.env`), `enableDebug()` does, and can send
 * the lines to a function of yours. `#obug` (package.json `imports`) is
 * obug's ANSI build on Node and its plain one on Bare: Bare matches the
 * `node` condition too, and the ANSI build imports `node:tty` and
 * `node:util`, which Bare lacks. Off, a call site costs one boolean
 * read: every message is built behind `enabled`, and none is logged per
 * block.
 */
import { createDebug, type Debugger } from '#obug'
import { CallbackError, InvalidArgumentError } from '../errors.js'
import { knownOptions } from './strict.js'

/** One concern's log. Build the message only when `enabled`. */
export interface DebugLog {
  readonly enabled: boolean
  log(message: string): void
}

/** The options of `enableDebug()`. */
export interface DebugLogOptions {
  /**
   * Where the lines go, one string each: `multifeed:<concern> <message>`
   * (no colour, no time). Default: obug's output (stderr on Node, the
   * console elsewhere). A throw here is reported as a warning (ERR_CALLBACK).
   */
  log?: (line: string) => void
}

/** Every namespace, in the order of the list above. */
export const DEBUG_NAMESPACES = [
  'multifeed:pairing',
  'multifeed:reconcile',
  'multifeed:attach',
  'multifeed:limits',
  'multifeed:error'
] as const

/** The user's function for every line (`enableDebug(…, { log })`), or null: obug's output. */
let output: ((line: string) => void) | null = null

interface Concern extends DebugLog {
  readonly debugger: Debugger
}

function concern(namespace: string): Concern {
  const d = createDebug(namespace)
  return {
    debugger: d,
    get enabled() {
      return d.enabled
    },
    log: (message) => {
      if (output !== null) write(output, `${namespace} ${message}`)
      // obug reads `%x` in the first argument: a message's own '%' stays as it is.
      else d(message.includes('%') ? message.replaceAll('%', '%%') : message)
    }
  }
}

const concerns = DEBUG_NAMESPACES.map(concern)

/** The log of each concern: `if (debug.pairing.enabled) debug.pairing.log(…)`. */
export const debug: Readonly<
  Record<'pairing' | 'reconcile' | 'attach' | 'limits' | 'error', DebugLog>
> = {
  pairing: concerns[0]!,
  reconcile: concerns[1]!,
  attach: concerns[2]!,
  limits: concerns[3]!,
  error: concerns[4]!
}

const CALL = 'enableDebug()'

/**
 * Turns multifeed's debug namespaces on or off, whatever `DEBUG` said:
 * `namespaces` in `DEBUG`'s syntax (`'multifeed:*'`, `'multifeed:pairing,multifeed:reconcile'`,
 * `'multifeed:*,-multifeed:attach'`; `''` turns them all off). Only
 * multifeed's namespaces change: other users of obug or debug keep theirs.
 * With `log`, the lines go to it.
 */
export function enableDebug(namespaces: string, options: DebugLogOptions = {}): void {
  if (typeof namespaces !== 'string') {
    throw new InvalidArgumentError(
      `${CALL}: namespaces must be a string such as 'multifeed:*' ('' turns them off)`
    )
  }
  const o = knownOptions(options, CALL, ['log']) as DebugLogOptions
  if (o.log !== undefined && typeof o.log !== 'function') {
    throw new InvalidArgumentError(`${CALL}: log must be a function (line: string) => void`)
  }
  const patterns = parsePatterns(namespaces)
  for (const { debugger: d } of concerns) d.enabled = matches(d.namespace, patterns)
  output = o.log ?? null
}

/** One line to the user's function; a throw never reaches the protocol (a warning instead). */
function write(log: (line: string) => void, line: string): void {
  try {
    log(line)
  } catch (err) {
    const warning = new CallbackError('enableDebug.log', err)
    const emitWarning = (globalThis as { process?: { emitWarning?: (w: Error) => void } }).process
      ?.emitWarning
    if (emitWarning !== undefined) emitWarning(warning)
    else console.error(warning)
  }
}

interface Patterns {
  names: RegExp[]
  skips: RegExp[]
}

/** `DEBUG`'s syntax: names separated by commas or spaces, `*` any characters, `-name` skips. */
function parsePatterns(namespaces: string): Patterns {
  const patterns: Patterns = { names: [], skips: [] }
  for (const part of namespaces.split(/[\s,]+/)) {
    if (part === '') continue
    const skip = part.startsWith('-')
    const glob = skip ? part.slice(1) : part
    const source = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*')
    ;(skip ? patterns.skips : patterns.names).push(new RegExp(`^${source}$`))
  }
  return patterns
}

function matches(namespace: string, { names, skips }: Patterns): boolean {
  if (skips.some((re) => re.test(namespace))) return false
  return names.some((re) => re.test(namespace))
}

/** The first 8 hex characters of a key (a peer's public key, a discovery key); '-' when none yet. */
export function shortId(key: Uint8Array | null | undefined): string {
  if (key === null || key === undefined) return '-'
  let hex = ''
  for (let i = 0; i < 4 && i < key.length; i++) hex += key[i]!.toString(16).padStart(2, '0')
  return hex
}
