/**
 * Checks of lab 07: exact totals from N processes sharing one mapping, a
 * spinlock and a futex mutex that really exclude each other, waiters that
 * sleep in the kernel, and records no reader sees torn.
 *
 * Evidence: the counters in the file, read by the checker; the checker's own
 * additions racing the student's loop (it freezes the child with SIGSTOP,
 * adds, and lets it go on); and what the kernel says about a waiting process
 * (`/proc/PID/stat` state and CPU time, `/proc/PID/syscall`: asleep in
 * `futex` on the lock's very address). Races are never required to happen:
 * a check never depends on a wrong solution getting unlucky.
 *
 * @module
 */

import {
  asleepInFutex,
  callsTo,
  type CheckContext,
  type ChildHandle,
  type ChildResult,
  defineChecks,
  hasFlag,
  isStopped,
  mapFile,
  processState,
  reach,
  requirePrediction,
  sleep,
  soon,
  sys,
  timesScheduled,
  until,
  usualState,
  type Waiting,
  watchWaiter,
  within,
} from "../../../lib/checker/mod.ts";
import { CTRL, type Params, recordFor, tornIn } from "./drive.ts";

const FILE_BYTES = 4096;
/** First cell the student's counters, locks and records may use (0–15: the drive's). */
const FIRST_CELL = 16;

function freshFile(ctx: CheckContext, name: string): string {
  return ctx.file(name, new Uint8Array(FILE_BYTES));
}

/**
 * A child of the drive. 20 s by default: a holder waits at its checkpoint while the checker
 * starts and watches the waiters, which on a loaded machine (measured at load average 20)
 * took longer than the 8 s this once was. Hangs are found by each check's own limits.
 */
function spawn(ctx: CheckContext, params: Params, timeoutMs = 20_000): ChildHandle {
  return ctx.spawn("drive.ts", params, { timeoutMs, record: false });
}

// ---------------------------------------------------------------------------
// Watching a waiting process from outside

/** How a process that called lock() while another held the lock was seen waiting. */
type Contending = Waiting<"returned" | "never-entered">;

/**
 * Watches contender `slot` (a drive that stores `entered` before calling the
 * student's function and `acquired` after it returns) with the one waiter
 * rule (`watchWaiter`): asleep in futex() on `lockAddress`, spinning, or
 * returned with the lock.
 */
async function watchContender(
  child: ChildHandle,
  cells: Int32Array,
  slot: number,
  lockAddress: bigint,
): Promise<Contending> {
  const entered = CTRL.entered + 2 * slot;
  const acquired = CTRL.acquired + 2 * slot;
  if (!await until(() => Atomics.load(cells, entered) !== 0 || child.ended, 4000)) {
    return { kind: "never-entered", states: [], cpuMs: 0, wallMs: 0 };
  }
  if (Atomics.load(cells, entered) === 0) return { kind: "ended", states: [], cpuMs: 0, wallMs: 0 };
  return await watchWaiter(child, {
    asleep: (s) => asleepInFutex(s, lockAddress) && Atomics.load(cells, acquired) === 0,
    stop: () => Atomics.load(cells, acquired) !== 0 ? "returned" : undefined,
  });
}

function describeWait(w: Contending): string {
  return `state ${
    usualState(w.states) ?? "?"
  } in ${w.states.length} looks, ${w.cpuMs} ms of CPU in ${Math.round(w.wallMs)} ms`;
}

// ---------------------------------------------------------------------------
// Scenarios shared between checks

interface LockScenario {
  /** How each waiter was seen while the lock was held. */
  waits: Contending[];
}

/**
 * A holds the lock; `waiters` others call lock(); the checker watches them
 * wait, lets A release, and expects each waiter to get the lock in turn.
 */
