/**
 * Checks of lab 08: a single-producer single-consumer ring buffer in a
 * shared file mapping.
 *
 * Evidence: the ring file's bytes (frames, head, tail), read by the checker;
 * messages generated from a seed on both sides, so the receiving side (the
 * instructor's code) knows what each must be; the student's producer and
 * consumer meeting the instructor's own, which follows the wire format
 * exactly; and what the kernel says about a waiting side
 * (`/proc/PID/syscall`: asleep in `futex` on the ring's head or tail word;
 * `/proc/PID/stat`: state and CPU). Each "must wait" and "must wake" is
 * staged with checkpoints, so it is tested every run, not when lucky.
 *
 * @module
 */

import {
  asleepInFutex,
  type CheckContext,
  type ChildHandle,
  type ChildResult,
  defineChecks,
  describeOutcome,
  hex,
  isStopped,
  mapFile,
  type Mapping,
  type ProcessState,
  processState,
  procMaps,
  reach,
  readAt,
  requirePrediction,
  sleep,
  soon,
  sys,
  timesScheduled,
  until,
  type Waiting,
  watchWaiter,
  within,
} from "../../../lib/checker/mod.ts";
import {
  CAPACITY,
  CLOSE_MARK,
  CONSUMER_SLEEPING,
  DATA_OFFSET,
  HEAD,
  messagesOf,
  type Params,
  type Plan,
  PRODUCER_SLEEPING,
  TAIL,
  type Verdict,
} from "./drive.ts";

// ---------------------------------------------------------------------------
// Ring files

interface RingFile {
  path: string;
  capacity: number;
  start: number;
  header: Int32Array;
  mapping: Mapping;
  head(): number;
  tail(): number;
  used(): number;
}

/** Creates a ring file: header page (head = tail = `start`), then `capacity` random bytes. */
function makeRing(ctx: CheckContext, name: string, capacity: number, start: number): RingFile {
  const bytes = new Uint8Array(DATA_OFFSET + capacity);
  bytes.set(ctx.random.bytes(capacity), DATA_OFFSET); // stale garbage, as in a reused ring
  const h = new Int32Array(bytes.buffer, 0, DATA_OFFSET / 4);
  h[HEAD] = start | 0;
  h[TAIL] = start | 0;
  h[CAPACITY] = capacity;
  const path = ctx.file(name, bytes);
  const mapping = mapFile(path); // read-only, shared: the checker only looks
  const header = new Int32Array(mapping.bytes.buffer, 0, DATA_OFFSET / 4);
  const head = () => Atomics.load(header, HEAD) >>> 0;
  const tail = () => Atomics.load(header, TAIL) >>> 0;
  return {
    path,
    capacity,
    start: start >>> 0,
    header,
    mapping,
    head,
    tail,
    used: () => (head() - tail()) >>> 0,
  };
}

function basePlan(ctx: CheckContext, capacity: number, count: number): Plan {
  return {
    seed: ctx.random.int(1, 2 ** 31 - 1),
    count,
    maxLen: capacity - 4,
    typicalLen: Math.max(8, capacity >> 2),
    pauseEvery: 40,
    pauseMaxMs: 3,
    pauseSeed: 0,
  };
}

function side(ctx: CheckContext, base: Plan, parkAt?: number[]): Plan {
  return { ...base, pauseSeed: ctx.random.int(1, 2 ** 31 - 1), parkAt };
}

function spawn(ctx: CheckContext, params: Params, timeoutMs = 12_000): ChildHandle {
  return ctx.spawn("drive.ts", params, { timeoutMs, record: false });
}

/** The child's next checkpoint within `ms`: `"timeout"`, or `undefined` if it ended first. */
async function nextCheckpoint(child: ChildHandle, ms: number) {
  const r = await within(child.checkpoint().then((cp) => ({ cp })), ms);
  return r === undefined ? "timeout" as const : r.cp;
}

/**
 * The value of a producer's or consumer's child, or a failure saying how it
 * died; positions past 2^31 (negative as int32) get a word of their own.
 */
function sideOk(
  ctx: CheckContext,
  result: ChildResult,
  doing: string,
  ring: RingFile,
  who: Who = "student",
): unknown {
  if (result.outcome === "ok") return result.value;
  const observed = result.error?.stack ??
    (result.stderr.trim().split("\n").slice(-6).join("\n") || undefined);
  if (who === "instructor") {
    // The checker's own side only fails on what the student's side put in the ring.
    const corrupt = /corrupt/.test(result.error?.message ?? "");
    const early = /published before/.test(result.error?.message ?? "");
    return ctx.fail(
      corrupt
        ? "the checker's consumer found a corrupt frame in the ring"
        : `the checker's side (${doing}) ${describeOutcome(result)}`,
      {
        observed,
        mistake: early
          ? "head published before the frame: the checker's consumer saw a frame change after head " +
            "covered it. Write the length prefix and the bytes first, then Atomics.store(header, " +
            "HEAD, head + 4 + length)"
          : corrupt
          ? "no back-pressure: your producer wrote over frames not yet read (wait until capacity - ((head - tail) >>> 0) >= 4 + length), or wrote a wrong length prefix"
          : "the ring's header or frames were left in a state the wire format does not allow",
      },
    );
  }
  // Past 2^31, a position read signed is negative: data.set(…, negative) throws a RangeError,
  // and a negative index reads undefined. Only such an error points there.
  const high = (ring.start >= 2 ** 31 || ring.head() >= 2 ** 31 || ring.tail() >= 2 ** 31) &&
    (result.error?.name === "RangeError" || result.error?.name === "TypeError" ||
      /negative|out of (bounds|range)|undefined/i.test(result.error?.message ?? ""));
  return ctx.fail(`${doing}: your code ${describeOutcome(result)}`, {
    observed,
    mistake: high
      ? `head and tail were past 2^31 in this run (${ring.tail()} … ${ring.head()}), so Atomics.load returns them negative: ` +
        "read them with Atomics.load(header, HEAD) >>> 0 before % capacity or any comparison"
      : undefined,
  });
}

/**
 * Lost wake-ups are graded once, by construction, in `wakes-announced`. Elsewhere a
 * consumer left asleep on head with its flag up while frames wait would fail a check
 * by luck (the producer read the flag a moment too early): the checker wakes it
 * instead, counts it, and goes on, so those checks grade what they are about.
 * More than `MAX_RESCUES` is no longer luck: the conversation counts as stalled.
 */
