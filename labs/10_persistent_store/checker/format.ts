/**
 * Instructor helpers for lab 10, shared by the checker and the drives: the
 * store's format as the lab defines it, an independent parser for it, and
 * the deterministic payloads the drives append (so any process can tell a
 * right entry from a torn one).
 *
 * @module
 */

import { readAt } from "../../../lib/checker/mod.ts";

/** "MLOG" read as a little-endian u32. */
export const MAGIC = 0x474f4c4d;
export const VERSION = 1;
export const HEADER_SIZE = 4096;
/** Int32 index of the committed end in the header (byte 8). */
export const END_INDEX = 2;
export const ENTRY_HEADER = 8;

/** Rounds up to a multiple of 8. */
export function align8(n: number): number {
  return (n + 7) & ~7;
}

/** FNV-1a, 32 bits, as the lab's stub defines it. */
export function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i];
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function mix(seed: number, i: number): number {
  let h = Math.imul(seed ^ Math.imul(i + 1, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Which payloads a run appends: entry `i` of a run is a function of the run's
 * seed and `i` only, so the checker and every child agree on it.
 */
export interface Payloads {
  seed: number;
  /** Most payloads are 1 … `small` bytes long (a few are empty). */
  small: number;
  /** One entry in `bigEvery` is 4–16 KiB long, spanning pages. */
  bigEvery: number;
}

/** Length of entry `i`'s payload. */
export function payloadLength(p: Payloads, i: number): number {
  const r = mix(p.seed, i);
  if (r % p.bigEvery === 0) return 4096 + ((r >>> 8) % 12288);
  if (r % 97 === 1) return 0;
  return 1 + ((r >>> 8) % p.small);
}

/** The payload of entry `i`: its index in the first 4 bytes (when there is room), then noise. */
export function payload(p: Payloads, i: number): Uint8Array {
  const out = new Uint8Array(payloadLength(p, i));
  let x = mix(p.seed, i) | 1;
  for (let j = 0; j < out.length; j++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[j] = x & 0xff;
  }
  if (out.length >= 4) new DataView(out.buffer).setUint32(0, i, true);
  return out;
}

/** Bytes entries `from … to-1` take in the log. */
export function logBytes(p: Payloads, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) n += ENTRY_HEADER + align8(payloadLength(p, i));
  return n;
}

/** Payloads already generated, per run (the checker re-reads the same entries many times). */
const generated = new Map<string, Uint8Array[]>();

/** `payload(p, i)`, generated once per run and entry. */
function expectedPayload(p: Payloads, i: number): Uint8Array {
  const key = `${p.seed}/${p.small}/${p.bigEvery}`;
  let run = generated.get(key);
  if (!run) {
    if (generated.size >= 8) generated.clear(); // a checker's runs, not a leak
    generated.set(key, run = []);
  }
  return run[i] ??= payload(p, i);
}

/** Whether `bytes` is exactly the payload of entry `i`; if not, what is wrong. */
export function checkPayload(p: Payloads, i: number, bytes: Uint8Array): string | undefined {
  const want = expectedPayload(p, i);
  if (bytes.length !== want.length) {
    return `entry ${i} has ${bytes.length} bytes, expected ${want.length}`;
  }
  for (let j = 0; j < want.length; j++) {
    if (bytes[j] !== want[j]) {
      const zeros = bytes.subarray(j).every((b) => b === 0);
      return `entry ${i} differs from byte ${j} on` + (zeros ? " (zeros: never written)" : "");
    }
  }
  return undefined;
}

/** What the checker's own parser finds in a store file. */
export interface Parsed {
  size: number;
  magic: number;
  version: number;
  /** Committed end, from the header. */
  end: number;
  /** Committed entries that are whole and right, from 0. */
  count: number;
  /** The first problem, if any. */
  error?: string;
  /** Whether the start of the file is all zeros (nothing ever reached it). */
  zeros: boolean;
}

/**
 * Parses a store file the way the lab defines it, checking every committed
 * entry against the payloads `p` (entry `i` of the file against payload
 * `first + i`).
 */
export function parse(bytes: Uint8Array, p: Payloads, first = 0): Parsed {
  const size = bytes.length;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const result: Parsed = { size, magic: 0, version: 0, end: 0, count: 0, zeros: false };
  if (size < HEADER_SIZE) {
    result.error = `the file has ${size} bytes: shorter than the ${HEADER_SIZE}-byte header`;
    return result;
  }
  result.magic = view.getUint32(0, true);
  result.version = view.getUint32(4, true);
  result.end = view.getInt32(END_INDEX * 4, true);
  if (result.magic !== MAGIC) {
    result.zeros = bytes.subarray(0, 64 * 1024).every((b) => b === 0);
    result.error = `bytes 0–3 hold 0x${result.magic.toString(16)}, not the magic 0x${
      MAGIC.toString(16)
    } ("MLOG")`;
    return result;
  }
  if (result.version !== VERSION) {
    result.error = `bytes 4–7 hold version ${result.version}, not ${VERSION}`;
    return result;
  }
  if (result.end < HEADER_SIZE || result.end > size || result.end % 8 !== 0) {
    result.error = `the committed end (bytes 8–11) is ${result.end}: it must be a multiple of 8 ` +
      `between ${HEADER_SIZE} and the file size ${size}`;
    return result;
  }
  let at = HEADER_SIZE;
  let i = 0;
  while (at < result.end) {
    if (at + ENTRY_HEADER > result.end) {
      result.error =
        `entry ${i} at byte ${at}: its 8-byte entry header runs past the committed end`;
      return result;
    }
    const length = view.getUint32(at, true);
    const sum = view.getUint32(at + 4, true);
    const next = at + ENTRY_HEADER + align8(length);
    if (next > result.end) {
      result.error = `entry ${i} at byte ${at}: length ${length} runs past the committed end ` +
        `${result.end} (a torn or half-written entry counted as committed)`;
      return result;
    }
    const body = bytes.subarray(at + ENTRY_HEADER, at + ENTRY_HEADER + length);
    const wrong = checkPayload(p, first + i, body);
    if (wrong) {
      result.error = `committed ${wrong}`;
      return result;
    }
    if (sum !== fnv1a(body)) {
      result.error = `entry ${i} at byte ${at}: checksum 0x${sum.toString(16)}, expected 0x${
        fnv1a(body).toString(16)
      } (FNV-1a of the payload)`;
      return result;
    }
    at = next;
    i++;
  }
  result.count = i;
  return result;
}

/**
 * Follows a store file from outside, in steps: each `step()` reads the
 * committed end and checks the entries committed since the last step. The
 * checker calls it while the writer is frozen (SIGSTOP), so what it sees is
 * exactly what a reader would see at that instant.
 */
export class Follower {
  #file: Deno.FsFile;
  #pos = HEADER_SIZE;
  #index = 0;
  constructor(path: string, readonly payloads: Payloads) {
    this.#file = Deno.openSync(path, { read: true });
  }

  #read(at: number, length: number): Uint8Array {
    return readAt(this.#file, at, length);
  }

  /** Entries checked so far. */
  get count(): number {
    return this.#index;
  }

  /** Checks what was committed since the last step; returns the first problem. */
  step(): string | undefined {
    const header = this.#read(0, 12);
    if (header.length < 12) return undefined;
    const end = new DataView(header.buffer).getInt32(END_INDEX * 4, true);
    if (end <= this.#pos) return undefined;
    const bytes = this.#read(this.#pos, end - this.#pos);
    if (bytes.length < end - this.#pos) {
      return `the committed end is ${end}, past the end of the file`;
    }
    const view = new DataView(bytes.buffer);
    let at = 0;
    while (at < bytes.length) {
      const length = at + ENTRY_HEADER <= bytes.length ? view.getUint32(at, true) : -1;
      const next = at + ENTRY_HEADER + align8(length);
      if (length < 0 || next > bytes.length) {
        return `entry ${this.#index} at byte ${this.#pos + at} runs past the committed end ${end}`;
      }
      // Cheap checks, fit for a frozen writer (the whole file is parsed fully at the end):
      // the expected length, and a checksum that matches the bytes.
      const want = payloadLength(this.payloads, this.#index);
      if (length !== want) {
        return `entry ${this.#index} at byte ${this.#pos + at}: length ${length}, expected ${want}`;
      }
      const body = bytes.subarray(at + ENTRY_HEADER, at + ENTRY_HEADER + length);
      const sum = view.getUint32(at + 4, true);
      if (sum !== fnv1a(body)) {
        return `entry ${this.#index} at byte ${this.#pos + at}: checksum 0x${sum.toString(16)} ` +
          `does not match its ${length} bytes (not all written yet)`;
      }
      at = next;
      this.#index++;
    }
    this.#pos = end;
    return undefined;
  }

  close(): void {
    this.#file.close();
  }
}
