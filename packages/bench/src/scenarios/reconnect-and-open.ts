// Scenarios 4 and 5 share one fixture: two stores holding the same feeds (raw
// corestore and multifeed, the reader synced once). This module sets it up,
// runs scenario 4 on it (reconnect-in-sync.ts), closes it keeping the
// directories, runs scenario 5 on those (open.ts) and removes them.
import type { MultiReconnect, MultiSource } from '../multi.js'
import { progress } from '../progress.js'
import { RawReconnect, RawSource } from '../raw.js'
import { rmDir } from '../tempStorage.js'
import type { Shape } from '../types.js'
import type { ScenarioContext } from './context.js'
import { open } from './open.js'
import { reconnectInSync } from './reconnect-in-sync.js'
import { errorMessage } from './rows.js'

const KiB = 1024

export async function reconnectAndOpen(ctx: ScenarioContext): Promise<void> {
  const { fixture: n, timeoutMs, only } = ctx.cfg
  const shape: Shape = { feeds: n, blocks: 1, blockSize: KiB }
  const caseName = `${n.toLocaleString('en-US')} feeds`
  progress(`scenario 4/5: setup, two peers holding the same ${caseName}`)
  const raw = await RawSource.create(shape)
  const rawRc = await RawReconnect.create(raw, timeoutMs)
  let source: MultiSource | null = null
  let rc: MultiReconnect | null = null
  let multiError: string | undefined
  try {
    const mod = await ctx.multi()
    source = await mod.MultiSource.create(shape)
    progress(`  multifeed source written, syncing B once (setup)`)
    rc = await mod.MultiReconnect.create(source, timeoutMs)
  } catch (err) {
    multiError = errorMessage(err)
    progress(`  multifeed setup failed: ${multiError}`)
  }

  if (only.has(4)) await reconnectInSync(ctx, caseName, rawRc, rc, multiError)

  // Close everything, keeping the reader directories for the open scenario.
  const rawDir = await rawRc.closeKeep()
  const rawKeys = raw.keys.map((k) => k.toString('hex'))
  await raw.close()
  let multiDir: string | null = null
  let multiKey: string | null = null
  let localDir: string | null = null
  if (rc && source) {
    multiKey = source.multi.key.toString('hex')
    multiDir = await rc.closeKeep()
    localDir = await source.closeKeep()
  } else {
    await source?.close().catch(() => {})
  }

  try {
    if (only.has(5)) await open(ctx, n, rawDir, rawKeys, multiDir, multiKey, localDir, multiError)
  } finally {
    await rmDir(rawDir)
    if (multiDir) await rmDir(multiDir)
    if (localDir) await rmDir(localDir)
  }
}
