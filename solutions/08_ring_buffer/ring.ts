/**
 * # Lab 08: IPC without pipes: a ring buffer (reference solution)
 *
 * One producer process and one consumer process share a file mapping laid
 * out as a ring: a header page with two positions, then a circular byte
 * stream of frames (`u32 length`, then the bytes). No `read()`, no
 * `write()`: the only system calls are `futex` waits and wakes, and only
 * when one side must wait for the other.
 *
 * @module
 */

import { mapFile, sys } from "../../lib/mod.ts";

/** Int32 index of `head`: bytes ever written by the producer, modulo 2^32 (byte 0). */
export const HEAD = 0;
/** Int32 index of the consumer's "I may be asleep on head" flag (byte 4). */
export const CONSUMER_SLEEPING = 1;
/** Int32 index of `tail`: bytes ever consumed, modulo 2^32 (byte 64: its own cache line). */
export const TAIL = 16;
/** Int32 index of the producer's "I may be asleep on tail" flag (byte 68). */
export const PRODUCER_SLEEPING = 17;
/** Int32 index of the capacity of the data area in bytes, a power of two (byte 128). */
export const CAPACITY = 32;
/** Where the data area starts in the file: the second page. */
export const DATA_OFFSET = 4096;
/** Bytes of a frame's length prefix. */
export const FRAME_HEADER = 4;
/** The length that marks the end of the stream: no message follows. */
export const CLOSE_MARK = 0xffff_ffff;

/** One side's view of a ring file. */
export interface Ring {
  /** The header page as 32-bit cells (HEAD, TAIL, …). */
  header: Int32Array;
  /** The data area: `capacity` bytes. */
  data: Uint8Array;
  /** Size of the data area, a power of two. */
  capacity: number;
  /**
   * Producer: the consumer's tail as last seen. Tail only grows, so this is
   * never more than the real one, and the room it promises is really there.
   * Looking again only when it promises too little spares a cache-line
   * transfer from the consumer's CPU on most sends.
   */
  seenTail: number;
  /** Consumer: the producer's head as last seen (the same idea). */
  seenHead: number;
}

/**
 * Maps the ring file at `path` (already laid out by whoever created it)
 * shared, read-write.
 */
export function openRing(path: string): Ring {
  // MAP_SHARED: the other process maps the same file, so the same pages.
  const mapping = mapFile(path, { access: "readwrite" });
  const header = new Int32Array(mapping.bytes.buffer, 0, DATA_OFFSET / 4);
  const capacity = Atomics.load(header, CAPACITY);
  const data = new Uint8Array(mapping.bytes.buffer, DATA_OFFSET, capacity);
  return {
    header,
    data,
    capacity,
    seenTail: Atomics.load(header, TAIL) >>> 0,
    seenHead: Atomics.load(header, HEAD) >>> 0,
  };
}

/** Polls before going to sleep: the other side is often about to move. */
const SPINS = 2000;

/**
 * Waits until `ready()` holds, sleeping on `header[word]` (with `flag` set
 * so the other side knows to wake us) when a short spin was not enough.
 */
function waitFor(ring: Ring, word: number, flag: number, ready: () => boolean): void {
  for (let i = 0; i < SPINS; i++) if (ready()) return;
  const h = ring.header;
  while (!ready()) {
    // Announce first, then look again, then sleep: either the other side
    // sees our flag (and wakes us), or we see its move (and do not sleep).
    // Atomics are sequentially consistent, so both cannot miss.
    Atomics.store(h, flag, 1);
    const seen = Atomics.load(h, word); // the signed value, as futex compares it
    if (!ready()) sys.futexWait(h, word, seen); // returns at once if word !== seen
    Atomics.store(h, flag, 0);
  }
}

/** Copies `bytes` into the data area at stream position `pos`, wrapping at the end. */
function put(ring: Ring, pos: number, bytes: Uint8Array): void {
  const at = pos % ring.capacity; // pos is unsigned; capacity divides 2^32, so this is exact
  const first = Math.min(bytes.length, ring.capacity - at);
  if (first === bytes.length) {
    ring.data.set(bytes, at); // the usual case: one piece
  } else {
    ring.data.set(bytes.subarray(0, first), at); // up to the end of the data area…
    ring.data.set(bytes.subarray(first), 0); // …and the rest from its start
  }
}

/** Copies `length` bytes out of the data area at stream position `pos`, wrapping at the end. */
function take(ring: Ring, pos: number, length: number): Uint8Array {
  const out = new Uint8Array(length); // a copy: the producer reuses this space
  const at = pos % ring.capacity;
  const first = Math.min(length, ring.capacity - at);
  out.set(ring.data.subarray(at, at + first), 0);
  if (first < length) out.set(ring.data.subarray(0, length - first), first);
  return out;
}

