/** A seeded xorshift32 stream: deterministic elements and salts for the pure protocol tests. */
export function rng(seed: number): () => number {
  let x = seed | 0 || 0x9e3779b9
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return x >>> 0
  }
}

/** `n` bytes from a seeded stream. */
export function bytes(next: () => number, n: number): Buffer {
  const b = Buffer.alloc(n)
  for (let i = 0; i < n; i++) b[i] = next() & 0xff
  return b
}