async function holdAndContend(
  ctx: CheckContext,
  kind: "spin" | "futex",
  waiters: number,
): Promise<LockScenario> {
  const path = freshFile(ctx, `${kind}-hold.bin`);
  using mapping = mapFile(path, { access: "readwrite" });
  const cells = new Int32Array(mapping.bytes.buffer);
  const lock = ctx.random.int(FIRST_CELL, 1000);
  const lockFn = kind === "spin" ? "spinLock" : "lock";
  const unlockFn = kind === "spin" ? "spinUnlock" : "unlock";

  const holder = spawn(ctx, { mode: "hold", path, kind, lock });
  await reach(ctx, holder, "ready", "the lock holder");
  await holder.resume();
  await reach(ctx, holder, "held", `${lockFn} in the first process`);
  const word = Atomics.load(cells, lock);
  if (word === 0) {
    ctx.fail(`${lockFn} returned, but the lock word is still 0`, {
      expected: "a non-zero lock word while a process holds the lock",
      observed: `cells[${lock}] = 0`,
      mistake: kind === "spin"
        ? "spinLock must change 0 into 1 with Atomics.compareExchange(cells, index, 0, 1): check the argument order (the value expected, then its replacement) and loop until it returns 0"
        : "lock must change 0 into 1 (Atomics.compareExchange(cells, index, 0, 1)) before returning",
    });
  }

  const contenders = Array.from(
    { length: waiters },
    (_, slot) => spawn(ctx, { mode: "contend", path, kind, lock, slot }),
  );
  const bases: bigint[] = [];
  for (const c of contenders) {
    const data = await reach(ctx, c, "ready", "a waiting process");
    bases.push(BigInt(String(data?.base)));
  }
  for (const c of contenders) await c.resume();
  const waits: Contending[] = [];
  for (const [slot, c] of contenders.entries()) {
    const address = bases[slot] + BigInt(lock * 4);
    const w = await watchContender(c, cells, slot, address);
    waits.push(w);
    if (w.kind === "returned") {
      ctx.fail(`a second process got the lock while the first still held it`, {
        expected: `${lockFn} in the second process waits until the first calls ${unlockFn}`,
        observed: `${lockFn} returned at once (lock word: ${Atomics.load(cells, lock)})`,
        mistake: kind === "spin"
          ? "the lock is not taken atomically: loop on Atomics.compareExchange(cells, index, 0, 1) until it returns 0 (check the argument order and what it returns)"
          : "lock must only return once it changed the word from 0 (free): compareExchange(0 → 1) or exchange(…, 2) returning 0",
      });
    }
    if (w.kind === "ended" || w.kind === "never-entered") {
      ctx.expectOk(await c.result(), `${lockFn} in a waiting process`);
      ctx.fail(`the waiting process never called ${lockFn}`);
    }
    if (kind === "futex" && w.kind === "spinning") {
      ctx.fail("a waiter never went to sleep: it spins on the CPU while the lock is held", {
        expected:
          "a process waiting in lock() sleeps in futex() on the lock word (/proc/PID/syscall shows futex at its address)",
        observed: describeWait(w),
        mistake:
          "no sys.futexWait (or waiting on another value): mark the word 2 (contended) and call sys.futexWait(cells, index, 2) while it stays 2",
      });
    }
    if (kind === "futex" && w.kind === "idle") {
      ctx.fail("a waiter is neither asleep in futex() on the lock word nor spinning", {
        expected: "the waiter asleep in futex() at the lock word's address",
        observed: `${describeWait(w)}; /proc/${c.pid}/wchan: ${processState(c.pid)?.wchan ?? "?"}`,
        mistake:
          "waiting some other way (a timer, Atomics.wait on other memory): use sys.futexWait on the lock word",
      });
    }
  }

  // Let the holder release; each waiter must get the lock in turn.
  await holder.resume();
  ctx.expectOk(await holder.result(), `${unlockFn} in the first process`);
  const pending = new Map(contenders.map((c) => [c, c.checkpoint()]));
  while (pending.size > 0) {
    const next = await within(
      Promise.race([...pending].map(([c, p]) => p.then((cp) => ({ c, cp })))),
      2500,
    );
    if (!next) {
      const asleep = [...pending.keys()].filter((c) => asleepInFutex(processState(c.pid)))
        .length;
      ctx.fail(
        `${pending.size} waiting process(es) never got the lock after it was released`,
        {
          expected: `${unlockFn} lets a waiter take the lock`,
          observed:
            `2.5 s after ${unlockFn}: ${pending.size} still waiting, ${asleep} of them asleep in futex()` +
            `; lock word = ${Atomics.load(cells, lock)}`,
          mistake: kind === "spin"
            ? "spinUnlock must store 0 (Atomics.store(cells, index, 0))"
            : "a missing wake: unlock must call sys.futexWake(cells, index, 1) when the word was 2 (someone may sleep), and lock must leave 2 behind while anyone may still sleep",
        },
      );
    }
    pending.delete(next.c);
    if (next.cp?.name !== "acquired") {
      ctx.expectOk(await next.c.result(), `${lockFn} in a waiting process`);
      ctx.fail("a waiting process ended without getting the lock");
    }
    await next.c.resume();
    ctx.expectOk(await next.c.result(), `${unlockFn} in a waiting process`);
  }
  return { waits };
}

