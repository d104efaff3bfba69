/**
 * Child side of lab 08. A child is a producer or a consumer, running either
 * the student's `send`/`receive` or the instructor's own ring (below), so the
 * student's side always meets a counterpart that follows the wire format
 * exactly. Messages come from a seeded generator both sides share: the
 * consumer knows what each message must be without being told.
 *
 * @module
 */

import {
  defineDrive,
  type DriveContext,
  mapFile,
  readProcText,
  sleep,
  studentExport,
  studentValue,
  sys,
  withoutRecording,
} from "../../../lib/checker/mod.ts";

// The wire format (README, "Layout"): Int32 cells of the header page.
export const HEAD = 0;
export const CONSUMER_SLEEPING = 1;
export const TAIL = 16;
export const PRODUCER_SLEEPING = 17;
export const CAPACITY = 32;
export const DATA_OFFSET = 4096;
export const FRAME_HEADER = 4;
export const CLOSE_MARK = 0xffff_ffff;

/** What messages a run carries, and how each side dawdles. */
export interface Plan {
  /** Seed of the message generator (both sides use the same). */
  seed: number;
  /** How many messages. */
  count: number;
  /** Largest message length (capacity - 4 or less). */
  maxLen: number;
  /** Largest length of an ordinary message (most are at most this). */
  typicalLen: number;
  /** About one pause every `pauseEvery` messages, of 1–`pauseMaxMs` ms (0: never). */
  pauseEvery: number;
  pauseMaxMs: number;
  /** Seed of this side's pauses. */
  pauseSeed: number;
  /** Producer: stop at a checkpoint before sending message i. Consumer: after receiving i messages. */
  parkAt?: number[];
}

/** What the checker asks a child to do. */
export type Params =
  | { mode: "predictions" }
  | { mode: "send-frames"; path: string; messages: number[][] }
  | { mode: "receive-frames"; path: string; extra: number }
  | { mode: "too-big"; path: string; capacity: number }
  | { mode: "send-one"; path: string; length: number; fill: number }
  | { mode: "sleep-on-head"; path: string }
  | { mode: "producer"; who: "student" | "instructor"; path: string; plan: Plan }
  | {
    mode: "consumer";
    who: "student" | "instructor";
    path: string;
    plan: Plan;
    measureIo?: boolean;
  }
  | { mode: "pipe-producer"; fifo: string; plan: Plan }
  | { mode: "pipe-consumer"; fifo: string; plan: Plan };

