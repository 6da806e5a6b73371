import { open, readFile, rm } from 'node:fs/promises'

/** How long a change waits for another process's lock before it fails. */
const LOCK_WAIT_MS = 30_000

/**
 * Runs `body` holding the lock file `lock` (created exclusively, holding the holder's PID;
 * one left by a dead process is taken over), then removes it.
 */
export async function withLockFile<R>(lock: string, body: () => Promise<R>): Promise<R> {
  const started = Date.now()
  for (;;) {
    try {
      const file = await open(lock, 'wx', 0o600)
      await file.writeFile(String(process.pid))
      await file.close()
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      if (await holderIsGone(lock)) {
        await rm(lock, { force: true })
        continue
      }
      if (Date.now() - started > LOCK_WAIT_MS) {
        throw new Error(`${lock} is held by another process (remove it if none is running)`)
      }
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
  try {
    return await body()
  } finally {
    await rm(lock, { force: true })
  }
}

/**
 * True when the lock names a process that no longer runs. One that names none (being written,
 * or left by a crash mid-write) is not taken over: it times out.
 */
async function holderIsGone(lock: string): Promise<boolean> {
  const pid = Number(await readFile(lock, 'utf8').catch(() => ''))
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return false
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH'
  }
}
