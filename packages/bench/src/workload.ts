import type { Hypercore } from '@multifeed/holepunch-types'

export function block(size: number, seed: number): Buffer {
  const buf = Buffer.alloc(size)
  buf.writeUInt32BE(seed >>> 0, 0)
  buf.fill(seed & 0xff, 4)
  return buf
}

/** Appends `blocks` blocks of `size` bytes, in batches. */
export async function fill(
  core: Hypercore<unknown>,
  blocks: number,
  size: number,
  seed: number
): Promise<void> {
  const BATCH = 100
  for (let i = 0; i < blocks; i += BATCH) {
    const batch: Buffer[] = []
    for (let j = i; j < Math.min(blocks, i + BATCH); j++) batch.push(block(size, seed + j))
    await core.append(batch)
  }
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function pool<T>(
  items: T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>
): Promise<void> {
  let next = 0
  const workers: Promise<void>[] = []
  for (let w = 0; w < Math.min(limit, items.length); w++) {
    workers.push(
      (async () => {
        while (next < items.length) {
          const i = next++
          await fn(items[i]!, i)
        }
      })()
    )
  }
  await Promise.all(workers)
}