/** A small deterministic generator (xorshift32). */
export function generator(seed: number): () => number {
  let x = (seed | 0) || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

/** The plan's messages: random lengths (0 and the maximum included), random bytes. */
export function messagesOf(plan: Plan): Uint8Array[] {
  const next = generator(plan.seed);
  const out: Uint8Array[] = [];
  for (let i = 0; i < plan.count; i++) {
    const pick = next() % 32;
    const length = pick === 0 ? 0 : pick === 1 ? plan.maxLen : 1 + (next() % plan.typicalLen);
    const m = new Uint8Array(length);
    for (let j = 0; j < length; j += 4) {
      const r = next();
      m[j] = r;
      if (j + 1 < length) m[j + 1] = r >>> 8;
      if (j + 2 < length) m[j + 2] = r >>> 16;
      if (j + 3 < length) m[j + 3] = r >>> 24;
    }
    out.push(m);
  }
  return out;
}

function pauser(plan: Plan): () => Promise<void> {
  const next = generator(plan.pauseSeed);
  return async () => {
    if (plan.pauseEvery > 0 && next() % plan.pauseEvery === 0) {
      await sleep(1 + (next() % plan.pauseMaxMs));
    }
  };
}

// ---------------------------------------------------------------------------
// The instructor's ring: the same wire format, written independently of the
// student's file, so a student's producer meets a known-good consumer.

interface Side {
  send(message: Uint8Array): void;
  close(): void;
  receive(): Uint8Array | null;
}

class InstructorRing implements Side {
  readonly h: Int32Array;
  readonly data: Uint8Array;
  readonly cap: number;
  constructor(path: string) {
    const m = mapFile(path, { access: "readwrite" });
    this.h = new Int32Array(m.bytes.buffer, 0, DATA_OFFSET / 4);
    this.cap = this.h[CAPACITY];
    this.data = new Uint8Array(m.bytes.buffer, DATA_OFFSET, this.cap);
  }
  #wait(word: number, flag: number, ready: () => boolean): void {
    for (let i = 0; i < 50; i++) if (ready()) return;
    while (!ready()) {
      Atomics.store(this.h, flag, 1);
      const seen = Atomics.load(this.h, word);
      if (!ready()) sys.futexWait(this.h, word, seen);
      Atomics.store(this.h, flag, 0);
    }
  }
  #copyIn(pos: number, bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i++) this.data[(pos + i) & (this.cap - 1)] = bytes[i];
  }
  #copyOut(pos: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.data[(pos + i) & (this.cap - 1)];
    return out;
  }
  #frame(length: number, payload: Uint8Array): void {
    const need = 4 + payload.length;
    const head = Atomics.load(this.h, HEAD);
    this.#wait(
      TAIL,
      PRODUCER_SLEEPING,
      () => this.cap - ((head - Atomics.load(this.h, TAIL)) | 0) >= need,
    );
    this.#copyIn(head, new Uint8Array([length, length >>> 8, length >>> 16, length >>> 24]));
    this.#copyIn(head + 4, payload);
    Atomics.store(this.h, HEAD, (head + need) | 0);
    if (Atomics.load(this.h, CONSUMER_SLEEPING) !== 0) sys.futexWake(this.h, HEAD, 1);
  }
  /** Consumer: the message due next, if known (a wrong one is looked at again). */
  expectNext?: (message: Uint8Array) => boolean;
  /**
   * A frame that head covers must not change any more: look again 20 ms later, and if it
   * did change, the producer published head before the frame was written.
   */
  #publishedEarly(tail: number, seen: Uint8Array): void {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    const now = this.#copyOut(tail, seen.length);
    const at = now.findIndex((v, i) => v !== seen[i]);
    if (at < 0) return;
    const ahead = (Atomics.load(this.h, HEAD) - tail) >>> 0;
    if (ahead > this.cap) {
      // Head went round the ring past this frame: it was written over, not published early.
      throw new Error(
        `corrupt ring: the frame at position ${tail >>> 0} was written over while unread ` +
          `(head is now ${ahead} bytes ahead of tail in a ${this.cap}-byte ring: overwritten)`,
      );
    }
    throw new Error(
      `corrupt ring: the frame at position ${tail >>> 0} changed after head covered it ` +
        `(byte ${at} of the frame was ${seen[at]}, 20 ms later ${now[at]}): head was published ` +
        "before the frame was written",
    );
  }
  send(message: Uint8Array): void {
    this.#frame(message.length, message);
  }
  close(): void {
    this.#frame(CLOSE_MARK, new Uint8Array(0));
  }
  receive(): Uint8Array | null {
    const tail = Atomics.load(this.h, TAIL);
    this.#wait(HEAD, CONSUMER_SLEEPING, () => ((Atomics.load(this.h, HEAD) - tail) | 0) >= 4);
    const ahead = (Atomics.load(this.h, HEAD) - tail) >>> 0;
    if (ahead > this.cap) {
      throw new Error(
        `corrupt ring: head is ${ahead} bytes ahead of tail in a ${this.cap}-byte ring (overwritten)`,
      );
    }
    const b = this.#copyOut(tail, 4);
    const length = (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
    if (length === CLOSE_MARK) return null;
    if (length > this.cap - 4) {
      this.#publishedEarly(tail, b);
      throw new Error(`corrupt frame length ${length} at ${tail >>> 0}`);
    }
    const message = this.#copyOut(tail + 4, length);
    if (this.expectNext && !this.expectNext(message)) {
      this.#publishedEarly(tail, this.#copyOut(tail, 4 + length));
    }
    Atomics.store(this.h, TAIL, (tail + 4 + length) | 0);
    if (Atomics.load(this.h, PRODUCER_SLEEPING) !== 0) sys.futexWake(this.h, TAIL, 1);
    return message;
  }
}

