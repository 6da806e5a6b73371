import { describe, expect, test } from 'vitest'
import { run } from './runDemo.js'

describe('multifeed demo CLI', () => {
  test('syncs a small run over the loopback testnet and prints the summary', async () => {
    const { code, stdout, stderr } = await run(
      ['--peers', '3', '--multifeeds', '2', '--feeds', '2', '--entries', '20', '--timeout', '30'],
      45_000
    )
    expect(stderr).not.toMatch(/error/i)
    expect(code).toBe(0)
    expect(stdout).toMatch(
      /^synced: 3 peers, 2 multifeeds, 12 feeds, 240 blocks, 15360 bytes in \d+\.\d\d s; connections per peer pair: 1$/m
    )
    expect(stdout).toMatch(
      /^ {2}protocol {6}[1-9]\d* bytes sent by the multifeed protocol over \d+ multifeed peers$/m
    )
    // Not a TTY: plain progress lines, no cursor movement.
    expect(stdout).toMatch(/^\[\s*\d+\.\d s\]\s+100% blocks 720\/720, feeds 36\/36/m)
    expect(stdout).not.toContain('\x1b[')
  }, 50_000)

  test('--spammer: one peer floods junk writers, peer 0 blocks its identity, no peer lists its feeds', async () => {
    const { code, stdout, stderr } = await run(
      ['--peers', '3', '--multifeeds', '2', '--entries', '20', '--timeout', '40', '--spammer'],
      55_000
    )
    expect(stderr).not.toMatch(/error/i)
    expect(code).toBe(0)
    expect(stdout).toContain('peer 2 floods every multifeed with junk writers; peer 0 moderates')
    // The flood was seen (at least 3 feeds per multifeed before the block), then refused.
    const flooded =
      /^ {2}spammer {7}peer 2: (\d+) junk feeds \((\d+) blocks\) written, (\d+) writer\(s\) refused after the block$/m.exec(
        stdout
      )
    expect(flooded, stdout).not.toBeNull()
    expect(Number(flooded![1])).toBeGreaterThanOrEqual(6)
    expect(Number(flooded![3])).toBe(2)
    expect(stdout).toMatch(
      /^ {2}moderation {4}peer 0 blocked its identity at \d+\.\d\d s; 3\/3 peers took the block$/m
    )
    expect(stdout).toMatch(/^ {2}spam listed {3}0 feed\(s\) on 3 peers: gone everywhere$/m)
    // The honest writers' feeds synced: 2 writing peers × 2 multifeeds.
    expect(stdout).toMatch(/^synced: 3 peers, 2 multifeeds, 4 feeds, 80 blocks, 5120 bytes in /m)
  }, 60_000)

  test('exits 1 with a clear message when sync does not finish in its bound', async () => {
    const { code, stdout, stderr } = await run(
      ['--peers', '2', '--multifeeds', '1', '--entries', '2000000', '--timeout', '1'],
      45_000
    )
    expect(code).toBe(1)
    expect(stderr).toMatch(/^error: sync did not finish within 1 s: \d+\/\d+ blocks/m)
    expect(stdout).not.toMatch(/^synced:/m)
  }, 50_000)

  test('rejects bad arguments with exit 2 and the usage', async () => {
    const { code, stderr } = await run(['--peers', 'many'], 15_000)
    expect(code).toBe(2)
    expect(stderr).toContain('error: --peers must be a whole number, got many')
    expect(stderr).toContain('Usage: multifeed-demo')
  }, 20_000)
})
