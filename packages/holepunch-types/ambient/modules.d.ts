/// <reference path="../corestore.d.ts" />
// PRIVATE to this workspace: never published (not in holepunch-types' `files`),
// never referenced from a published file. Each package's tsconfig includes it so
// that our sources can import the Holepunch modules at run time:
//
//   import HypercoreClass from 'hypercore'                      // a value, typed here
//   import type { Hypercore } from '@multifeed/holepunch-types' // every type
//
// The default exports are values only (no type of the same name): writing
// `Hypercore<T>` with a binding imported from 'hypercore' does not compile, so a
// public signature cannot leak these module names into the emitted `.d.ts`
// (packages/holepunch-types/test/dist.test.ts checks the output too).
// The small utility modules below are used inside our code only.
//
// 'corestore' is typed by the published ../corestore.d.ts (core's index.d.ts refers to it, so
// users get it too); referred to here for the files that do not import core's index.

declare module 'hypercore' {
  import type { HypercoreStatic } from '@multifeed/holepunch-types'

  const Hypercore: HypercoreStatic
  export default Hypercore
}

declare module 'protomux' {
  import type { ProtomuxConstructor } from '@multifeed/holepunch-types'

  const Protomux: ProtomuxConstructor
  export default Protomux
}

declare module '@hyperswarm/secret-stream' {
  import type { NoiseSecretStreamConstructor } from '@multifeed/holepunch-types'

  const NoiseSecretStream: NoiseSecretStreamConstructor
  export default NoiseSecretStream
}

declare module 'hyperswarm' {
  import type { HyperswarmConstructor } from '@multifeed/holepunch-types'

  const Hyperswarm: HyperswarmConstructor
  export default Hyperswarm
}

declare module 'hyperdht' {
  import type { HyperDHTConstructor } from '@multifeed/holepunch-types'

  const HyperDHT: HyperDHTConstructor
  export default HyperDHT
}

declare module 'hyperdht/testnet' {
  import type { CreateTestnet } from '@multifeed/holepunch-types'

  const createTestnet: CreateTestnet
  export default createTestnet
}

declare module 'udx-native' {
  interface UDXSocket {
    bind(port?: number, host?: string): void
    address(): { host: string; family: number; port: number }
    close(): Promise<void>
  }

  export default class UDX {
    createSocket(): UDXSocket
  }
}

declare module '@hyperswarm/testnet' {
  import type { CreateTestnet } from '@multifeed/holepunch-types'

  const createTestnet: CreateTestnet
  export default createTestnet
}

declare module 'compact-encoding' {
  import type { Encoding, EncodingState } from '@multifeed/holepunch-types'
  export type State = EncodingState
  export type { Encoding }
  export const uint: Encoding<number>
  export const uint8: Encoding<number>
  export const uint32: Encoding<number>
  export const bool: Encoding<boolean>
  export const buffer: Encoding<Buffer | null>
  export const raw: Encoding<Buffer>
  export const string: Encoding<string>
  export const utf8: Encoding<string>
  export const fixed32: Encoding<Buffer>
  export const fixed64: Encoding<Buffer>
  export const json: Encoding<unknown>
  export function array<T>(enc: Encoding<T>): Encoding<T[]>
  export function state(start?: number, end?: number, buffer?: Buffer | null): State
  export function encode<T>(enc: Encoding<T>, value: T): Buffer
  export function decode<T>(enc: Encoding<T>, buffer: Buffer): T
  /** The codec hypercore uses for a `valueEncoding` (a name: 'json' and 'utf-8' unprefixed). */
  export function from<T = unknown>(enc: string | Encoding<T>): Encoding<T>
}

declare module 'hypercore-crypto' {
  import type { KeyPair } from '@multifeed/holepunch-types'

  export type { KeyPair }
  export function keyPair(seed?: Buffer): KeyPair
  export function randomBytes(n: number): Buffer
  export function discoveryKey(key: Buffer): Buffer
  export function hash(data: Buffer | Buffer[], out?: Buffer): Buffer
  export function sign(message: Buffer, secretKey: Buffer): Buffer
  export function verify(message: Buffer, signature: Buffer, publicKey: Buffer): boolean
  export function namespace(name: string, count: number): Buffer[]
}

declare module 'sodium-universal' {
  export const crypto_generichash_BYTES: number
  export const crypto_generichash_KEYBYTES: number
  export function crypto_generichash(out: Buffer, input: Buffer, key?: Buffer): void
  export function crypto_generichash_batch(out: Buffer, inputs: Buffer[], key?: Buffer): void
  export function randombytes_buf(out: Buffer): void
  export function sodium_memcmp(a: Buffer, b: Buffer): boolean
  /** SipHash-2-4: 8 bytes of output under a 16-byte key. */
  export function crypto_shorthash(out: Buffer, input: Uint8Array, key: Buffer): void
}

declare module 'hypercore-id-encoding' {
  /** Accepts a 32-byte buffer, 64 hex characters or 52 z-base-32 characters; throws otherwise. */
  export function decode(id: string | Buffer | Uint8Array): Buffer
  export function normalize(id: string | Buffer | Uint8Array): string
  /** z-base-32 encoding of a 32-byte key. */
  export function encode(key: Buffer): string
}

declare module 'z32' {
  export function encode(data: Buffer | Uint8Array | string): string
  /** Throws on characters outside the z-base-32 alphabet. */
  export function decode(s: string, out?: Buffer): Buffer
}

// hypercore's storage (used by @multifeed/testing to open stores with a smaller RocksDB
// write buffer: testing/src/corestoreAt.ts). Only what that file calls.
declare module 'hypercore-storage' {
  export default class CoreStorage {
    constructor(
      directory: string,
      options?: { readOnly?: boolean; wait?: boolean; writeBufferSize?: number }
    )
  }
}