function studentSide(ctx: DriveContext<unknown>, path: string): Side {
  const openRing = studentExport<(path: string) => unknown>(ctx, "openRing");
  const send = studentExport<(ring: unknown, m: Uint8Array) => void>(ctx, "send");
  const close = studentExport<(ring: unknown) => void>(ctx, "close");
  const receive = studentExport<(ring: unknown) => Uint8Array | null>(ctx, "receive");
  const ring = openRing(path);
  return {
    send: (m) => send(ring, m),
    close: () => close(ring),
    receive: () => receive(ring),
  };
}

// ---------------------------------------------------------------------------

/** The first difference between what arrived and what was sent, in words. */
export interface Verdict {
  received: number;
  /** Index of the first wrong message, with what went wrong. */
  bad?: { index: number; reason: string };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function verify(got: Uint8Array[], expected: Uint8Array[]): Verdict {
  for (let i = 0; i < Math.min(got.length, expected.length); i++) {
    if (sameBytes(got[i], expected[i])) continue;
    const g = got[i];
    const e = expected[i];
    let reason: string;
    if (i + 1 < expected.length && sameBytes(g, expected[i + 1])) {
      reason = `it is message ${i + 1}: message ${i} was lost`;
    } else if (i > 0 && sameBytes(g, expected[i - 1])) {
      reason = `it is message ${i - 1} again: a message arrived twice`;
    } else if (g.length !== e.length) {
      reason = `${g.length} bytes instead of ${e.length}`;
    } else {
      const at = g.findIndex((v, k) => v !== e[k]);
      reason = `right length (${e.length} bytes), wrong bytes from byte ${at} on`;
    }
    return { received: got.length, bad: { index: i, reason } };
  }
  if (got.length < expected.length) {
    return {
      received: got.length,
      bad: {
        index: got.length,
        reason:
          `only ${got.length} of ${expected.length} messages arrived before receive() returned null`,
      },
    };
  }
  if (got.length > expected.length) {
    return {
      received: got.length,
      bad: { index: expected.length, reason: `more messages than were sent (${got.length})` },
    };
  }
  return { received: got.length };
}

/** Times the main thread went to sleep so far (voluntary context switches). */
function sleeps(): number {
  const text = readProcText(`/proc/self/task/${Deno.pid}/status`);
  return Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(text)?.[1] ?? NaN);
}

function ioCounters(): { syscr: number; syscw: number } {
  const text = readProcText("/proc/self/io");
  const field = (name: string) => Number(new RegExp(`${name}: (\\d+)`).exec(text)?.[1] ?? NaN);
  return { syscr: field("syscr"), syscw: field("syscw") };
}