class LostWakes {
  static readonly MAX_RESCUES = 10;
  rescued = 0;
  #since?: number;
  constructor(readonly ring: RingFile, readonly consumer: ChildHandle) {}
  /** Wakes the consumer if it has slept 200 ms with frames waiting and its flag up; `false` past the limit. */
  check(): boolean {
    const stuck = this.ring.used() >= 4 &&
      Atomics.load(this.ring.header, CONSUMER_SLEEPING) !== 0 &&
      sleepsOn(look(this.consumer.pid, this.ring), HEAD);
    if (!stuck) {
      this.#since = undefined;
      return true;
    }
    this.#since ??= performance.now();
    if (performance.now() - this.#since < 200) return true;
    if (this.rescued >= LostWakes.MAX_RESCUES) return false;
    sys.futexWake(this.ring.header, HEAD, 1);
    this.rescued++;
    this.#since = undefined;
    return true;
  }
  /** A note for the check, when the checker had to wake the consumer. */
  note(ctx: CheckContext): void {
    if (this.rescued === 0) return;
    ctx.note(
      `the checker woke the consumer ${this.rescued} time(s): it slept with its flag up while ` +
        "frames waited (a lost wake-up of the producer's; graded by wakes-announced)",
    );
  }
}

/**
 * Waits for both sides to end; a conversation in which head and tail stop
 * moving for 2 s is stalled, and `stalled` says who sleeps that should not.
 */
async function awaitBoth(
  ctx: CheckContext,
  ring: RingFile,
  producer: { child: ChildHandle; who: Who },
  consumer: { child: ChildHandle; who: Who },
  when: string,
  lostWakes?: LostWakes,
): Promise<[ChildResult, ChildResult]> {
  const both = Promise.all([producer.child.result(), consumer.child.result()]);
  // A side that dies leaves the other waiting forever: report the death at once.
  let died: [Promise<ChildResult>, string, Who] | undefined;
  producer.child.result().then((r) => {
    if (r.outcome !== "ok") died ??= [producer.child.result(), "the producer", producer.who];
  });
  consumer.child.result().then((r) => {
    if (r.outcome !== "ok") died ??= [consumer.child.result(), "the consumer", consumer.who];
  });
  let last = `${ring.head()} ${ring.tail()}`;
  let since = performance.now();
  const start = since;
  for (;;) {
    const done = await within(both, 100);
    if (done) return done;
    if (died) sideOk(ctx, await died[0], died[1], ring, died[2]);
    if (lostWakes && !lostWakes.check()) stalled(ctx, ring, producer, consumer, when);
    const now = `${ring.head()} ${ring.tail()}`;
    if (now !== last) {
      last = now;
      since = performance.now();
    } else if (performance.now() - since > 2000 || performance.now() - start > 20_000) {
      stalled(ctx, ring, producer, consumer, when);
    }
  }
}

// ---------------------------------------------------------------------------
// Watching a side from outside

interface Look {
  state: string;
  cpuTicks: number;
  /** The ring word (HEAD or TAIL) whose futex the main thread sleeps on, if any. */
  asleepOn?: number;
  /** Asleep in some futex() (any address). */
  inFutex: boolean;
  /** Whether /proc/PID/syscall was readable (so `asleepOn` is known). */
  addressKnown: boolean;
}

/** Asleep on `word`, or asleep in a futex at an address the kernel would not show us. */
function sleepsOn(l: Look | undefined, word: number): boolean {
  return l !== undefined && (l.asleepOn === word || (!l.addressKnown && l.inFutex));
}

function look(pid: number, ring: RingFile): Look | undefined {
  const seen = processState(pid);
  return seen && lookAt(seen, pid, ring);
}

/** What a look at `pid` (`seen`) means for the ring: the futex word it sleeps on, if any. */
function lookAt(seen: ProcessState, pid: number, ring: RingFile): Look {
  const out: Look = {
    state: seen.state,
    cpuTicks: seen.cpuTicks,
    inFutex: asleepInFutex(seen),
    addressKnown: seen.syscallReadable,
  };
  const address = seen.futexAddress;
  if (address !== undefined) {
    let real = ring.path;
    try {
      real = Deno.realPathSync(ring.path);
    } catch { /* keep */ }
    try {
      for (const m of procMaps(pid)) {
        if (m.path !== real) continue;
        for (const word of [HEAD, TAIL]) {
          if (address === m.start + BigInt(word * 4)) out.asleepOn = word;
        }
      }
    } catch { /* gone */ }
  }
  return out;
}

const WORD = { [HEAD]: "head", [TAIL]: "tail" } as Record<number, string>;

/** How a side was seen waiting (`other-word`: asleep on the ring's other word). */
type Wait = Waiting<"other-word" | "aborted">;

/**
 * Watches a side that should be waiting on `word` with the one waiter rule
 * (`watchWaiter`) until it is seen asleep in futex() on it, asleep on the
 * other word, spinning, ends, or `limitMs` passes. `abort` may end the watch
 * early with its own verdict (`why`).
 */
async function watchWait(
  child: ChildHandle,
  ring: RingFile,
  word: number,
  limitMs: number,
  abort?: () => string | undefined,
): Promise<Wait & { why?: string; state: string }> {
  let why: string | undefined;
  let last: Look | undefined; // this look's meaning, read once (stop comes first)
  const w = await watchWaiter<"other-word" | "aborted">(child, {
    asleep: () => sleepsOn(last, word),
    stop: (s) => {
      why = abort?.();
      if (why) return "aborted";
      last = s && lookAt(s, child.pid, ring);
      const asleepOn = last?.asleepOn;
      return asleepOn !== undefined && asleepOn !== word ? "other-word" : undefined;
    },
    limitMs,
  });
  return { ...w, why, state: w.last?.state ?? "?" };
}

type Who = "student" | "instructor";

/**
 * The conversation stalled: work out who sleeps that should not, and say what
 * the student's code forgot.
 */
function stalled(
  ctx: CheckContext,
  ring: RingFile,
  producer: { child: ChildHandle; who: Who },
  consumer: { child: ChildHandle; who: Who },
  when: string,
): never {
  const p = look(producer.child.pid, ring);
  const c = look(consumer.child.pid, ring);
  const used = ring.used();
  const free = ring.capacity - used;
  const observed =
    `${when}: head ${ring.head()}, tail ${ring.tail()} (${used} bytes waiting, ${free} free); ` +
    `producer ${
      p
        ? `state ${p.state}${
          p.asleepOn !== undefined ? `, asleep in futex on ${WORD[p.asleepOn]}` : ""
        }`
        : "ended"
    }; ` +
    `consumer ${
      c
        ? `state ${c.state}${
          c.asleepOn !== undefined ? `, asleep in futex on ${WORD[c.asleepOn]}` : ""
        }`
        : "ended"
    }`;
  // The sleeping flags, as the file holds them now, say who broke the rule.
  const consumerAnnounced = Atomics.load(ring.header, CONSUMER_SLEEPING) !== 0;
  const producerAnnounced = Atomics.load(ring.header, PRODUCER_SLEEPING) !== 0;
  const flags = `; CONSUMER_SLEEPING = ${Number(consumerAnnounced)}, PRODUCER_SLEEPING = ${
    Number(producerAnnounced)
  }`;
  if (sleepsOn(c, HEAD) && used >= 4) {
    const lostWake = "after publishing head, look at header[CONSUMER_SLEEPING] and, if it is 1, " +
      "call sys.futexWake(header, HEAD, 1). Look at the flag after the store of head, never " +
      "before: a flag read before publishing misses a consumer that falls asleep in between " +
      "(a lost wake-up)";
    ctx.fail(`the consumer sleeps although ${used} bytes of messages wait for it`, {
      expected: "a consumer asleep on head is woken as soon as a frame is published",
      observed: observed + flags,
      mistake: !consumerAnnounced && consumer.who === "student"
        ? "receive() went to sleep without announcing it (CONSUMER_SLEEPING is 0): store 1 in header[CONSUMER_SLEEPING] before sys.futexWait(header, HEAD, seen) (and look at head once more in between), so the producer knows to wake you"
        : producer.who === "student"
        ? `send() never woke the sleeping consumer, which had announced it (CONSUMER_SLEEPING is 1): ${lostWake}`
        : "receive() went to sleep on head although frames were there: look at head once more after storing the flag, and sleep with sys.futexWait(header, HEAD, seen) only while head still equals seen",
    });
  }
  if (sleepsOn(p, TAIL) && (c === undefined || c.state === "S") && used < 4) {
    const fits = "send() waits although the frame fits: an empty ring has room for a frame of " +
      "exactly capacity bytes, so wait only while capacity - used < 4 + length (keeping a byte " +
      "free, or waiting while free <= need, makes a frame of capacity - 4 bytes wait forever)";
    ctx.fail(`the producer sleeps on a drained ring (${free} bytes free)`, {
      expected: "a producer asleep on tail is woken as soon as the consumer frees space",
      observed: observed + flags,
      mistake: !producerAnnounced && producer.who === "student"
        ? "send() went to sleep without announcing it (PRODUCER_SLEEPING is 0): store 1 in header[PRODUCER_SLEEPING] before sys.futexWait(header, TAIL, seen), so the consumer knows to wake you"
        : consumer.who === "instructor"
        ? fits
        : producer.who === "instructor"
        ? "receive() never woke the sleeping producer: after moving tail, if header[PRODUCER_SLEEPING] is 1, call sys.futexWake(header, TAIL, 1)"
        : `receive() never woke the sleeping producer (after moving tail, if header[PRODUCER_SLEEPING] is 1, call sys.futexWake(header, TAIL, 1)), or ${fits}`,
    });
  }
  ctx.fail("the producer and the consumer stopped making progress", {
    observed,
    mistake:
      "a wait that nobody ends: check both sleeping flags and both wakes, and the free-space arithmetic ((head - tail) >>> 0)",
  });
}

function checkVerdict(ctx: CheckContext, v: Verdict & { nullAgain?: boolean }, ring: RingFile) {
  if (v.bad) {
    ctx.fail(`message ${v.bad.index} arrived wrong: ${v.bad.reason}`, {
      expected: "every message once, in order, byte for byte",
      observed: `${v.received} received; message ${v.bad.index}: ${v.bad.reason}`,
      mistake: /changed later|views into the ring/.test(v.bad.reason)
        ? "receive() returned a view into the ring (subarray), not a copy: once tail moves on, " +
          "the producer writes the next frames over it. Return a copy: slice(), or a new Uint8Array " +
          "filled from the ring"
        : /wrong bytes|instead of/.test(v.bad.reason)
        ? "wrap-around: a frame (its 4-byte length too) may run past the end of the data area and go on at its start; copy in two pieces. Or receive() returned a view into the ring (subarray) that later messages overwrote: return a copy"
        : /lost|twice/.test(v.bad.reason)
        ? "head or tail moved by the wrong amount (4 + length), or published before the frame was complete"
        : "a frame boundary went wrong: the length prefix is a little-endian u32, and the close mark is 0xFFFFFFFF",
    });
  }
  if (v.nullAgain === false) {
    ctx.fail("after returning null once, receive() returned a message", {
      mistake:
        "leave the close mark in the ring (do not move tail past it), so every later call sees it",
    });
  }
  const head = ring.head();
  const tail = ring.tail();
  if (((head - tail) >>> 0) !== 4) {
    ctx.fail("head and tail do not end where they should", {
      expected: `tail 4 bytes short of head (the close mark left in the ring): head ${head}, tail ${
        (head - 4) >>> 0
      }`,
      observed: `head ${head}, tail ${tail}`,
      mistake: "tail must move by 4 + length per message, and stop before the close mark",
    });
  }
}

/**
 * A producer and a consumer, one of them (or both) the student's, staged:
 * the consumer first falls asleep on the empty ring; the producer sends a few
 * messages (the consumer must be woken), stops (the consumer must drain and
 * sleep again), goes on while the consumer stops (the producer must sleep on
 * the full ring), then both run to the end with random pauses.
 */
async function conversation(
  ctx: CheckContext,
  who: { producer: Who; consumer: Who },
  ringName: string,
  start: number,
  capacity: number,
) {
  const ring = makeRing(ctx, ringName, capacity, start);
  using _ = ring.mapping;
  const base = basePlan(ctx, capacity, ctx.random.int(300, 600));
  const j0 = ctx.random.int(3, 8);
  const j1 = j0 + ctx.random.int(5, 20);
  const consumer = spawn(ctx, {
    mode: "consumer",
    who: who.consumer,
    path: ring.path,
    plan: side(ctx, base, [j1]),
  });
  const producer = spawn(ctx, {
    mode: "producer",
    who: who.producer,
    path: ring.path,
    plan: side(ctx, base, [j0]),
  });
  const P = { child: producer, who: who.producer };
  const C = { child: consumer, who: who.consumer };
  const lostWakes = who.producer === "student" ? new LostWakes(ring, consumer) : undefined;
  await reach(ctx, consumer, "ready", "openRing in the consumer");
  await reach(ctx, producer, "ready", "openRing in the producer");

  // 1. The consumer meets an empty ring: it must fall asleep on head.
  await consumer.resume();
  const w1 = await watchWait(consumer, ring, HEAD, 2500);
  if (w1.kind !== "asleep") {
    if (w1.kind === "ended") {
      const r = sideOk(
        ctx,
        await consumer.result(),
        "receive on an empty ring",
        ring,
        who.consumer,
      ) as Verdict;
      ctx.fail("receive() returned on an empty ring that nobody had closed", {
        expected:
          "receive() waits (asleep in futex on head) until a message or the close mark arrives",
        observed: `the consumer ended after ${r.received} messages`,
        mistake: 'returning null for "empty": null means closed; an empty ring means wait',
      });
    }
    ctx.fail("the consumer does not sleep while the ring is empty", {
      expected: "asleep in futex() on the head word (/proc/PID/syscall), using no CPU",
      observed: `${
        w1.kind === "other-word" ? "asleep on another word" : w1.kind
      }: state ${w1.state}, ${w1.cpuMs} ms of CPU`,
      mistake: who.consumer === "student"
        ? "receive() spins (or waits on the wrong word): after a short spin, set CONSUMER_SLEEPING and sys.futexWait(header, HEAD, seen)"
        : "the checker's consumer did not fall asleep (a checker problem: report it)",
    });
  }

  // 2. The producer sends j0 messages: the sleeping consumer must be woken.
  await producer.resume();
  const parked = await nextCheckpoint(producer, 4000);
  if (parked === "timeout") stalled(ctx, ring, P, C, `before message ${j0}`);
  if (parked?.name !== "park") {
    sideOk(ctx, await producer.result(), "send", ring, who.producer);
    ctx.fail(`the producer ended before message ${j0}`);
  }
  let gaveUp = false;
  const drained = await until(() => {
    gaveUp = lostWakes !== undefined && !lostWakes.check();
    return gaveUp || (ring.used() === 0 && sleepsOn(look(consumer.pid, ring), HEAD));
  }, 2500);
  if (gaveUp) stalled(ctx, ring, P, C, `after ${j0} messages, with the producer stopped`);
  if (!drained) {
    if (consumer.ended) {
      const r = sideOk(ctx, await consumer.result(), "receive", ring, who.consumer) as Verdict;
      checkVerdict(ctx, r, ring);
    }
    stalled(ctx, ring, P, C, `after ${j0} messages, with the producer stopped`);
  }

  // 3. The consumer stops after j1 messages: the producer must wait on the full ring.
  await producer.resume();
  const cparked = await nextCheckpoint(consumer, 4000);
  if (cparked === "timeout") stalled(ctx, ring, P, C, `before the consumer reached message ${j1}`);
  if (cparked?.name !== "park") {
    if (producer.ended) sideOk(ctx, await producer.result(), "send", ring, who.producer);
    const r = sideOk(ctx, await consumer.result(), "receive", ring, who.consumer) as Verdict;
    checkVerdict(ctx, r, ring);
    ctx.fail(`the consumer ended after ${r.received} messages, before message ${j1}`);
  }
  const w3 = await watchWait(producer, ring, TAIL, 2500, () => {
    const used = ring.used();
    return used > ring.capacity ? `${used} bytes in a ${ring.capacity}-byte ring` : undefined;
  });
  if (w3.kind === "aborted" || w3.kind === "ended") {
    if (w3.kind === "ended") sideOk(ctx, await producer.result(), "send", ring, who.producer);
    ctx.fail("the producer wrote over messages the consumer had not read", {
      expected:
        `send() waits while a frame does not fit (capacity ${ring.capacity} minus the bytes in use)`,
      observed: w3.kind === "aborted"
        ? w3.why
        : `the producer sent all ${base.count} messages while the consumer was stopped`,
      mistake:
        "no back-pressure: before writing, wait until capacity - ((head - tail) >>> 0) >= 4 + message.length",
    });
  }
  if (w3.kind !== "asleep") {
    ctx.fail("the producer does not sleep while the ring is full", {
      expected: "asleep in futex() on the tail word, using no CPU",
      observed: `${
        w3.kind === "other-word" ? "asleep on another word" : w3.kind
      }: state ${w3.state}, ${w3.cpuMs} ms of CPU`,
      mistake: who.producer === "student"
        ? "send() spins while the ring is full (or waits on the wrong word): set PRODUCER_SLEEPING, then sys.futexWait(header, TAIL, seen)"
        : "the checker's producer did not fall asleep (a checker problem: report it)",
    });
  }
  const fullUsed = ring.used();

  // 4. The consumer goes on: the producer must be woken; both run to the end.
  await consumer.resume();
  const [pr, cr] = await awaitBoth(ctx, ring, P, C, "in the last stretch", lostWakes);
  lostWakes?.note(ctx);
  sideOk(ctx, pr, "the producer", ring, who.producer);
  const verdict = sideOk(ctx, cr, "the consumer", ring, who.consumer) as Verdict & {
    nullAgain: boolean;
  };
  checkVerdict(ctx, verdict, ring);
  return { count: base.count, ring, fullUsed, j0, j1 };
}

/**
 * The student's producer and consumer through `ring`, each with its own
 * pauses, both started at once; their results, once both have ended (a
 * consumer left asleep by a lost wake-up is woken, and the note says so).
 */
async function studentPair(
  ctx: CheckContext,
  ring: RingFile,
  base: Plan,
  options: {
    measureIo?: boolean;
    /** What differs in one side's plan (its pauses, say). */
    producer?: Partial<Plan>;
    consumer?: Partial<Plan>;
  } = {},
): Promise<[ChildResult, ChildResult]> {
  const consumer = spawn(ctx, {
    mode: "consumer",
    who: "student",
    path: ring.path,
    plan: { ...side(ctx, base), ...options.consumer },
    ...(options.measureIo ? { measureIo: true } : {}),
  });
  const producer = spawn(ctx, {
    mode: "producer",
    who: "student",
    path: ring.path,
    plan: { ...side(ctx, base), ...options.producer },
  });
  await reach(ctx, consumer, "ready", "openRing in the consumer");
  await reach(ctx, producer, "ready", "openRing in the producer");
  await consumer.resume();
  await producer.resume();
  const lostWakes = new LostWakes(ring, consumer);
  const both = await awaitBoth(
    ctx,
    ring,
    { child: producer, who: "student" },
    { child: consumer, who: "student" },
    "midway",
    lostWakes,
  );
  lostWakes.note(ctx);
  return both;
}

function startNear(ctx: CheckContext, edge: number, capacity: number): number {
  return (edge - ctx.random.int(1, capacity * 2)) >>> 0;
}

function frameBytes(messages: number[][]): number[] {
  const out: number[] = [];
  for (const m of messages) {
    out.push(m.length & 255, (m.length >>> 8) & 255, (m.length >>> 16) & 255, m.length >>> 24);
    out.push(...m);
  }
  return out;
}

/** Bytes as the checks show them: spaced hex, the first 24 only. */
const SPACED = { separator: " ", max: 24 };

/** One ring for send-frames: frames that start `gap` bytes before the end of the data area. */
async function sendFrames(ctx: CheckContext, gap: number) {
  const capacity = ctx.random.pick([256, 512, 1024]);
  const start = (ctx.random.int(1, 50) * capacity + capacity - gap) >>> 0;
  const ring = makeRing(ctx, `send-${gap}.ring`, capacity, start);
  using _ = ring.mapping;
  const messages = Array.from(
    { length: ctx.random.int(3, 5) },
    (_, i) => Array.from(ctx.random.bytes(ctx.random.int(i === 0 ? 6 : 0, capacity >> 3))),
  );
  const result = await ctx.run(
    "drive.ts",
    { mode: "send-frames", path: ring.path, messages } satisfies Params,
    { timeoutMs: 15_000 },
  );
  if (result.outcome === "timeout") {
    ctx.fail("send() never returned, with plenty of room in the ring", {
      mistake: "the free-space test waits forever: free = capacity - ((head - tail) >>> 0)",
    });
  }
  if (result.outcome === "threw" && result.error?.name === "RangeError") {
    ctx.fail(`send: your code threw RangeError: ${result.error.message}`, {
      observed: result.error.stack,
      mistake: `the first frame starts ${gap} byte(s) before the end of the data area: ` +
        "writing past the end throws; the rest of a frame goes on at data[0]",
    });
  }
  ctx.expectOk(result, "send");
  const expected = frameBytes(messages);
  const data = Deno.readFileSync(ring.path).subarray(DATA_OFFSET);
  const got = expected.map((_, i) => data[(start + i) % capacity]);
  const at = expected.findIndex((b, i) => got[i] !== b);
  if (at === 0 && ring.head() === ring.start) {
    ctx.fail("send() wrote nothing: the data area and head are as the checker left them", {
      expected: `${messages.length} frames from data[${
        start % capacity
      }] on, and head moved by ${expected.length}`,
      observed: `head still ${ring.start}`,
      mistake: "send() is still empty, or writes to a copy of the file instead of the mapping",
    });
  }
  if (at >= 0) {
    ctx.fail("the bytes in the data area are not the frames", {
      expected: `from data[${start % capacity}] on (wrapping to data[0] after ${gap} bytes): ${
        hex(expected, SPACED)
      }`,
      observed: hex(got, SPACED),
      mistake: at >= gap
        ? `byte ${at} of the stream (past the end of the data area) is wrong: a frame that reaches the end goes on at data[0]`
        : at < 4 && gap < 4
        ? `the first length prefix runs off the end of the data area after ${gap} byte(s): its other bytes go on at data[0] (and it is 4 bytes, little-endian)`
        : at < 4
        ? "the length prefix: 4 bytes, little-endian (least significant first), before the bytes"
        : "the frames are not where head says: write at data[head % capacity] (head as unsigned: >>> 0)",
    });
  }
  const head = ring.head();
  ctx.expectEqual(head, (start + expected.length) >>> 0, {
    what: "head in the file after the sends",
    mistake: head === ring.start
      ? "head never moved: publish each frame with Atomics.store(header, HEAD, head + 4 + length)"
      : "head must move by 4 + length per message",
  });
  ctx.expectEqual(ring.tail(), ring.start, {
    what: "tail (only the consumer moves it)",
    mistake: "send() must not touch tail",
  });
}

/** One ring for receive-frames: frames (and the close mark) starting `gap` bytes before the end. */
async function receiveFrames(ctx: CheckContext, gap: number) {
  const capacity = ctx.random.pick([256, 512, 1024]);
  const messages = Array.from(
    { length: ctx.random.int(3, 6) },
    (_, i) => Array.from(ctx.random.bytes(ctx.random.int(i === 0 ? 6 : 0, capacity >> 3))),
  );
  const stream = [...frameBytes(messages), 255, 255, 255, 255];
  const start = (ctx.random.int(1, 50) * capacity + capacity - gap) >>> 0;
  const ring = makeRing(ctx, `receive-${gap}.ring`, capacity, start);
  ring.mapping.unmap();
  // Write the frames (wrapping) and head into the file, as a producer would.
  const file = Deno.readFileSync(ring.path);
  stream.forEach((b, i) => file[DATA_OFFSET + (start + i) % capacity] = b);
  new Int32Array(file.buffer, 0, 64)[HEAD] = (start + stream.length) | 0;
  Deno.writeFileSync(ring.path, file);
  const result = await ctx.run(
    "drive.ts",
    { mode: "receive-frames", path: ring.path, extra: 2 } satisfies Params,
    { timeoutMs: 15_000 },
  );
  if (result.outcome === "timeout") {
    ctx.fail("receive() never returned, with messages and a close mark in the ring", {
      mistake:
        'the test for "something to read" waits forever: bytes available = (head - tail) >>> 0',
    });
  }
  if (result.outcome === "threw" && result.error?.name === "RangeError") {
    ctx.fail(`receive: your code threw RangeError: ${result.error.message}`, {
      observed: result.error.stack,
      mistake: `the first frame starts ${gap} byte(s) before the end of the data area: ` +
        "reading past the end throws; the rest of a frame goes on at data[0]",
    });
  }
  const { got, after } = ctx.expectOk(result, "receive") as {
    got: number[][];
    after: (number[] | null)[];
  };
  for (let i = 0; i < messages.length; i++) {
    if (i >= got.length) {
      ctx.fail(`receive() returned null after ${got.length} of ${messages.length} messages`, {
        mistake:
          "null only for the close mark (length 0xFFFFFFFF); an empty message (length 0) is a message",
      });
    }
    ctx.expectEqual(hex(got[i], { ...SPACED, max: 64 }), hex(messages[i], { ...SPACED, max: 64 }), {
      what: `message ${i} (${
        messages[i].length
      } bytes; the first frame starts ${gap} bytes before the end)`,
      mistake:
        "the length is a little-endian u32 before the bytes, and a frame (its length too) may go on at data[0] after the end of the data area",
    });
  }
  if (got.length > messages.length) {
    ctx.fail(`receive() returned ${got.length} messages, ${messages.length} were sent`, {
      mistake: "the close mark (length 0xFFFFFFFF) means: return null",
    });
  }
  ctx.expectEqual(after, [null, null], {
    what: "receive() after the close mark, twice",
    mistake:
      "leave the close mark in the ring (do not move tail past it), so every later call returns null",
  });
  const fresh = new Int32Array(Deno.readFileSync(ring.path).buffer, 0, 64);
  ctx.expectEqual(fresh[TAIL] >>> 0, (start + stream.length - 4) >>> 0, {
    what: "tail in the file after the last message",
    mistake: "tail must move by 4 + length per message (and stay before the close mark)",
  });
}

// ---------------------------------------------------------------------------
// Frozen at any instant: the producer publishes whole frames only

/**
 * Polls `cond` until it holds (true) or `ms` pass (false): busily for the first
 * 0.3 ms, then every millisecond, so that a child waiting for a CPU on a busy
 * machine gets this one.
 */

/**
 * Follows what a producer publishes, from the ring file's bytes read with
 * read() (nothing mapped): every frame between the last look and `head` must
 * be the next message, whole. No consumer runs: the ring is big enough for
 * every message, and starts at a multiple of its capacity, so no frame wraps.
 */
class PublishedFrames {
  #file: Deno.FsFile;
  #pos: number;
  index = 0;
  closed = false;
  constructor(path: string, readonly start: number, readonly messages: Uint8Array[]) {
    this.#file = Deno.openSync(path, { read: true });
    this.#pos = start;
  }
  #read(at: number, length: number): Uint8Array {
    return readAt(this.#file, at, length);
  }
  head(): number {
    const b = this.#read(HEAD * 4, 4);
    return new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
  }
  /** Checks the frames published since the last step; the first one not whole, in words. */
  step(): string | undefined {
    const head = this.head();
    const fresh = head - this.#pos;
    if (fresh === 0) return undefined;
    if (fresh < 0) return `head went back from ${this.#pos} to ${head}`;
    const bytes = this.#read(DATA_OFFSET + this.#pos - this.start, fresh);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    let at = 0;
    while (at < bytes.length) {
      const where = `frame ${this.index} (stream position ${this.#pos + at})`;
      if (this.closed) return `head ${head} moved past the close mark`;
      if (bytes.length - at < 4) {
        return `head ${head} ends inside the length prefix of ${where}`;
      }
      const length = view.getUint32(at, true);
      if (this.index >= this.messages.length) {
        if (length !== CLOSE_MARK) {
          return `${where} has length ${length}, but all ${this.messages.length} messages were sent: the close mark (0xFFFFFFFF) was due`;
        }
        this.closed = true;
        at += 4;
        continue;
      }
      const message = this.messages[this.index];
      if (length !== message.length) {
        return `${where} has length ${length} in its prefix, but message ${this.index} is ${message.length} bytes long: the prefix was not written yet`;
      }
      if (bytes.length - at - 4 < length) {
        return `head ${head} ends inside the bytes of ${where}`;
      }
      const wrong = message.findIndex((b, k) => bytes[at + 4 + k] !== b);
      if (wrong >= 0) {
        return `${where}: the length is right (${length}), but its bytes are not message ${this.index} from byte ${wrong} on: they were not written yet`;
      }
      at += 4 + length;
      this.index++;
    }
    this.#pos = head;
    return undefined;
  }
  close(): void {
    this.#file.close();
  }
}

interface FrozenProducer {
  freezes: number;
  sent: number;
  /** The first frame not whole, seen with the producer frozen. */
  torn?: string;
  /** What is wrong with the frames once the producer finished. */
  wrongAfter?: string;
  producer: ChildResult;
}

/**
 * The student's producer sends a few thousand messages flat out into a ring
 * big enough for all of them (no consumer, no waiting); the checker freezes it
 * (SIGSTOP) at random instants and, while it is frozen, reads every frame
 * published since the last freeze from the file: each must be whole. A
 * producer that publishes head before the frame's bytes are in place shows a
 * frame that is not whole whenever a freeze lands between the two.
 */
const FROZEN_CAPACITY = 1 << 25;

/** The messages for the frozen-producer rounds: as many as fit the ring, close mark included. */
function frozenPlan(ctx: CheckContext): { plan: Plan; messages: Uint8Array[] } {
  const plan: Plan = {
    seed: ctx.random.int(1, 2 ** 31 - 1),
    count: 0,
    maxLen: 4096,
    typicalLen: 2048,
    pauseEvery: 0, // flat out: an await per message would dilute the window (measured)
    pauseMaxMs: 1,
    pauseSeed: 0,
  };
  // The average frame is about 4 + 1100 bytes: 32 MiB holds about 30,000.
  const all = messagesOf({ ...plan, count: FROZEN_CAPACITY >> 9 });
  let bytes = 4;
  let count = 0;
  while (count < all.length && bytes + 4 + all[count].length <= FROZEN_CAPACITY) {
    bytes += 4 + all[count].length;
    count++;
  }
  return { plan: { ...plan, count }, messages: all.slice(0, count) };
}

async function frozenProducer(
  ctx: CheckContext,
  round: number,
  { plan, messages }: { plan: Plan; messages: Uint8Array[] },
): Promise<FrozenProducer> {
  const capacity = FROZEN_CAPACITY;
  // Positions well below 2^31, at a multiple of the capacity: no frame wraps.
  const start = ctx.random.int(1, 62) * capacity; // + 32 MiB stays below 2^31
  const file = new Uint8Array(DATA_OFFSET + capacity);
  // Stale garbage, as in a reused ring (64 KiB of random bytes over and over).
  const garbage = ctx.random.bytes(65536);
  for (let at = DATA_OFFSET; at < file.length; at += garbage.length) file.set(garbage, at);
  const h = new Int32Array(file.buffer, 0, DATA_OFFSET / 4);
  h[HEAD] = start;
  h[TAIL] = start;
  h[CAPACITY] = capacity;
  const path = ctx.file(`frozen-${round}.ring`, file);
  const producer = spawn(ctx, { mode: "producer", who: "student", path, plan }, 20_000);
  if (!(await producer.checkpoint())) {
    return { freezes: 0, sent: 0, producer: await producer.result() };
  }
  const frames = new PublishedFrames(path, start, messages);
  let freezes = 0;
  let torn: string | undefined;
  try {
    await producer.resume();
    let scheduled: number | undefined = -1; // no wait before the first freeze
    // At most 10 s of freezing per producer: on a machine this busy, let it finish.
    const deadline = performance.now() + 10_000;
    while (!torn && !producer.ended && freezes < 400 && performance.now() < deadline) {
      // Let it run: until it is back on a CPU, then 5–100 µs more (a timer would be
      // too coarse), then freeze it wherever it is.
      await soon(() => (timesScheduled(producer.pid) ?? Infinity) > (scheduled ?? -1), 200);
      const runFor = performance.now() + ctx.random.int(5, 100) / 1000;
      while (performance.now() < runFor) { /* the producer runs */ }
      producer.kill("SIGSTOP");
      const frozen = await soon(() => isStopped(producer.pid) !== false, 300) &&
        isStopped(producer.pid) === true;
      scheduled = timesScheduled(producer.pid);
      if (frozen) {
        freezes++;
        torn = frames.step();
      }
      producer.kill("SIGCONT");
    }
  } finally {
    producer.kill("SIGCONT");
  }
  if (torn) {
    producer.kill();
    frames.close();
    return { freezes, sent: frames.index, torn, producer: await producer.result() };
  }
  const result = await producer.result();
  let wrongAfter: string | undefined;
  if (result.outcome === "ok") {
    // Done: everything it sent must be there, whole, with the close mark.
    wrongAfter = frames.step();
    if (!wrongAfter && !frames.closed) {
      wrongAfter =
        `after the producer finished, head is ${frames.head()}: ${frames.index} of ${messages.length} ` +
        "frames and no close mark behind it";
    }
  }
  frames.close();
  return { freezes, sent: frames.index, wrongAfter, producer: result };
}

/** What one round of `wakes-announced` saw. */
type WakeRound =
  | { kind: "missed" } // head was published before the checker raised the flag: try again
  | { kind: "woken"; ms: number }
  | { kind: "lost"; wakes: number; head: number; start: number };

/**
 * One round of `wakes-announced`: a checker-owned consumer sleeps on head
 * with its flag down; the student's producer sends one large frame into a
 * sparse ring file (every page of it a fresh write fault, so writing it takes
 * milliseconds); as soon as the first byte of the frame appears, the checker
 * raises CONSUMER_SLEEPING, and looks at head. Head not yet moved then means
 * the producer's store of head comes after the flag: a producer that reads
 * the flag after publishing sees 1 and must wake the sleeper, every time.
 * A producer that read the flag before (or never) does not.
 */
async function wakeRound(ctx: CheckContext, round: number): Promise<WakeRound> {
  const capacity = 1 << 25;
  const length = 1 << 24; // prefix bytes 00 00 00 01
  const start = ctx.random.int(0, 4096) * 4;
  const header = new Uint8Array(DATA_OFFSET);
  const h0 = new Int32Array(header.buffer);
  h0[HEAD] = start;
  h0[TAIL] = start;
  h0[CAPACITY] = capacity;
  const path = ctx.file(`wake-${round}.ring`, header);
  Deno.truncateSync(path, DATA_OFFSET + capacity); // a hole: every page is a fresh fault
  using mapping = mapFile(path, { access: "readwrite" });
  const h = new Int32Array(mapping.bytes.buffer, 0, DATA_OFFSET / 4);
  const data = new Uint8Array(mapping.bytes.buffer, DATA_OFFSET, capacity);
  const ring: RingFile = {
    path,
    capacity,
    start,
    header: h,
    mapping,
    head: () => Atomics.load(h, HEAD) >>> 0,
    tail: () => Atomics.load(h, TAIL) >>> 0,
    used: () => (Atomics.load(h, HEAD) - Atomics.load(h, TAIL)) >>> 0,
  };

  const sleeper = spawn(ctx, { mode: "sleep-on-head", path });
  await reach(ctx, sleeper, "ready", "the checker's consumer");
  await sleeper.resume();
  const w = await watchWait(sleeper, ring, HEAD, 5000);
  if (w.kind !== "asleep") {
    ctx.fail("the checker's consumer did not fall asleep on head (a checker problem: report it)", {
      observed: `${w.kind}: state ${w.state}`,
    });
  }
  const producer = ctx.spawn("drive.ts", { mode: "send-one", path, length, fill: 0x5a }, {
    timeoutMs: 30_000,
  });
  await reach(ctx, producer, "ready", "openRing in your producer");
  await producer.resume();
  // Spin (the event loop may wait: both children run on their own) until the
  // frame's first bytes appear, whichever the producer writes first.
  const at = start % capacity;
  const watched = [at + 3, at + 4, at + 4 + length - 1];
  const began = performance.now();
  let seen = false;
  for (let i = 0; !seen; i++) {
    seen = watched.some((k) => data[k] !== 0) || Atomics.load(h, HEAD) !== start;
    if (!seen && (i & 1023) === 0) {
      if (performance.now() - began > 10_000) break;
      if (i % (1 << 20) === 0) await sleep(0); // let the children's output drain now and then
    }
  }
  Atomics.store(h, CONSUMER_SLEEPING, 1);
  const headThen = Atomics.load(h, HEAD) >>> 0;
  const result = await within(producer.result(), 30_000);
  if (!result) {
    ctx.fail(`send() of ${length} bytes into an empty ${capacity}-byte ring never returned`, {
      mistake: "the free-space test waits forever: free = capacity - ((head - tail) >>> 0)",
    });
  }
  sideOk(ctx, result, `send of one ${length}-byte message`, ring);
  if (!seen) {
    ctx.fail("send() returned, but the frame never appeared in the ring file", {
      mistake: "send() is still empty, or writes to a copy of the file instead of the mapping",
    });
  }
  if (headThen !== start) return { kind: "missed" };
  // The producer has returned: a wake it made has been made.
  const woke = await within(sleeper.result(), 3000);
  if (woke?.outcome === "ok") return { kind: "woken", ms: performance.now() - began };
  const wakes = result.calls.filter((c) => c.call === "futex" && c.args.op === "FUTEX_WAKE");
  const head = ring.head();
  sys.futexWake(h, HEAD, 1); // let the checker's consumer go
  await within(sleeper.result(), 3000);
  return { kind: "lost", wakes: wakes.length, head, start };
}

// ---------------------------------------------------------------------------

export default defineChecks([
  {
    id: "send-frames",
    title: "send writes frames into the ring file, wrapping at the end, and moves head",
    points: 2,
    hint:
      "Frame = 4-byte little-endian length + the bytes, at data[(head + i) % capacity]; then Atomics.store(header, HEAD, head + 4 + length).",
    async run(ctx) {
      // Two rings, each starting a few bytes before the end of its data area:
      // in one the first length prefix runs off the end, in the other the
      // first message's bytes do. Either way the frame goes on at data[0].
      for (const gap of [ctx.random.int(1, 3), ctx.random.int(5, 9)]) {
        await sendFrames(ctx, gap);
      }
    },
  },
  {
    id: "receive-frames",
    title: "receive returns each frame's bytes in order, then null (and null again)",
    points: 2,
    hint:
      "Read the 4-byte length at tail, copy the bytes out (a copy!), move tail by 4 + length; the length 0xFFFFFFFF means closed.",
    async run(ctx) {
      for (const gap of [ctx.random.int(1, 3), ctx.random.int(5, 9)]) {
        await receiveFrames(ctx, gap);
      }
    },
  },
  {
    id: "published-whole",
    title: "frozen at any instant, your producer has published only whole frames",
    points: 2,
    parent: "send-frames",
    hint: "Write the length prefix and the bytes first; only then Atomics.store(header, HEAD, " +
      "head + 4 + length). Never the other way round.",
    timeoutMs: 60_000,
    async run(ctx) {
      // A producer that finishes between few freezes proves little: go on with fresh
      // producers until the checker has looked at 100 frozen instants. Measured on the
      // 2-core grading machine, two busy loops beside it: a producer that publishes head
      // before the frame (frames of about 1 kB, 32 MiB per producer) was caught at freeze
      // 1-21 in 20 of 20 runs; with frames of about 160 bytes it took up to 137 freezes,
      // and with a pause every 100 messages it escaped 12 times in 20.
      let freezes = 0;
      let sent = 0;
      const messages = frozenPlan(ctx);
      const started = performance.now();
      for (
        let round = 0;
        round < 8 && freezes < 100 && (round === 0 || performance.now() - started < 20_000);
        round++
      ) {
        const r = await frozenProducer(ctx, round, messages);
        freezes += r.freezes;
        sent += r.sent;
        if (r.torn) {
          ctx.fail(
            "with the producer frozen at a random instant, head covered a frame not yet written",
            {
              expected: "every frame between tail and head whole, at every instant",
              observed: `${r.torn} (freeze #${freezes})`,
              mistake:
                "head published before the frame: a consumer that sees the new head reads the frame " +
                "at once, whatever is there. Write the length prefix and the bytes first, then " +
                "Atomics.store(header, HEAD, head + 4 + length)",
            },
          );
        }
        ctx.expectOk(r.producer, "send, flat out, into a ring with room for every message");
        if (r.wrongAfter) {
          ctx.fail(
            "after the producer finished, the frames in the ring are not the messages sent",
            {
              observed: r.torn,
              mistake: "each frame is a 4-byte little-endian length, then the bytes, at " +
                "data[head % capacity]; head moves by 4 + length, and close() adds the mark 0xFFFFFFFF",
            },
          );
        }
      }
      ctx.note(
        `your producer sent ${sent} messages; frozen ${freezes} times meanwhile, it had never ` +
          "published a frame that was not whole",
      );
    },
  },
  {
    id: "producer-waits",
    title: "your producer with the checker's consumer: wakes it, waits when full, loses nothing",
    points: 2,
    // A producer that publishes frames before they are whole makes any consumer read garbage,
    // some runs sooner than others: published-whole catches it by construction, and the
    // conversations after it would only add points lost by luck.
    parent: "published-whole",
    hint:
      "After publishing head: if header[CONSUMER_SLEEPING], futexWake(header, HEAD, 1). When full: PRODUCER_SLEEPING = 1, look again, futexWait(header, TAIL, seen).",
    timeoutMs: 40_000,
    async run(ctx) {
      const capacity = ctx.random.pick([256, 512, 1024]);
      const start = startNear(ctx, 2 ** 32, capacity);
      const r = await conversation(
        ctx,
        { producer: "student", consumer: "instructor" },
        "producer.ring",
        start,
        capacity,
      );
      ctx.note(
        `${r.count} messages through a ${capacity}-byte ring from position ${start} (wrapping past 2^32); ` +
          `the ring held ${r.fullUsed} bytes when your producer fell asleep`,
      );
    },
  },
  {
    id: "wakes-announced",
    title: "your producer wakes a consumer that fell asleep while the frame was being written",
    points: 1,
    parent: "send-frames",
    hint: "Look at header[CONSUMER_SLEEPING] after Atomics.store(header, HEAD, …), never before: " +
      "a consumer may fall asleep while you write the frame.",
    timeoutMs: 120_000,
    async run(ctx) {
      for (let round = 0; round < 3; round++) {
        const r = await wakeRound(ctx, round);
        if (r.kind === "missed") continue;
        if (r.kind === "woken") {
          return ctx.note(
            "the consumer raised its flag while your producer was writing a 16 MiB frame; " +
              "your producer published head, saw the flag and woke it",
          );
        }
        return ctx.fail(
          "a consumer that announced its sleep while the frame was being written was never woken",
          {
            expected: "after publishing head, send() sees CONSUMER_SLEEPING = 1 and calls " +
              "sys.futexWake(header, HEAD, 1)",
            observed: `head moved ${r.start} → ${r.head}; the consumer still asleep on head; ` +
              `your producer made ${r.wakes} futex wake call(s)`,
            mistake: r.wakes === 0
              ? "a lost wake-up: send() read CONSUMER_SLEEPING before it published head (before " +
                "writing the frame, or before waiting for room), or never looks at it. The flag " +
                "was 0 when you read it; the consumer raised it and fell asleep before you " +
                "published. Read the flag after Atomics.store(header, HEAD, head + 4 + length)"
              : "send() woke another word than head: sys.futexWake(header, HEAD, 1)",
          },
        );
      }
      ctx.note(
        "your producer published each 16 MiB frame before the checker could raise the flag; " +
          "nothing was judged (a fast machine): this check passes",
      );
    },
  },
  {
    id: "consumer-waits",
    title: "your consumer with the checker's producer: sleeps when empty, wakes it, gets all",
    points: 2,
    parent: "receive-frames",
    hint:
      "When empty: CONSUMER_SLEEPING = 1, look again, futexWait(header, HEAD, seen). After moving tail: if header[PRODUCER_SLEEPING], futexWake(header, TAIL, 1).",
    timeoutMs: 40_000,
    async run(ctx) {
      const capacity = ctx.random.pick([256, 512, 1024]);
      const start = startNear(ctx, 2 ** 32, capacity);
      const r = await conversation(
        ctx,
        { producer: "instructor", consumer: "student" },
        "consumer.ring",
        start,
        capacity,
      );
      ctx.note(
        `${r.count} messages through a ${capacity}-byte ring; your consumer slept on the empty ring and woke the full producer`,
      );
    },
  },
  {
    id: "student-pair",
    title: "your producer and your consumer: random sizes and pauses, every message once, in order",
    points: 2,
    parent: "producer-waits",
    hint:
      "Positions are unsigned 32-bit: (head - tail) >>> 0 is the fill, (pos >>> 0) % capacity the index.",
    timeoutMs: 40_000,
    async run(ctx) {
      const capacity = ctx.random.pick([128, 256, 512]);
      const start = startNear(ctx, 2 ** 31, capacity); // crosses 2^31: the sign bit of an int32
      const ring = makeRing(ctx, "pair.ring", capacity, start);
      using _ = ring.mapping;
      const base = { ...basePlan(ctx, capacity, ctx.random.int(1500, 3000)), pauseEvery: 60 };
      const both = await studentPair(ctx, ring, base);
      sideOk(ctx, both[0], "your producer", ring);
      const v = sideOk(ctx, both[1], "your consumer", ring) as Verdict & { nullAgain: boolean };
      if (
        v.bad && !/changed later|views into the ring/.test(v.bad.reason) && start < 2 ** 31 &&
        ring.head() >= 2 ** 31
      ) {
        v.bad.reason += ` (positions crossed 2^31 during this run: read them with >>> 0)`;
      }
      checkVerdict(ctx, v, ring);
      ctx.note(
        `${base.count} messages of 0–${capacity - 4} bytes through ${capacity} bytes, ` +
          `positions ${start} → ${ring.head()}: all arrived, in order, intact`,
      );
    },
  },
  {
    id: "too-big",
    title: "send refuses a message that can never fit (RangeError), and takes one that just fits",
    points: 1,
    parent: "send-frames",
    hint:
      "A message of more than capacity - 4 bytes would wait forever: throw a RangeError instead.",
    async run(ctx) {
      const capacity = ctx.random.pick([128, 256, 512, 1024]);
      const start = ctx.random.int(0, 2 ** 20);
      const ring = makeRing(ctx, "big.ring", capacity, start);
      using _ = ring.mapping;
      const child = spawn(ctx, { mode: "too-big", path: ring.path, capacity }, 15_000);
      await reach(ctx, child, "trying", "openRing");
      await child.resume();
      const next = await nextCheckpoint(child, 5000);
      if (next === "timeout") {
        return ctx.fail(
          `send() of ${capacity - 3} bytes into a ${capacity}-byte ring waits forever`,
          {
            expected: "a RangeError at once: 4 + length can never be free",
            mistake:
              "check message.length > capacity - 4 before waiting for room, and throw a RangeError",
          },
        );
      }
      if (next?.name !== "exact") {
        ctx.expectOk(await child.result(), `send of ${capacity - 3} bytes`);
        ctx.fail("the drive stopped early");
      }
      if (ring.head() !== ring.start) {
        ctx.fail("the refused message changed head", {
          observed: `head ${ring.head()}, was ${ring.start}`,
          mistake: "refuse before writing anything",
        });
      }
      await child.resume();
      const done = await within(child.result(), 5000);
      if (!done || done.outcome === "timeout") {
        return ctx.fail(
          `send() of ${
            capacity - 4
          } bytes (exactly capacity - 4) into an empty ring never returned`,
          {
            mistake:
              "off by one: a frame of 4 + length == capacity bytes fits an empty ring (free space >= need, not >)",
          },
        );
      }
      const { threw } = ctx.expectOk(done, `send of ${capacity - 4} bytes`) as {
        threw: string | null;
      };
      ctx.expectEqual(threw, "RangeError", {
        what: `what send() threw for ${capacity - 3} bytes into a ${capacity}-byte ring`,
        mistake: "throw new RangeError(…) when message.length > capacity - 4",
      });
      ctx.expectEqual(ring.head(), (start + capacity) >>> 0, {
        what: "head after the message that exactly fills the ring",
        mistake: "the frame of capacity - 4 bytes should fill the ring exactly",
      });
    },
  },
  {
    id: "predict-consumer-sleeps",
    title:
      "prediction: how often your consumer sleeps while a slower producer sends 1000 messages (then ring and pipe, flat out)",
    points: 1,
    parent: "student-pair",
    hint:
      "When a message arrives every millisecond or two, what does your receive() find each time it looks for the next one, and what does it do then?",
    timeoutMs: 40_000,
    async run(ctx) {
      const exported = (ctx.expectOk(
        await ctx.run("drive.ts", { mode: "predictions" } satisfies Params),
        "reading your prediction",
      ) as { sleeps: unknown }).sleeps;
      const predicted = requirePrediction(ctx, exported, {
        name: "PREDICTED_CONSUMER_SLEEPS_PER_1000",
        allowed: "number",
      });
      // Paced run: your producer pauses 1–2 ms before each of 1000 small messages; your
      // consumer takes each as soon as it can. The kernel counts how often it went to sleep.
      const paced = 1000;
      const pacedRing = makeRing(ctx, "paced.ring", 65536, ctx.random.int(0, 2 ** 20));
      using _paced = pacedRing.mapping;
      const pacedPair = await studentPair(
        ctx,
        pacedRing,
        { ...basePlan(ctx, 65536, paced), maxLen: 256, typicalLen: 64 },
        { producer: { pauseEvery: 1, pauseMaxMs: 2 }, consumer: { pauseEvery: 0 } },
      );
      sideOk(ctx, pacedPair[0], "your producer", pacedRing);
      const pacedVerdict = sideOk(ctx, pacedPair[1], "your consumer", pacedRing) as Verdict & {
        slept: number;
      };
      checkVerdict(ctx, pacedVerdict, pacedRing);
      const sleptPaced = Math.round(pacedVerdict.slept * 1000 / paced);

      // Throughput run: your pair, no pauses; the consumer counts its own read() calls.
      const capacity = 65536;
      const count = 50_000;
      const base = {
        ...basePlan(ctx, capacity, count),
        maxLen: 256,
        typicalLen: 64,
        pauseEvery: 0,
      };
      const ring = makeRing(ctx, "speed.ring", capacity, ctx.random.int(0, 2 ** 20));
      using _ = ring.mapping;
      const both = await studentPair(ctx, ring, base, { measureIo: true });
      const pv = sideOk(ctx, both[0], "your producer", ring) as { slept: number };
      const v = sideOk(ctx, both[1], "your consumer", ring) as Verdict & {
        slept: number;
        ms: number;
        io: { reads: number; writes: number };
      };
      checkVerdict(ctx, v, ring);
      const ringRate = count / (v.ms / 1000);

      // The same messages through a pipe (a FIFO), one write() per message.
      const fifo = `${ctx.scratch}/pipe-${ctx.random.nonce(8)}`;
      const pipeProducer = spawn(ctx, { mode: "pipe-producer", fifo, plan: side(ctx, base) });
      await reach(ctx, pipeProducer, "ready", "the pipe producer");
      const pipeConsumer = spawn(ctx, { mode: "pipe-consumer", fifo, plan: side(ctx, base) });
      await reach(ctx, pipeConsumer, "ready", "the pipe consumer");
      await pipeProducer.resume();
      await pipeConsumer.resume();
      const pipe = await within(
        Promise.all([pipeProducer.result(), pipeConsumer.result()]),
        15_000,
      );
      ctx.note(
        `ring: ${count} messages (avg ~${base.typicalLen / 2} bytes) in ${v.ms.toFixed(1)} ms = ${
          Math.round(ringRate).toLocaleString("en")
        } msg/s; the consumer made ${v.io.reads} read() calls; ` +
          `the producer slept ${pv.slept} times, the consumer ${v.slept}`,
      );
      if (pipe && pipe.every((r) => r.outcome === "ok")) {
        const pc = pipe[1].value as Verdict & { ms: number; reads: number };
        const pp = pipe[0].value as { writes: number };
        const pipeRate = pc.received / (pc.ms / 1000);
        ctx.note(
          `pipe: the same messages in ${pc.ms.toFixed(1)} ms = ${
            Math.round(pipeRate).toLocaleString("en")
          } msg/s; ${pp.writes} write() and ${pc.reads} read() calls`,
        );
        ctx.note(
          `ring / pipe: ${(ringRate / pipeRate).toFixed(1)}× on this run (shown, not graded)`,
        );
      }
      const sleptFlatOut = Math.round(v.slept * 1000 / count);
      ctx.note(
        `you predicted ${predicted} sleeps per 1000 messages from a slower producer; the kernel ` +
          `counted ${sleptPaced} (voluntary_ctxt_switches in /proc/PID/status); flat out, ` +
          `${sleptFlatOut} per 1000`,
      );
      const tolerance = Math.max(5, sleptPaced * 0.25);
      if (Math.abs(predicted - sleptPaced) > tolerance) {
        ctx.fail("the prediction is off", {
          expected:
            `${sleptPaced} sleeps per 1000 messages (voluntary context switches of your consumer, this run)`,
          observed: `${predicted} (your PREDICTED_CONSUMER_SLEEPS_PER_1000)`,
          mistake: sleptPaced >= 500
            ? "each message found the ring empty: your consumer announced it would sleep and slept in futex() until the producer's wake-up, one sleep (and one futexWake by the producer) per message. " +
              "Shared memory saves the copies, and saves system calls only while data is waiting: flat out, " +
              `your consumer slept ${sleptFlatOut} times per 1000`
            : "your consumer rarely slept: it spins long enough to catch each message awake (a CPU kept busy meanwhile), or something else kept it from sleeping; count what your receive() does when the ring is empty",
        });
      }
    },
  },
]);
