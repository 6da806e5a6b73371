import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { open, readFile, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { Multifeed } from '@multifeed/core'
import { withLockFile } from '../lockFile.js'
import type { SetArgument } from '../setArgument.js'
import { ensureStore, LIST_FILE } from '../store.js'

/** The list's file in a store's directory (named in store.ts, whose first open keeps it). */
export { LIST_FILE }

/**
 * One set a mirror follows: what `mirror add` stored (a key in z-base-32, or an
 * invite: what `Multifeed.open` takes), and when.
 */
export interface MirrorEntry {
  key: string
  added: string
}

/** The file: `{ version: 1, sets: [...] }`, in the order they were added. */
export interface MirrorDocument {
  version: 1
  sets: MirrorEntry[]
}

/** A list file that is not one (hand-edited, another program's): the path and what is wrong. */
export class BadListError extends Error {
  override name = 'BadListError'
}

/** A key (52 characters) or an invite (104) in z-base-32. */
const Z32 = /^(?:[ybndrfg8ejkmcpqxot1uwisza345h769]{52}){1,2}$/

export function listPath(storage: string): string {
  return join(storage, LIST_FILE)
}

/** The list in `storage`; an empty one when there is no file (nothing added yet). */
export async function readList(storage: string): Promise<MirrorDocument> {
  const path = listPath(storage)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, sets: [] }
    throw err
  }
  return parseList(text, path)
}

/** Checks the document a file holds; `path` names it in the error. */
export function parseList(text: string, path: string): MirrorDocument {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (err) {
    throw new BadListError(`${path}: not JSON (${(err as Error).message})`)
  }
  const { version, sets } = (doc ?? {}) as { version?: unknown; sets?: unknown }
  if (version !== 1) throw new BadListError(`${path}: version ${String(version)}, expected 1`)
  if (!Array.isArray(sets)) throw new BadListError(`${path}: "sets" is not a list`)
  for (const [i, entry] of sets.entries()) {
    const { key, added } = (entry ?? {}) as { key?: unknown; added?: unknown }
    if (typeof key !== 'string' || !Z32.test(key) || typeof added !== 'string') {
      throw new BadListError(
        `${path}: sets[${i}] is not { key: <a key or invite in z-base-32>, added: <date> }`
      )
    }
  }
  return { version: 1, sets: sets as MirrorEntry[] }
}

/**
 * Adds `set` (idempotent): resolves to the entry's key, and whether it was
 * added. A set is listed once, whatever it is named by (key or invite, either
 * tier: one store holds a set one way): a set listed already is left as it is
 * and its entry's key returned. The directory and the store in it are created
 * if needed (an existing store is not opened: a `mirror run` may hold it).
 */
export async function addToList(
  storage: string,
  set: Pick<SetArgument, 'text' | 'discoveryKey'>,
  now = new Date()
): Promise<{ key: string; added: boolean }> {
  let key = set.text
  const added = await changeList(storage, (doc) => {
    const listed = doc.sets.find((entry) => sameSet(entry, set.discoveryKey))
    if (listed !== undefined) {
      key = listed.key
      return false
    }
    doc.sets.push({ key: set.text, added: now.toISOString() })
    return true
  })
  return { key, added }
}

/** Removes `set` (idempotent; by any of its names): the key of the entry removed, or null. */
export async function removeFromList(
  storage: string,
  set: Pick<SetArgument, 'discoveryKey'>
): Promise<string | null> {
  // Nothing to remove: touch nothing (no directory, no store made for it).
  if (!existsSync(listPath(storage))) return null
  let removed: string | null = null
  await changeList(storage, (doc) => {
    const listed = doc.sets.find((entry) => sameSet(entry, set.discoveryKey))
    if (listed === undefined) return false
    removed = listed.key
    doc.sets = doc.sets.filter((entry) => entry !== listed)
    return true
  })
  return removed
}

/** True when the entry names the set of `discoveryKey` (an entry that names none, none). */
function sameSet(entry: MirrorEntry, discoveryKey: Buffer): boolean {
  try {
    return Multifeed.discoveryKeyOf(entry.key).equals(discoveryKey)
  } catch {
    return false
  }
}

/**
 * Read, change, write back atomically (a temporary file, fsync, rename: a reader,
 * `mirror run` among them, sees the old list or the new one, never half of one),
 * under a lock file so that two `add`s at once do not lose one of them.
 */
async function changeList(
  storage: string,
  change: (doc: MirrorDocument) => boolean
): Promise<boolean> {
  // Creating the store (and the directory) moves the directory's unknown files into db/:
  // past this, no open of ours does (store.ts, ensureStore).
  await ensureStore(storage)
  return withLockFile(`${listPath(storage)}.lock`, async () => {
    const doc = await readList(storage)
    if (!change(doc)) return false
    await writeList(storage, doc)
    return true
  })
}

/** Writes the list in `storage` (atomically: see changeList). */
export function writeList(storage: string, doc: MirrorDocument): Promise<void> {
  return writeAtomically(listPath(storage), `${JSON.stringify(doc, null, 2)}\n`)
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const temporary = `${path}.${randomBytes(4).toString('hex')}.tmp`
  try {
    // 0600: a plain set's key in the list reads and writes that set.
    const file = await open(temporary, 'wx', 0o600)
    try {
      await file.writeFile(text)
      await file.sync()
    } finally {
      await file.close()
    }
    await rename(temporary, path)
  } catch (err) {
    await rm(temporary, { force: true })
    throw err
  }
}