export default defineDrive<Params>(async (ctx) => {
  const p = ctx.params;
  switch (p.mode) {
    case "predictions":
      return { sleeps: studentValue(ctx, "PREDICTED_CONSUMER_SLEEPS_PER_1000") ?? null };
    case "send-frames": {
      const side = studentSide(ctx, p.path);
      for (const m of p.messages) side.send(new Uint8Array(m));
      return { sent: p.messages.length };
    }
    case "receive-frames": {
      const side = studentSide(ctx, p.path);
      const got: number[][] = [];
      for (let i = 0; i < 10_000; i++) {
        const m = side.receive();
        if (m === null) break;
        got.push(Array.from(m));
      }
      const after: (number[] | null)[] = [];
      for (let i = 0; i < p.extra; i++) {
        const m = side.receive();
        after.push(m === null ? null : Array.from(m));
      }
      return { got, after };
    }
    case "too-big": {
      const side = studentSide(ctx, p.path);
      const cap = p.capacity;
      let threw: string | null = null;
      await ctx.checkpoint("trying", { size: cap - 3 });
      try {
        side.send(new Uint8Array(cap - 3));
      } catch (err) {
        threw = err instanceof Error ? err.name : String(err);
      }
      await ctx.checkpoint("exact", { size: cap - 4 });
      side.send(new Uint8Array(cap - 4).fill(0x5a));
      return { threw };
    }
    case "send-one": {
      const side = studentSide(ctx, p.path);
      const message = new Uint8Array(p.length).fill(p.fill);
      await ctx.checkpoint("ready");
      side.send(message);
      return { sent: 1 };
    }
    case "sleep-on-head": {
      // A consumer asleep on head. It raises no flag itself: the checker raises
      // CONSUMER_SLEEPING at the instant of its choosing (see the check).
      const m = mapFile(p.path, { access: "readwrite" });
      const h = new Int32Array(m.bytes.buffer, 0, DATA_OFFSET / 4);
      await ctx.checkpoint("ready");
      const seen = Atomics.load(h, HEAD);
      const slept = sys.futexWait(h, HEAD, seen);
      return { slept, head: Atomics.load(h, HEAD) >>> 0, seen: seen >>> 0 };
    }
    case "producer": {
      const side = p.who === "student" ? studentSide(ctx, p.path) : new InstructorRing(p.path);
      const messages = messagesOf(p.plan);
      const pause = pauser(p.plan);
      const park = new Set(p.plan.parkAt ?? []);
      await ctx.checkpoint("ready");
      const start = performance.now();
      const slept0 = sleeps();
      if (park.size === 0 && p.plan.pauseEvery === 0) {
        for (let i = 0; i < messages.length; i++) side.send(messages[i]); // flat out
      } else {
        for (let i = 0; i < messages.length; i++) {
          if (park.has(i)) await ctx.checkpoint("park", { i });
          await pause();
          side.send(messages[i]);
        }
      }
      side.close();
      return { sent: messages.length, ms: performance.now() - start, slept: sleeps() - slept0 };
    }
    case "consumer": {
      const side = p.who === "student" ? studentSide(ctx, p.path) : new InstructorRing(p.path);
      const expected = messagesOf(p.plan);
      let count = 0;
      if (side instanceof InstructorRing) {
        side.expectNext = (m) => count < expected.length && sameBytes(m, expected[count]);
      }
      const pause = pauser(p.plan);
      const park = new Set(p.plan.parkAt ?? []);
      await ctx.checkpoint("ready");
      const got: Uint8Array[] = [];
      const slept0 = sleeps();
      const io0 = p.measureIo ? ioCounters() : undefined;
      const io1 = p.measureIo ? ioCounters() : undefined; // the cost of one look
      let first = 0;
      // Flat out (the speed run): check each message at once and keep none,
      // like the pipe's consumer. Otherwise keep them all and check at the end.
      const flatOut = park.size === 0 && p.plan.pauseEvery === 0;
      const rightThen = new Set<number>();
      const fileSize = Deno.statSync(p.path).size;
      let viewSeen = false;
      let firstBad: { index: number; message: Uint8Array } | undefined;
      for (;;) {
        if (!flatOut) {
          if (park.has(count)) await ctx.checkpoint("park", { i: count });
          await pause();
        }
        const m = side.receive();
        if (m === null) break;
        if (count === 0) first = performance.now();
        if (!(m instanceof Uint8Array)) {
          throw new TypeError(
            `receive returned ${Object.prototype.toString.call(m)}, not a Uint8Array or null`,
          );
        }
        if (!flatOut) {
          got.push(m);
          // Right now, or not? A view into the ring is right now and wrong later (or wrong
          // already, when the producer was quick): its buffer is the whole mapped file.
          if (count < expected.length && sameBytes(m, expected[count])) rightThen.add(count);
          if (m.buffer.byteLength === fileSize && m.byteOffset >= DATA_OFFSET) viewSeen = true;
        } else if (!firstBad && (count >= expected.length || !sameBytes(m, expected[count]))) {
          firstBad = { index: count, message: m.slice() };
        }
        count++;
        if (count > expected.length + 16) break;
      }
      const ms = performance.now() - first;
      const io2 = p.measureIo ? ioCounters() : undefined;
      const slept = sleeps() - slept0;
      const nullAgain = count > expected.length ? true : side.receive() === null;
      // Kept messages are checked only now: one that was a view into the ring
      // (not a copy) has been overwritten by later ones by this time.
      let verdict: Verdict;
      if (!flatOut) {
        verdict = verify(got, expected);
        if (verdict.bad && rightThen.has(verdict.bad.index)) {
          verdict.bad.reason = `it was right when receive() returned it, and changed later ` +
            `(${verdict.bad.reason}): a view into the ring, overwritten once tail moved on`;
        } else if (verdict.bad && viewSeen) {
          verdict.bad.reason += "; receive() returned views into the ring's own memory " +
            "(their buffer is the whole mapped file), overwritten once tail moved on";
        }
      } else if (firstBad) {
        verdict = {
          ...verify([...expected.slice(0, firstBad.index), firstBad.message], expected),
          received: count,
        };
      } else verdict = { ...verify(expected.slice(0, count), expected), received: count };
      const io = io0 && io1 && io2
        ? {
          reads: Math.max(0, io2.syscr - io1.syscr - (io1.syscr - io0.syscr)),
          writes: Math.max(0, io2.syscw - io1.syscw - (io1.syscw - io0.syscw)),
        }
        : undefined;
      return { ...verdict, nullAgain, ms, io, slept };
    }
    case "pipe-producer": {
      withoutRecording(() => sys.mkfifo(p.fifo, 0o600));
      const messages = messagesOf(p.plan);
      const frames = messages.map((m) => {
        const f = new Uint8Array(4 + m.length);
        new DataView(f.buffer).setUint32(0, m.length, true);
        f.set(m, 4);
        return f;
      });
      await ctx.checkpoint("ready");
      using pipe = Deno.openSync(p.fifo, { write: true });
      const io0 = ioCounters();
      const start = performance.now();
      for (const f of frames) {
        let done = 0;
        while (done < f.length) done += pipe.writeSync(f.subarray(done)); // one write() per message
      }
      const ms = performance.now() - start;
      const io1 = ioCounters();
      return { ms, writes: io1.syscw - io0.syscw };
    }
    case "pipe-consumer": {
      const expected = messagesOf(p.plan);
      await ctx.checkpoint("ready");
      using pipe = Deno.openSync(p.fifo, { read: true });
      const io0 = ioCounters();
      const chunk = new Uint8Array(65536);
      let pending = new Uint8Array(0);
      let count = 0;
      let firstBad: { index: number; message: Uint8Array } | undefined;
      let first = 0;
      for (;;) {
        const n = pipe.readSync(chunk);
        if (n === null) break;
        if (first === 0) first = performance.now();
        const all = new Uint8Array(pending.length + n);
        all.set(pending, 0);
        all.set(chunk.subarray(0, n), pending.length);
        let at = 0;
        const view = new DataView(all.buffer);
        while (all.length - at >= 4) {
          const length = view.getUint32(at, true);
          if (all.length - at < 4 + length) break;
          const m = all.slice(at + 4, at + 4 + length); // a copy per message, as receive() makes
          if (!firstBad && (count >= expected.length || !sameBytes(m, expected[count]))) {
            firstBad = { index: count, message: m };
          }
          count++;
          at += 4 + length;
        }
        pending = all.slice(at);
      }
      const ms = performance.now() - first;
      const io1 = ioCounters();
      const verdict = firstBad
        ? verify([...expected.slice(0, firstBad.index), firstBad.message], expected)
        : verify(expected.slice(0, count), expected);
      return { ...verdict, ms, reads: io1.syscr - io0.syscr };
    }
  }
});
