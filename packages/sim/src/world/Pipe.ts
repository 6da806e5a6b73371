/**
 * One direction of a simulated link: the ciphertext one side's Noise stream
 * writes, carried to the other side. It can be slowed (every chunk delayed)
 * and made non-reading (the receiver stops taking anything). Like a socket's
 * kernel buffers it holds at most `WINDOW` bytes in flight; past that it
 * stops reading the sender, whose own stream buffers then fill and push back
 * on whoever writes to it (the backpressure a well-behaved sender obeys).
 */
import type { Duplex } from 'node:stream'

/** Bytes a pipe holds before it stops reading its sender (a socket's buffers, roughly). */
export const WINDOW = 256 * 1024

interface Chunk {
  data: Buffer
  due: number
}

export class Pipe {
  /** Milliseconds each chunk takes to cross. */
  delay = 0
  /** Bytes carried so far (delivered or in flight). */
  bytes = 0
  /** Bytes in flight (read from the sender, not yet delivered). */
  held = 0
  #reading = true
  #queue: Chunk[] = []
  #paused = false
  #timer: NodeJS.Timeout | null = null
  #closed = false
  readonly #from: Duplex
  readonly #to: Duplex

  /** `from`: the sender's raw stream (its ciphertext comes out); `to`: the receiver's raw stream. */
  constructor(from: Duplex, to: Duplex) {
    this.#from = from
    this.#to = to
    from.on('data', (data: Buffer) => this.#take(data))
  }

  /** False while the receiver does not read. */
  get reading(): boolean {
    return this.#reading
  }

  set reading(yes: boolean) {
    this.#reading = yes
    this.#pump()
  }

  close(): void {
    this.#closed = true
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
    this.#queue = []
  }

  #take(data: Buffer): void {
    if (this.#closed) return
    this.bytes += data.byteLength
    this.held += data.byteLength
    this.#queue.push({ data, due: Date.now() + this.delay })
    if (this.held > WINDOW && !this.#paused) {
      this.#paused = true
      this.#from.pause()
    }
    this.#pump()
  }

  #pump(): void {
    if (this.#closed || this.#timer !== null) return
    const now = Date.now()
    while (this.#reading && this.#queue.length > 0) {
      const next = this.#queue[0]!
      if (next.due > now) {
        this.#timer = setTimeout(() => {
          this.#timer = null
          this.#pump()
        }, next.due - now)
        return
      }
      this.#queue.shift()
      this.held -= next.data.byteLength
      this.#to.write(next.data)
    }
    if (this.#paused && this.held <= WINDOW / 2) {
      this.#paused = false
      this.#from.resume()
    }
  }
}