/** N processes × M lock/increment/unlock rounds: the total must be exact. */
async function lockStress(ctx: CheckContext, kind: "spin" | "futex") {
  const path = freshFile(ctx, `${kind}-stress.bin`);
  const n = ctx.random.int(2, kind === "spin" ? 3 : 4);
  const times = ctx.random.int(40_000, 80_000);
  const lock = ctx.random.int(FIRST_CELL, 500);
  const index = ctx.random.int(600, 1000);
  const children = Array.from(
    { length: n },
    () => spawn(ctx, { mode: "lock-stress", path, kind, lock, index, times, n }, 15_000),
  );
  const results = await Promise.all(children.map((c) => c.result()));
  for (const r of results) ctx.expectOk(r, `${n} processes taking the lock ${times} times each`);
  const total = new Int32Array(Deno.readFileSync(path).buffer)[index];
  ctx.expectEqual(total, n * times, {
    what: `the counter that ${n} processes each incremented ${times} times under the lock`,
    mistake: total < n * times
      ? `${n * times - total} increments lost: two processes were inside the lock at once`
      : "more increments than lock rounds: the counter was touched outside the lock",
  });
  const ms = Math.max(...results.map((r) => (r.value as { ms: number }).ms));
  ctx.note(
    `${n} processes × ${times} rounds under the ${kind} lock: exact, in ${ms.toFixed(0)} ms`,
  );
}

// ---------------------------------------------------------------------------
// Frozen inside lock(): the gap between "the word is 0" and "the word is mine"

/**
 * Polls `cond` until it holds (true) or `ms` pass (false): busily for the first
 * 0.3 ms, then every millisecond, so that a process that waits for a CPU on a
 * busy machine gets this one.
 */

interface FrozenLock {
  /** Freezes that stopped the process. */
  freezes: number;
  /** Of those, how many found the lock word 0, so that the checker took the lock itself. */
  taken: number;
  /** Set when the process got the lock while the checker held it. */
  caught?: string;
}

/**
 * One process runs lock(); count; unlock() in a loop. The checker freezes it
 * (SIGSTOP) at random instants. Whenever the lock word is 0 at that instant,
 * the process does not hold the lock, so the checker takes it (one atomic
 * compareExchange, the process cannot move), lets the process run on, and
 * watches its count: it must not grow until the checker lets go.
 *
 * A lock taken in two steps (a load that sees 0, then a store of 1) is caught
 * whenever a freeze lands between the two: the process wakes up already
 * decided, stores 1 over the checker's 1, and goes in. A lock taken in one
 * atomic step has no such instant. Whether a freeze lands in the gap is
 * chance, so the checker goes on until it took the lock `wanted` (50) times.
 * Measured on the 2-core grading machine at load average 20: a check-then-set
 * spinLock went in on 44% of the checker's takes (66 of 150), a check-then-set
 * fast path in lock() on 32% (48 of 150); at 30%, 50 takes all miss with
 * probability 0.7^50 < 10^-7.
 */
async function frozenInLock(ctx: CheckContext, kind: "spin" | "futex"): Promise<FrozenLock> {
  const path = freshFile(ctx, `${kind}-frozen.bin`);
  using mapping = mapFile(path, { access: "readwrite" });
  const cells = new Int32Array(mapping.bytes.buffer);
  const lock = ctx.random.int(FIRST_CELL, 1000);
  const lockFn = kind === "spin" ? "spinLock" : "lock";
  const child = spawn(ctx, { mode: "lock-loop", path, kind, lock }, 20_000);
  await reach(ctx, child, "ready", `${lockFn} in a loop`);
  await child.resume();
  if (!await until(() => Atomics.load(cells, CTRL.rounds) > 0 || child.ended, 4000)) {
    child.kill("SIGKILL");
    ctx.fail(`${lockFn} never returned on a free lock`, {
      expected: `${lockFn} takes a lock nobody holds at once`,
      observed: `lock word ${Atomics.load(cells, lock)} after 4 s`,
    });
  }
  const out: FrozenLock = { freezes: 0, taken: 0 };
  const wanted = 50;
  const started = performance.now();
  let scheduled: number | undefined = -1; // no wait before the first freeze
  try {
    while (
      out.taken < wanted && out.freezes < 20 * wanted && !child.ended &&
      performance.now() - started < 12_000
    ) {
      // Let it run: until it is back on a CPU, then 5–100 µs more (a timer would be too
      // coarse), then freeze it wherever it is.
      await soon(() => (timesScheduled(child.pid) ?? Infinity) > (scheduled ?? -1), 200);
      const runFor = performance.now() + ctx.random.int(5, 100) / 1000;
      while (performance.now() < runFor) { /* the loop runs */ }
      child.kill("SIGSTOP");
      const frozen = await soon(() => isStopped(child.pid) !== false, 300) &&
        isStopped(child.pid) === true;
      scheduled = timesScheduled(child.pid);
      if (!frozen) {
        child.kill("SIGCONT");
        continue;
      }
      out.freezes++;
      if (Atomics.compareExchange(cells, lock, 0, 1) !== 0) {
        child.kill("SIGCONT"); // it holds the lock (or is about to release it)
        continue;
      }
      // The word was 0 and now the checker holds the lock. Let the process run
      // until it was back on a CPU (then a process that was already decided
      // stores its 1 and returns within microseconds), and 0.2 ms more.
      out.taken++;
      const rounds = Atomics.load(cells, CTRL.rounds);
      child.kill("SIGCONT");
      const back = await soon(
        () =>
          Atomics.load(cells, CTRL.rounds) !== rounds ||
          (timesScheduled(child.pid) ?? Infinity) > (scheduled ?? -1),
        1500,
      );
      if (back && scheduled === undefined) await sleep(20);
      const t1 = performance.now();
      while (performance.now() - t1 < 0.2) { /* it runs */ }
      await soon(
        () => Atomics.load(cells, CTRL.rounds) !== rounds || processState(child.pid)?.state !== "R",
        0.3,
      );
      scheduled = timesScheduled(child.pid);
      const after = Atomics.load(cells, CTRL.rounds);
      // Let go the way unlock() does, waking a sleeper if the word says so.
      if (Atomics.exchange(cells, lock, 0) === 2) sys.futexWake(cells, lock, 1);
      if (after !== rounds) {
        out.caught = `frozen with the lock word 0, then resumed while the checker held the lock: ` +
          `${lockFn} returned anyway (its loop went from round ${rounds} to ${after})`;
        break;
      }
    }
  } finally {
    child.kill("SIGCONT");
    Atomics.store(cells, CTRL.stop, 1);
  }
  const done = await within(child.result(), 5000);
  if (!done) {
    child.kill("SIGKILL");
    if (!out.caught) {
      ctx.fail(`${lockFn} never returned after the checker released the lock`, {
        mistake: kind === "spin"
          ? "spinUnlock must store 0 (Atomics.store(cells, index, 0))"
          : "a waiter must be woken by unlock: sys.futexWake(cells, index, 1) when the word was 2",
      });
    }
  } else if (!out.caught) ctx.expectOk(done, `${lockFn} in a loop`);
  return out;
}

