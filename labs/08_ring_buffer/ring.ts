/**
 * # Lab 08: IPC without pipes: a ring buffer
 *
 * Scenario: one process produces messages (log lines, events, requests),
 * another consumes them. A pipe would carry them through the kernel: one
 * `write()` and a share of a `read()` per message, and every byte copied
 * twice. Here they share a file mapping laid out as a **ring**, and the
 * kernel is asked for help only when one side must wait for the other.
 *
 * Layout of the ring file (the checker creates it; see the README):
 *
 *     header page, as Int32 cells            data area (byte 4096 on)
 *     [HEAD] [CONSUMER_SLEEPING] … [TAIL] [PRODUCER_SLEEPING] … [CAPACITY]   capacity bytes
 *
 * A message travels as a frame: its length as a 4-byte little-endian
 * unsigned integer, then its bytes. Frames follow each other in a circular
 * byte stream: stream position p lives at data[p % capacity], so a frame
 * (its length prefix too) may run off the end and go on at data[0].
 * `head` counts the bytes ever written, `tail` the bytes ever consumed, both
 * modulo 2^32; `(head - tail) >>> 0` bytes are waiting.
 *
 * Your tasks:
 *
 * 1. `openRing`: map the ring file, shared, read-write.
 * 2. `send`: wait for room (back-pressure), write the frame, publish head,
 *    wake the consumer if it sleeps. Refuse a message that can never fit.
 * 3. `receive`: wait for a frame, copy it out, publish tail, wake the producer
 *    if it sleeps. Return null at the close mark.
 * 4. `close`: write the close mark (a frame whose length is 0xFFFFFFFF).
 * 5. Predict how many read() calls the consumer makes per 1000 messages.
 *
 * Read: the README; `man 7 pipe`; `man 2 futex`; `man 5 proc` (/proc/PID/io).
 * Run `deno task lab check 8` to check.
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

/** One side's view of a ring file. Add fields if you need them. */
export interface Ring {
  /** The header page as 32-bit cells (HEAD, TAIL, …). */
  header: Int32Array;
  /** The data area: `capacity` bytes. */
  data: Uint8Array;
  /** Size of the data area, a power of two. */
  capacity: number;
}

/**
 * Maps the ring file at `path` (already laid out by whoever created it)
 * shared, read-write.
 */
export function openRing(path: string): Ring {
  // TODO: map the file read-write and shared. `header`: an Int32Array over the
  // first DATA_OFFSET bytes; `capacity`: header[CAPACITY]; `data`: a Uint8Array
  // over the `capacity` bytes from DATA_OFFSET. Views of the mapping, not copies.
  void mapFile, path;
  return { header: new Int32Array(DATA_OFFSET / 4), data: new Uint8Array(0), capacity: 0 };
}

/**
 * Producer: appends `message` to the ring, waiting while it is full.
 * Throws `RangeError` for a message that can never fit.
 */
export function send(ring: Ring, message: Uint8Array): void {
  // TODO:
  // - a message longer than capacity - 4 can never fit: throw a RangeError;
  // - wait until capacity - ((head - tail) >>> 0) >= 4 + message.length:
  //   spin a little, then: store 1 in header[PRODUCER_SLEEPING], look at tail
  //   again, sys.futexWait(header, TAIL, seen) if still full, store 0 again;
  // - write the length (little-endian u32) and the bytes at stream position
  //   head, wrapping at the end of the data area;
  // - publish: Atomics.store(header, HEAD, head + 4 + message.length);
  // - if header[CONSUMER_SLEEPING] is 1: sys.futexWake(header, HEAD, 1).
  void ring, message, sys;
}

/** Producer: ends the stream; the consumer's `receive` returns `null` once it gets here. */
export function close(ring: Ring): void {
  // TODO: send a frame whose length is CLOSE_MARK, with no bytes (it needs 4
  // bytes of room, like any frame).
  void ring;
}

/**
 * Consumer: takes the next message out of the ring, waiting while it is
 * empty. Returns `null` (now and on every later call) once the producer has
 * closed the stream.
 */
export function receive(ring: Ring): Uint8Array | null {
  // TODO:
  // - wait until (head - tail) >>> 0 >= 4 (a whole frame is published at once):
  //   spin a little, then: store 1 in header[CONSUMER_SLEEPING], look at head
  //   again, sys.futexWait(header, HEAD, seen) if still empty, store 0 again;
  // - read the length at tail (it may wrap); CLOSE_MARK: return null and leave
  //   tail where it is;
  // - copy the bytes out (they may wrap too): a copy, not a view, since the
  //   producer reuses the space as soon as you move tail;
  // - publish: Atomics.store(header, TAIL, tail + 4 + length);
  // - if header[PRODUCER_SLEEPING] is 1: sys.futexWake(header, TAIL, 1).
  void ring;
  return null;
}

/**
 * Prediction: your producer sends 1000 small messages, pausing 1–2 ms before
 * each; your consumer takes each one as soon as it can. How many times does
 * the consumer's process go to sleep meanwhile (`voluntary_ctxt_switches` in
 * `/proc/PID/status`: each time it gives up the CPU to wait)?
 */
export const PREDICTED_CONSUMER_SLEEPS_PER_1000: number | undefined = undefined; // TODO: predict
