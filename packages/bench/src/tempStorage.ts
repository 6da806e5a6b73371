import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** Where temporary stores live: /dev/shm when it exists (RAM), the OS temp dir otherwise. */
export const TMP_ROOT = existsSync('/dev/shm') ? '/dev/shm' : tmpdir()

export async function tmpDir(label: string): Promise<string> {
  return mkdtemp(join(TMP_ROOT, `multifeed-bench-${label}-`))
}

export async function rmDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3 })
}