/** Fails if the frozen-lock probe got in while the checker held the lock; notes the probe otherwise. */
function judgeFrozen(ctx: CheckContext, kind: "spin" | "futex", f: FrozenLock): void {
  const [lockFn, call, loop] = kind === "spin"
    ? ["spinLock", "Atomics.compareExchange(cells, index, 0, 1) in a loop", "spinLock/spinUnlock"]
    : [
      "lock",
      "Atomics.compareExchange(cells, index, 0, 1) (and exchange(…, 2) when waiting)",
      "lock/unlock",
    ];
  if (!f.caught) {
    ctx.note(
      `frozen ${f.freezes} times inside its ${loop} loop; ${f.taken} times the lock was free, ` +
        `the checker took it, and your process waited`,
    );
    return;
  }
  ctx.fail(`${lockFn} let your process in while the checker held the lock`, {
    expected: `${lockFn} waits while any other process holds the lock`,
    observed: `${f.caught} (at freeze ${f.freezes}; the checker had taken the lock ${f.taken} time${
      f.taken === 1 ? "" : "s"
    })`,
    mistake: "check, then set: the lock is taken in two steps, a load that sees 0 and a store " +
      "of 1. Another process can take the lock between them, and then both go in. Check and " +
      `set in one atomic step: ${call}`,
  });
}

function spinScenario(ctx: CheckContext) {
  return ctx.once("spin-hold", () => holdAndContend(ctx, "spin", 1));
}

function futexScenario(ctx: CheckContext) {
  return ctx.once("futex-hold", () => holdAndContend(ctx, "futex", ctx.random.int(1, 2)));
}

/** What became of a waiter in `lock` once the holder was killed inside the lock. */
type Fate = "acquires" | "waits" | "error";

/**
 * A holds the futex lock; B waits in lock() (asleep in futex); the checker
 * kills A with SIGKILL, without unlock, and watches B for 1.5 s.
 */
async function holderDies(ctx: CheckContext): Promise<{ fate: Fate; seen: string }> {
  const path = freshFile(ctx, "holder-dies.bin");
  using mapping = mapFile(path, { access: "readwrite" });
  const cells = new Int32Array(mapping.bytes.buffer);
  const lock = ctx.random.int(FIRST_CELL, 1000);
  const holder = spawn(ctx, { mode: "hold", path, kind: "futex", lock });
  await reach(ctx, holder, "ready", "the lock holder");
  await holder.resume();
  await reach(ctx, holder, "held", "lock in the first process");
  const waiter = spawn(ctx, { mode: "contend", path, kind: "futex", lock, slot: 0 });
  const data = await reach(ctx, waiter, "ready", "a waiting process");
  await waiter.resume();
  const address = BigInt(String(data?.base)) + BigInt(lock * 4);
  const w = await watchContender(waiter, cells, 0, address);
  if (w.kind !== "asleep") {
    waiter.kill();
    holder.kill();
    ctx.fail("the waiter was not asleep in futex() on the lock word before the holder died", {
      observed: describeWait(w),
    });
  }
  holder.kill("SIGKILL");
  await holder.result();
  const got = await until(
    () => Atomics.load(cells, CTRL.acquired) !== 0 || waiter.ended,
    1500,
  );
  const state = processState(waiter.pid);
  const word = Atomics.load(cells, lock);
  waiter.kill();
  const result = await waiter.result();
  if (got && Atomics.load(cells, CTRL.acquired) !== 0) {
    return { fate: "acquires", seen: "it got the lock" };
  }
  if (got) {
    // It ended by itself before the checker killed it.
    const why = result.error?.message ? `: ${result.error.message}` : "";
    return { fate: "error", seen: `its lock() ended (${result.outcome}${why})` };
  }
  return {
    fate: "waits",
    seen: `1.5 s after the holder died: still waiting, state ${state?.state ?? "?"}` +
      `${asleepInFutex(state, address) ? " (asleep in futex() on the lock word)" : ""}, ` +
      `lock word ${word}`,
  };
}