/** Writes a u32, little-endian, at stream position `pos` (it may wrap too). */
function putLength(ring: Ring, pos: number, length: number): void {
  for (let i = 0; i < FRAME_HEADER; i++) {
    ring.data[(pos + i) % ring.capacity] = length >>> (8 * i);
  }
}

/** Reads the u32 written by {@link putLength}. */
function takeLength(ring: Ring, pos: number): number {
  let length = 0;
  for (let i = 0; i < FRAME_HEADER; i++) {
    length |= ring.data[(pos + i) % ring.capacity] << (8 * i);
  }
  return length >>> 0;
}

/** Writes one frame (length prefix + bytes) at `head`, waiting for room, and publishes it. */
function putFrame(ring: Ring, length: number, payload: Uint8Array): void {
  const h = ring.header;
  const need = FRAME_HEADER + payload.length;
  // Only the producer writes head: its value is ours to trust. `>>> 0` reads
  // the signed cell as the unsigned position it stands for.
  const head = Atomics.load(h, HEAD) >>> 0;
  // Back-pressure: wait until the consumer has freed `need` bytes. Free
  // space is capacity - (head - tail); `>>> 0` keeps it right across 2^32.
  const free = () => ring.capacity - ((head - ring.seenTail) >>> 0);
  if (free() < need) {
    const room = () => {
      ring.seenTail = Atomics.load(h, TAIL) >>> 0;
      return free() >= need;
    };
    if (!room()) waitFor(ring, TAIL, PRODUCER_SLEEPING, room);
  }
  putLength(ring, head, length);
  put(ring, head + FRAME_HEADER, payload);
  // Publish: the frame's bytes were stored before this atomic store, so a
  // consumer that sees the new head sees them too.
  Atomics.store(h, HEAD, head + need); // stored as int32: wraps at 2^32 by itself
  if (Atomics.load(h, CONSUMER_SLEEPING) !== 0) sys.futexWake(h, HEAD, 1);
}

/**
 * Producer: appends `message` to the ring, waiting while it is full.
 * Throws `RangeError` for a message that can never fit.
 */
export function send(ring: Ring, message: Uint8Array): void {
  if (message.length > ring.capacity - FRAME_HEADER) {
    // Waiting would never end: no amount of consuming makes room for it.
    throw new RangeError(
      `message of ${message.length} bytes cannot fit a ${ring.capacity}-byte ring ` +
        `(at most ${ring.capacity - FRAME_HEADER})`,
    );
  }
  putFrame(ring, message.length, message);
}

/** Producer: ends the stream; the consumer's `receive` returns `null` once it gets here. */
export function close(ring: Ring): void {
  putFrame(ring, CLOSE_MARK, new Uint8Array(0));
}

/**
 * Consumer: takes the next message out of the ring, waiting while it is
 * empty. Returns `null` (now and on every later call) once the producer has
 * closed the stream.
 */
export function receive(ring: Ring): Uint8Array | null {
  const h = ring.header;
  const tail = Atomics.load(h, TAIL) >>> 0; // only the consumer writes tail
  // The producer publishes whole frames: once the prefix is there, so is the
  // rest. Look at head again only when the frames seen so far are used up.
  if (((ring.seenHead - tail) >>> 0) < FRAME_HEADER) {
    const framed = () => {
      ring.seenHead = Atomics.load(h, HEAD) >>> 0;
      return ((ring.seenHead - tail) >>> 0) >= FRAME_HEADER;
    };
    if (!framed()) waitFor(ring, HEAD, CONSUMER_SLEEPING, framed);
  }
  const length = takeLength(ring, tail);
  if (length === CLOSE_MARK) return null; // leave the mark: later calls see it again
  if (length > ring.capacity - FRAME_HEADER) {
    throw new Error(`corrupt ring: frame of ${length} bytes at position ${tail}`);
  }
  const message = take(ring, tail + FRAME_HEADER, length);
  // Only now give the space back: the producer may overwrite it at once.
  Atomics.store(h, TAIL, tail + FRAME_HEADER + length);
  if (Atomics.load(h, PRODUCER_SLEEPING) !== 0) sys.futexWake(h, TAIL, 1);
  return message;
}

/**
 * Prediction: your producer sends 1000 small messages, pausing 1–2 ms before
 * each; your consumer takes each one as soon as it can. How many times does
 * the consumer's process go to sleep meanwhile (`voluntary_ctxt_switches` in
 * `/proc/PID/status`: each time it gives up the CPU to wait)?
 */
export const PREDICTED_CONSUMER_SLEEPS_PER_1000: number | undefined = 1000;
