import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { expect, test } from 'vitest'

const FIXTURE = fileURLToPath(new URL('./fixtures/node-test-conformance.mjs', import.meta.url))

test('the conformance suite runs under node:test through a two-line adapter', async () => {
  const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
    execFile(
      process.execPath,
      ['--test', '--test-reporter=tap', FIXTURE],
      { timeout: 50_000, killSignal: 'SIGKILL' },
      (err, out) => {
        resolve({
          code: err === null ? 0 : typeof err.code === 'number' ? err.code : null,
          stdout: out
        })
      }
    )
  })
  expect(stdout).toMatch(/^# pass 5$/m)
  expect(stdout).toMatch(/^# fail 0$/m)
  expect(code).toBe(0)
}, 60_000)