// ---------------------------------------------------------------------------

export default defineChecks([
  {
    id: "maps-shared",
    title: "openShared maps the file shared: stores reach the file",
    points: 1,
    hint:
      'mapFile(path, { access: "readwrite" }) is MAP_SHARED; return new Int32Array(mapping.bytes.buffer).',
    async run(ctx) {
      const pages = ctx.random.int(1, 3);
      const path = ctx.file("probe.bin", new Uint8Array(pages * FILE_BYTES));
      const cellsCount = pages * FILE_BYTES / 4;
      const writes: [number, number][] = Array.from({ length: 4 }, (_, i) => [
        ctx.random.int(Math.floor(i * cellsCount / 4), Math.floor((i + 1) * cellsCount / 4) - 1),
        ctx.random.int(1, 2 ** 31 - 1),
      ]);
      const result = await ctx.run("drive.ts", { mode: "probe", path, writes } satisfies Params, {
        timeoutMs: 20_000, // a busy machine may take seconds to start a child
      });
      const { length } = ctx.expectOk(result, "openShared") as { length: number };
      const maps = callsTo(result.calls, "mmap");
      const privateMap = maps.some((c) => hasFlag(c, "MAP_PRIVATE"));
      const file = new Int32Array(Deno.readFileSync(path).buffer);
      const missing = writes.filter(([i, v]) => file[i] !== v);
      if (missing.length > 0) {
        ctx.fail(`${missing.length} of 4 stores through your view never reached the file`, {
          expected: writes.map(([i, v]) => `cell ${i} = ${v}`).join(", "),
          observed: missing.map(([i]) => `cell ${i} = ${file[i]}`).join(", "),
          mistake: privateMap
            ? "mapped MAP_PRIVATE: stores go to this process's own copy of the page, never to the file or to other processes"
            : maps.length === 0
            ? "no mmap() call: a copy of the file in memory is not shared with anybody"
            : length < cellsCount
            ? `the view covers ${length} cells, not the whole file (${cellsCount}): new Int32Array(mapping.bytes.buffer)`
            : "the view is not over the mapping's memory",
        });
      }
      const shared = maps.some((c) => hasFlag(c, "MAP_SHARED") && hasFlag(c, "PROT_WRITE"));
      if (!shared) ctx.fail("no shared, writable mmap() call was made");
      ctx.expectEqual(length, cellsCount, {
        what: `the view's length for a ${pages * FILE_BYTES}-byte file`,
        mistake:
          "the Int32Array should cover the whole mapping: new Int32Array(mapping.bytes.buffer)",
      });
    },
  },
  {
    id: "atomic-under-interference",
    title: "addAtomic loses nothing when another process adds at any moment",
    points: 2,
    hint: "Between a load and a store, another process can add; Atomics.add leaves no such gap.",
    timeoutMs: 20_000,
    async run(ctx) {
      // The checker freezes the child with SIGSTOP wherever it happens to be,
      // adds to the cell itself, and lets it go on: a non-atomic loop that was
      // frozen between its load and its store writes back a stale value.
      const path = freshFile(ctx, "interference.bin");
      using mapping = mapFile(path, { access: "readwrite" });
      const cells = new Int32Array(mapping.bytes.buffer);
      const index = ctx.random.int(FIRST_CELL, 1000);
      const chunk = 20_000;
      const child = spawn(ctx, { mode: "add-loop", path, index, chunk }, 15_000);
      await reach(ctx, child, "ready", "addAtomic in a loop");
      await child.resume();
      const t0 = performance.now();
      while (Atomics.load(cells, index) === 0) {
        if (child.ended || performance.now() - t0 > 3000) {
          Atomics.store(cells, CTRL.stop, 1);
          ctx.expectOk(await child.result(), "addAtomic in a loop");
          ctx.fail("addAtomic added nothing", {
            expected:
              `cell ${index} growing while your process calls addAtomic(cells, ${index}, ${chunk})`,
            observed: "still 0 after 3 s",
            mistake: "addAtomic is still empty, or adds to another cell",
          });
        }
        await sleep(1);
      }
      const cycles = 40;
      let added = 0;
      let stopped = 0;
      for (let i = 0; i < cycles && !child.ended; i++) {
        child.kill("SIGSTOP");
        const t = performance.now();
        while (processState(child.pid)?.state !== "T" && performance.now() - t < 1000) {
          /* poll */
        }
        if (processState(child.pid)?.state === "T") {
          stopped++;
        }
        const k = ctx.random.int(1000, 9999);
        Atomics.add(cells, index, k);
        added += k;
        child.kill("SIGCONT");
        await sleep(ctx.random.int(1, 3));
      }
      Atomics.store(cells, CTRL.stop, 1);
      const { calls } = ctx.expectOk(await child.result(), "addAtomic in a loop") as {
        calls: number;
      };
      const expected = calls * chunk + added;
      const total = Atomics.load(cells, index);
      if (total !== expected) {
        ctx.fail("additions made by another process were lost", {
          expected:
            `${calls} calls × ${chunk} by your loop + ${added} by the checker = ${expected}`,
          observed: `${total} (${expected - total} lost)`,
          mistake:
            "lost updates: the read-modify-write is not atomic (a plain cells[i] = cells[i] + 1, or Atomics.load then Atomics.store): " +
            "frozen between its read and its write, your process stored a stale value over the checker's additions; use Atomics.add",
        });
      }
      ctx.note(
        `the checker froze your process ${stopped} times mid-loop and added ${added} meanwhile: nothing lost`,
      );
    },
  },
  {
    id: "atomic-total",
    title: "addAtomic: N processes × M additions give exactly N × M",
    points: 3,
    // A lost update is caught by construction above (the process is frozen mid-update);
    // the stress would catch it only by luck (1 to 19 runs in 20, measured), and a re-grade
    // must give the same score.
    parent: "atomic-under-interference",
    hint: "Atomics.add(cells, index, 1) is one indivisible read-modify-write.",
    timeoutMs: 30_000,
    async run(ctx) {
      const n = ctx.random.int(2, 4);
      const times = ctx.random.int(150_000, 300_000);
      const index = ctx.random.int(FIRST_CELL, 1000);
      const path = freshFile(ctx, "atomic.bin");
      const results = await Promise.all(
        Array.from(
          { length: n },
          () =>
            spawn(ctx, { mode: "add", path, fn: "addAtomic", index, times, n }, 15_000).result(),
        ),
      );
      for (const r of results) ctx.expectOk(r, "addAtomic");
      const total = new Int32Array(Deno.readFileSync(path).buffer)[index];
      if (total !== n * times) {
        ctx.fail(`the total is wrong`, {
          expected: `${n} processes × ${times} = ${n * times}`,
          observed: `${total}${
            total > 0 && total < n * times ? ` (${n * times - total} updates lost)` : ""
          }`,
          mistake: total === 0
            ? "nothing was added: addAtomic is still empty, or adds to another cell"
            : total < n * times
            ? "lost updates: a read-modify-write that is not atomic (cells[i] = cells[i] + 1, or Atomics.load then Atomics.store); use Atomics.add"
            : "more than N × M: adding more than once per round?",
        });
      }
      const slowest = Math.max(...results.map((r) => (r.value as { ms: number }).ms));
      ctx.note(`${n} processes × ${times} Atomics.add: ${total}, exact (${slowest.toFixed(0)} ms)`);
      // The lesson: the given addNaive, same processes, same mapping.
      const naiveTimes = 5_000_000;
      const naivePath = freshFile(ctx, "naive.bin");
      const naive = await Promise.all(
        Array.from(
          { length: n },
          () =>
            spawn(ctx, {
              mode: "add",
              path: naivePath,
              fn: "addNaive",
              index,
              times: naiveTimes,
              n,
            })
              .result(),
        ),
      );
      if (naive.every((r) => r.outcome === "ok")) {
        const got = new Int32Array(Deno.readFileSync(naivePath).buffer)[index];
        const lost = n * naiveTimes - got;
        ctx.note(
          lost > 0
            ? `for comparison, addNaive in the same ${n} processes × ${naiveTimes}: ${got}, ` +
              `${lost} updates lost (${(100 * lost / (n * naiveTimes)).toFixed(1)}%) this run`
            : `for comparison, addNaive in ${n} processes × ${naiveTimes}: no update lost this time ` +
              `(the processes barely overlapped); the race is likely, never certain`,
        );
      }
    },
  },
  {
    id: "spin-lock",
    title: "spinLock/spinUnlock: one holder at a time, waiters wait, totals exact",
    points: 2,
    hint:
      "Loop until Atomics.compareExchange(cells, index, 0, 1) returns 0; release with Atomics.store(cells, index, 0).",
    timeoutMs: 50_000,
    async run(ctx) {
      const { waits } = await spinScenario(ctx);
      ctx.note(`a process waiting in spinLock: ${describeWait(waits[0])}`);
      const frozen = await frozenInLock(ctx, "spin");
      judgeFrozen(ctx, "spin", frozen);
      await lockStress(ctx, "spin");
    },
  },
  {
    id: "futex-lock",
    title: "lock/unlock: waiters sleep in futex(), wake on unlock, totals exact",
    points: 3,
    hint:
      "0 free, 1 held, 2 held with waiters: sleep with sys.futexWait(cells, index, 2); unlock wakes one if the word was 2.",
    timeoutMs: 50_000,
    async run(ctx) {
      const { waits } = await futexScenario(ctx);
      ctx.note(
        `${waits.length} process(es) waiting in lock(), seen asleep in futex() on the lock word: ${
          waits.map(describeWait).join("; ")
        }`,
      );
      const frozen = await frozenInLock(ctx, "futex");
      judgeFrozen(ctx, "futex", frozen);
      await lockStress(ctx, "futex");
    },
  },
  {
    id: "record-not-torn",
    title: "readRecord/writeRecord: no process ever sees half a record",
    points: 3,
    parent: "futex-lock",
    hint: "Take lock(cells, at) before touching any field, release it in finally.",
    timeoutMs: 30_000,
    async run(ctx) {
      const count = ctx.random.int(4, 8);
      const at = ctx.random.int(FIRST_CELL, 900);
      const path = freshFile(ctx, "record.bin");
      using mapping = mapFile(path, { access: "readwrite" });
      const cells = new Int32Array(mapping.bytes.buffer);
      const fields = () => Array.from(cells.subarray(at + 1, at + 1 + count));
      const [v0, v1, v2] = [1, 2, 3].map(() => ctx.random.int(1, 2 ** 30));
      cells.set(recordFor(v0, count), at + 1);

      // 1. A reader arrives while a writer holds the lock, half-way through.
      const writer = spawn(ctx, {
        mode: "hold",
        path,
        kind: "futex",
        lock: at,
        record: { values: recordFor(v1, count) },
      });
      await reach(ctx, writer, "ready", "a writer");
      await writer.resume();
      await reach(ctx, writer, "held", "lock in a writer");
      await writer.resume();
      await reach(ctx, writer, "half", "a writer");
      const reader = spawn(ctx, { mode: "read-record", path, at, count, slot: 0 });
      const rdata = await reach(ctx, reader, "ready", "readRecord");
      await reader.resume();
      const address = BigInt(String(rdata?.base)) + BigInt(at * 4);
      const w = await watchContender(reader, cells, 0, address);
      if (w.kind === "returned" || w.kind === "ended") {
        const got = ctx.expectOk(await reader.result(), "readRecord") as { fields: number[] };
        ctx.fail("readRecord returned while a writer held the lock half-way through its record", {
          expected: `readRecord waits for the lock, then returns [${
            recordFor(v1, count).join(", ")
          }]`,
          observed: `[${got.fields.join(", ")}]: ${
            tornIn(got.fields, count) ?? "a whole record"
          }, a torn record`,
          mistake:
            "readRecord reads the fields without taking the lock: call lock(cells, at) first, unlock(cells, at) after",
        });
      }
      await writer.resume();
      ctx.expectOk(await writer.result(), "unlock in a writer");
      const read = await within(reader.result(), 3000);
      if (!read) return ctx.fail("readRecord never returned after the writer released the lock");
      const { fields: got } = ctx.expectOk(read, "readRecord") as { fields: number[] };
      ctx.expectEqual(got, recordFor(v1, count), {
        what: "the record readRecord returned once the writer finished",
        mistake: "reading the wrong cells: the fields are cells[at + 1] … cells[at + count]",
      });

      // 2. A writer arrives while another process holds the lock.
      Atomics.store(cells, CTRL.acquired, 0);
      Atomics.store(cells, CTRL.entered, 0);
      const holder = spawn(ctx, { mode: "hold", path, kind: "futex", lock: at });
      await reach(ctx, holder, "ready", "a lock holder");
      await holder.resume();
      await reach(ctx, holder, "held", "lock in a holder");
      const values = recordFor(v2, count);
      const late = spawn(ctx, { mode: "write-record", path, at, values, slot: 0 });
      const wdata = await reach(ctx, late, "ready", "writeRecord");
      await late.resume();
      const waddress = BigInt(String(wdata?.base)) + BigInt(at * 4);
      const ww = await watchContender(late, cells, 0, waddress);
      const during = fields();
      if (
        ww.kind === "returned" || ww.kind === "ended" || tornIn(during, count) !== undefined ||
        during[0] !== recordFor(v1, count)[0]
      ) {
        ctx.expectOk(await late.result(), "writeRecord");
        ctx.fail("writeRecord changed the record while another process held the lock", {
          expected: `the fields stay [${recordFor(v1, count).join(", ")}] until the holder unlocks`,
          observed: `[${during.join(", ")}]`,
          mistake:
            "writeRecord writes the fields without taking the lock: lock(cells, at) first, unlock(cells, at) in finally",
        });
      }
      await holder.resume();
      ctx.expectOk(await holder.result(), "unlock in a holder");
      const wrote = await within(late.result(), 3000);
      if (!wrote) return ctx.fail("writeRecord never finished after the holder released the lock");
      ctx.expectOk(wrote, "writeRecord");
      ctx.expectEqual(fields(), values, {
        what: "the record in the file after writeRecord",
        mistake: "the fields are cells[at + 1] … cells[at + values.length]",
      });

      // 3. Writers and readers at full speed.
      const writers = ctx.random.int(1, 2);
      const readers = ctx.random.int(1, 2);
      const n = writers + readers;
      const iterations = 3000;
      const seed = ctx.random.int(1, 2 ** 30);
      Atomics.store(cells, CTRL.barrier, 0);
      const kids = Array.from({ length: n }, (_, i) =>
        spawn(ctx, {
          mode: "record-stress",
          path,
          role: i < writers ? "writer" : "reader",
          at,
          count,
          iterations,
          n,
          seed: seed + i,
        }, 15_000));
      const results: ChildResult[] = await Promise.all(kids.map((k) => k.result()));
      let torn = 0;
      let first: string | undefined;
      for (const r of results) {
        const v = ctx.expectOk(r, "writers and readers together") as {
          torn?: number;
          first?: string;
        };
        torn += v.torn ?? 0;
        first ??= v.first;
      }
      if (torn > 0) {
        ctx.fail(`${torn} torn records seen by readers`, {
          expected: "every record read is whole",
          observed: first,
          mistake: "the lock does not exclude: readRecord or writeRecord works outside lock/unlock",
        });
      }
      ctx.note(
        `${writers} writer(s) and ${readers} reader(s), ${iterations} records each: no torn record`,
      );
    },
  },
  {
    id: "predict-waiters",
    title: "prediction: a spinning waiter's state, and a waiter's fate when the holder dies",
    points: 1,
    parent: "futex-lock",
    hint:
      "/proc/PID/stat, third field: R = running or runnable, S = asleep. And who could ever unlock a lock whose holder is gone?",
    async run(ctx) {
      const predicted = ctx.expectOk(
        await ctx.run("drive.ts", { mode: "predictions" } satisfies Params),
        "reading your predictions",
      ) as { spin: unknown; dies: unknown };
      const spinPredicted = requirePrediction(ctx, predicted.spin, {
        name: "PREDICTED_SPIN_WAITER_STATE",
        allowed: "string",
        describe: '"R" or "S"',
      });
      const fatePredicted = requirePrediction(ctx, predicted.dies, {
        name: "PREDICTED_WAITER_WHEN_HOLDER_DIES",
        allowed: "string",
        describe: '"acquires", "waits" or "error"',
      });
      let spinSeen: string | undefined;
      try {
        spinSeen = usualState((await spinScenario(ctx)).waits[0].states);
      } catch {
        ctx.fail("the spinlock's waiter could not be observed: make spin-lock pass first");
      }
      const dies = await holderDies(ctx);
      ctx.note(`spinning waiter: you predicted ${spinPredicted}, the kernel showed ${spinSeen}`);
      ctx.note(
        `holder killed inside lock: you predicted "${fatePredicted}"; the waiter: ${dies.seen}`,
      );
      if (spinPredicted !== spinSeen) {
        ctx.fail("the spinning waiter's state differs from what the kernel showed", {
          expected: `${spinSeen} (as /proc/PID/stat showed this run)`,
          observed: `${spinPredicted} (your PREDICTED_SPIN_WAITER_STATE)`,
          mistake:
            "R means on a CPU or waiting for one: a spinner never stops running, however long it waits",
        });
      }
      if (fatePredicted !== dies.fate) {
        ctx.fail("the waiter's fate differs from your prediction", {
          expected: `"${dies.fate}" (${dies.seen})`,
          observed: `"${fatePredicted}" (your PREDICTED_WAITER_WHEN_HOLDER_DIES)`,
          mistake: dies.fate === "waits"
            ? "the lock word is a number in a shared page: nothing in it says who holds it, so the kernel cannot give the lock back when its holder dies, and nobody calls futexWake. " +
              "The waiter sleeps until it is killed. Robust futexes exist for this (set_robust_list(2), pthread_mutexattr_setrobust(3)): the kernel then marks a dead owner's lock and wakes a waiter"
            : "look at what your lock() and unlock() do: nothing else touches the word",
        });
      }
    },
  },
]);
