/**
 * Reading a local-only log core (the membership log, the moderation log):
 * every block in order, in one streaming pass, a window of reads at a time.
 * A block the core should hold and does not is storage corruption.
 */
import type { Hypercore } from '@multifeed/holepunch-types'
import { StorageCorruptError } from '../errors.js'

const WINDOW = 64

/** Yields each block of `core` with its index; `what` names the log in errors. */
export async function* readLog(core: Hypercore, what: string): AsyncGenerator<[Buffer, number]> {
  await core.ready()
  const length = core.length
  for (let start = 0; start < length; start += WINDOW) {
    const end = Math.min(length, start + WINDOW)
    const blocks = await Promise.all(
      Array.from({ length: end - start }, (_, i) => core.get(start + i, { wait: false }))
    )
    for (let i = 0; i < blocks.length; i++) {
      const block = blocks[i]
      if (!block) throw new StorageCorruptError(`${what} block ${start + i} is missing`)
      yield [block as Buffer, start + i]
    }
  }
}
