/**
 * A single-producer, single-consumer ring of fixed-size messages in shared
 * memory, for the IPC benchmark (section 3). Written for the benchmark only:
 * the ring-buffer lab builds its own.
 *
 * Layout of the region (offsets in bytes):
 *
 *     0    head   int32: messages published by the producer   (own cache line)
 *     64   tail   int32: messages consumed by the consumer    (own cache line)
 *     128  ready  int32: 1 once the consumer has mapped the region
 *     256  data   `slots` messages of `size` bytes; `slots` is a power of two
 *
 * `head` and `tail` only grow; `head - tail` is the fill level. Each side
 * publishes its index with `Atomics.store` and reads the other's with
 * `Atomics.load`. A side that has to wait spins a while, then yields the CPU
 * with `sched_yield(2)`, and gives up after a deadline (so a dead peer makes
 * an error, not a hang).
 *
 * @module
 */

/** Index of `head` in the Int32Array over the region. */
export const HEAD = 0;
/** Index of `tail`. */
export const TAIL = 16;
/** Index of `ready`. */
export const READY = 32;
/** Where the messages start. */
export const DATA_OFFSET = 256;

/** Busy polls before the first `sched_yield`. */
const SPINS = 2000;

let schedYield: (() => number) | undefined;
function yieldCpu(): void {
  schedYield ??= Deno.dlopen("libc.so.6", {
    sched_yield: { parameters: [], result: "i32" },
  }).symbols.sched_yield;
  schedYield();
}

/** Waits with spin-then-yield; throws once `deadline` (a `performance.now()` time) has passed. */
export class Backoff {
  #spins = 0;
  /** Calls to `sched_yield` made so far. */
  yields = 0;
  constructor(readonly deadline: number, readonly what: string) {}

  /** Call while the condition waited for is false. */
  pause(): void {
    if (++this.#spins < SPINS) return;
    yieldCpu();
    if ((++this.yields & 255) === 0 && performance.now() > this.deadline) {
      throw new Error(`ring: timed out waiting for ${this.what}`);
    }
  }

  /** Call once the condition held. */
  reset(): void {
    this.#spins = 0;
  }
}

/** Writes a little-endian u32 (the message's sequence number). */
export function writeSeq(bytes: Uint8Array, offset: number, seq: number): void {
  bytes[offset] = seq & 255;
  bytes[offset + 1] = (seq >>> 8) & 255;
  bytes[offset + 2] = (seq >>> 16) & 255;
  bytes[offset + 3] = seq >>> 24;
}

/**
 * What a consumer does with each message, in the ring and the pipe alike:
 * checks its sequence number and reads its last byte. Returns the last byte.
 */
export function consumeMessage(
  bytes: Uint8Array,
  offset: number,
  size: number,
  seq: number,
): number {
  const got = (bytes[offset] | (bytes[offset + 1] << 8) | (bytes[offset + 2] << 16) |
    (bytes[offset + 3] << 24)) >>> 0;
  if (got !== seq >>> 0) throw new Error(`message out of order: got #${got}, expected #${seq}`);
  return bytes[offset + size - 1];
}

/** The bytes a ring of `slots` messages of `size` bytes needs. */
export function ringBytes(size: number, slots: number): number {
  return DATA_OFFSET + size * slots;
}

/** Sends `count` copies of `message` (its first 4 bytes replaced by the sequence number). */
export function produce(
  region: Uint8Array,
  slots: number,
  message: Uint8Array,
  count: number,
  deadline: number,
): void {
  const ctl = new Int32Array(region.buffer, region.byteOffset, DATA_OFFSET / 4);
  const size = message.length;
  const mask = slots - 1;
  const backoff = new Backoff(deadline, "the consumer to make room");
  let head = Atomics.load(ctl, HEAD);
  let tail = Atomics.load(ctl, TAIL);
  for (let seq = 0; seq < count; seq++) {
    if (head - tail >= slots) {
      tail = Atomics.load(ctl, TAIL);
      while (head - tail >= slots) {
        backoff.pause();
        tail = Atomics.load(ctl, TAIL);
      }
      backoff.reset();
    }
    const offset = DATA_OFFSET + (head & mask) * size;
    region.set(message, offset);
    writeSeq(region, offset, seq);
    Atomics.store(ctl, HEAD, ++head);
  }
}

/** What the consumer measured. */
export interface ConsumeResult {
  /** Messages received. */
  received: number;
  /** Messages per second from message `warmup` to the last one. */
  rate: number;
  /** Sum of the messages' last bytes. */
  check: number;
  /** `sched_yield` calls made while waiting. */
  yields: number;
}

/**
 * Receives `count` messages of `size` bytes, checking each one's sequence
 * number; the rate is timed from message `warmup` on.
 */
export function consume(
  region: Uint8Array,
  slots: number,
  size: number,
  count: number,
  warmup: number,
  deadline: number,
): ConsumeResult {
  const ctl = new Int32Array(region.buffer, region.byteOffset, DATA_OFFSET / 4);
  const mask = slots - 1;
  const backoff = new Backoff(deadline, "the producer to send");
  let tail = Atomics.load(ctl, TAIL);
  let check = 0;
  let start = performance.now();
  while (tail < count) {
    let head = Atomics.load(ctl, HEAD);
    while (head === tail) {
      backoff.pause();
      head = Atomics.load(ctl, HEAD);
    }
    backoff.reset();
    for (; tail < head; tail++) {
      check = (check + consumeMessage(region, DATA_OFFSET + (tail & mask) * size, size, tail)) | 0;
      if (tail === warmup) start = performance.now();
    }
    Atomics.store(ctl, TAIL, tail);
  }
  const seconds = (performance.now() - start) / 1000;
  return { received: tail, rate: (count - warmup) / seconds, check, yields: backoff.yields };
}
