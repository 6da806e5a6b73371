import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'

const fixture = fileURLToPath(new URL('./fixtures/sync-and-close.mjs', import.meta.url))

/** Runs the fixture; resolves with its exit code and output, or kills it after `bound` ms. */
function run(kind: string, bound: number) {
  return new Promise<{ code: number | null; out: string; ms: number; killed: boolean }>(
    (resolve) => {
      const start = Date.now()
      const child = spawn(process.execPath, [fixture, kind], { stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      let killed = false
      child.stdout.on('data', (data: Buffer) => {
        out += data.toString()
      })
      child.stderr.on('data', (data: Buffer) => {
        out += data.toString()
      })
      const timer = setTimeout(() => {
        killed = true
        child.kill('SIGKILL')
      }, bound)
      child.on('exit', (code) => {
        clearTimeout(timer)
        resolve({ code, out, ms: Date.now() - start, killed })
      })
    }
  )
}

describe('close leaves no open handle', () => {
  for (const kind of ['hyperswarm', 'in-process']) {
    test(`${kind}: a process that syncs and closes exits by itself`, {
      timeout: 40_000
    }, async () => {
      const result = await run(kind, 30_000)
      expect(result.out).toContain('synced')
      expect(result.out).toContain('closed')
      expect(result.out).not.toContain('connection-error')
      expect(result.killed, `still running after 30 s:\n${result.out}`).toBe(false)
      expect(result.code).toBe(0)
    })
  }
})
