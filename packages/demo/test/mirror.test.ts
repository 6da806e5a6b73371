// `--mirror`: encrypted multifeeds, a mirror peer that stays, and peers that come one at a
// time and never meet: every peer still ends with every block, all of it through the mirror.
import { describe, expect, test } from 'vitest'
import { run } from './runDemo.js'

describe('multifeed demo --mirror', () => {
  test('peers that never meet get every block through a mirror that stays', async () => {
    const { code, stdout, stderr } = await run(
      ['--mirror', '--peers', '3', '--multifeeds', '2', '--feeds', '2', '--entries', '20'],
      90_000
    )
    expect(stderr).not.toMatch(/error/i)
    expect(code).toBe(0)
    // Each peer wrote while alone with the mirror, left, and caught up later alone again.
    for (const i of [0, 1, 2]) {
      expect(stdout).toContain(`peer ${i} online alone with the mirror: writing`)
      expect(stdout).toContain(`the mirror holds peer ${i}'s entries; peer ${i} left`)
      expect(stdout).toContain(`peer ${i} holds every entry; it left`)
    }
    expect(stdout).toMatch(
      /^synced through a mirror: 3 peers, 2 multifeeds, 12 feeds, 240 blocks, 15360 bytes in \d+\.\d\d s; peers met: 0$/m
    )
  }, 100_000)

  test('--help documents it', async () => {
    const { code, stdout } = await run(['--help'], 15_000)
    expect(code).toBe(0)
    expect(stdout).toMatch(/--mirror {11}encrypted multifeeds and one more peer, a mirror/)
  }, 20_000)
})
