/**
 * What the CLI's test files set up alike: temporary directories removed after each test
 * (every child killed first), and a loopback testnet for a describe block.
 */
import { createTestnet, type TempDir, type TestDHT, tmpStorage } from '@multifeed/testing'
import { afterAll, afterEach, beforeAll } from 'vitest'
import { killAll } from './child.js'

/** A DHT on loopback where nobody answers (127.0.0.1:9, discard). */
export const NOWHERE = ['--host', '127.0.0.1', '--bootstrap', '127.0.0.1:9']

/**
 * A maker of temporary directories (named `prefix`…) for the tests of a file: after each test,
 * every child still running is killed and every directory made is removed.
 */
export function tempDirsPerTest(prefix: string): () => Promise<string> {
  const dirs: TempDir[] = []
  afterEach(async () => {
    await killAll()
    await Promise.all(dirs.splice(0).map((dir) => dir.remove()))
  })
  return async () => {
    const dir = await tmpStorage({ prefix })
    dirs.push(dir)
    return dir.path
  }
}

/** The testnet of a describe block, as the commands and fixtures are given it. */
export interface BlockTestnet {
  /** The options that put a command on it: bound to loopback, every node a bootstrap node. */
  readonly args: string[]
  /** `HOST:PORT` of every node (what the writer fixture takes). */
  readonly bootstrap: string[]
}

/**
 * A loopback testnet for the tests of the enclosing describe block: started before them,
 * closed after them (every child killed first).
 */
export function testnetForBlock(): BlockTestnet {
  let testnet: TestDHT | null = null
  beforeAll(async () => {
    testnet = await createTestnet()
  })
  afterAll(async () => {
    await killAll()
    await testnet?.close()
  })
  const nodes = (): string[] => {
    if (testnet === null) throw new Error('the testnet is started before the tests of its block')
    return testnet.bootstrap.map((node) => `${node.host}:${node.port}`)
  }
  return {
    get args() {
      return ['--host', '127.0.0.1', ...nodes().flatMap((node) => ['--bootstrap', node])]
    },
    get bootstrap() {
      return nodes()
    }
  }
}
