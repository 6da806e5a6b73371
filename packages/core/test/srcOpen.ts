/**
 * Opening a multifeed from the sources (`../src`), for tests that reach
 * into the set's internals (`recordsOf`, Moderation): the package's `dist`
 * classes are other classes, whose private fields the sources cannot read.
 */
import { Multifeed, type MultifeedOptions } from '../src/index.js'
import { onCleanup, tmpStore } from './helpers.js'

type Store = Awaited<ReturnType<typeof tmpStore>>

/** Opens a multifeed (in `store`, or a fresh one; `key` may be an invite), closed after the test. */
export async function open(
  store: Store | null,
  key?: Buffer | string | null,
  options: MultifeedOptions = {}
): Promise<Multifeed> {
  const multi = (await Multifeed.open(store ?? (await tmpStore()), key, options)) as Multifeed
  onCleanup(() => multi.close())
  return multi
}
