/**
 * Checks of lab 10: an append-only log in one mapped file.
 *
 * Evidence: the store file parsed by the checker's own parser (format.ts),
 * with deterministic payloads from a random seed so a torn entry cannot pass;
 * a writer killed with SIGKILL at a random moment while it appends, and a
 * progress counter it keeps in a file of the instructor's (every append that
 * returned must be in the file); readers in other processes, checking every
 * entry while the writer writes and grows the file; the call record
 * (ftruncate, mmap, msync); /proc/PID/smaps of the writer after sync().
 */
import {
  callsTo,
  type CheckContext,
  type ChildResult,
  defineChecks,
  hasFlag,
  procStat,
  requirePrediction,
  sleep,
  smaps,
} from "../../../lib/checker/mod.ts";
import { Follower, HEADER_SIZE, logBytes, parse, type Parsed, type Payloads } from "./format.ts";

/** Payloads of a run: a fresh seed; `small` and `bigEvery` set the sizes. */
function payloads(ctx: CheckContext, small = 700, bigEvery = 61): Payloads {
  return { seed: ctx.random.int(1, 2 ** 31), small, bigEvery };
}

function readBytes(path: string): Uint8Array {
  try {
    return Deno.readFileSync(path);
  } catch {
    return new Uint8Array(0);
  }
}

function readParsed(path: string, p: Payloads): Parsed {
  return parse(readBytes(path), p);
}

/** Waits (a little, busily) until process `pid` is stopped by SIGSTOP. */
function stopped(pid: number): boolean {
  const deadline = performance.now() + 20;
  while (performance.now() < deadline) {
    let state: string;
    try {
      state = procStat(pid).state;
    } catch {
      return false; // gone
    }
    if (state === "T" || state === "t") return true;
    if (state === "Z" || state === "X") return false;
  }
  return false;
}

function childError(result: ChildResult): string {
  if (result.outcome === "threw") return `${result.error?.name}: ${result.error?.message}`;
  if (result.outcome === "signal") return `killed by ${result.signal}`;
  return result.outcome;
}

/** The likely mistake behind a writer that died. */
function writerMistake(result: ChildResult): string | undefined {
  const message = result.error?.message ?? "";
  if (result.signal === "SIGBUS") {
    return "touched a page past the end of the file: grow the file with ftruncate " +
      "(resizeFile) before writing there";
  }
  if (/detached/i.test(message)) {
    return "a view of the old mapping was kept: unmap() detaches every view of it (an old " +
      "view reads as length 0); after a remap, make new views of the new mapping";
  }
  if (result.error?.name === "RangeError" || /out of bounds|length/i.test(message)) {
    return "the mapping is still the old size: after ftruncate, unmap and map the file again " +
      "(a mapping never grows by itself), and take new views of the new mapping";
  }
  if (/past the end of the file/.test(message)) {
    return "mapping more than the file holds: grow the file with ftruncate (resizeFile) first";
  }
  return undefined;
}

/** What the parsed file says, as a failure, or undefined if all is well. */
function formatProblem(parsed: Parsed): { message: string; mistake?: string } | undefined {
  if (!parsed.error) return undefined;
  if (parsed.size === 0) {
    return {
      message: "the store file is empty or missing",
      mistake:
        "openWriter must create the store: resizeFile(path, INITIAL_SIZE), map it, write the header",
    };
  }
  if (parsed.zeros) {
    return {
      message: "nothing reached the file: its first 64 KiB are zeros",
      mistake: "a private mapping (MAP_PRIVATE) keeps the writes in the process; map it " +
        'shared (mapFile(path, { access: "readwrite" }))',
    };
  }
  return {
    message: parsed.error,
    mistake: /torn|half-written|never written|past the committed end/.test(parsed.error)
      ? "publishing the new end before the entry is written: write length, checksum and " +
        "payload first, then Atomics.store the new end"
      : undefined,
  };
}

interface BasicRun {
  path: string;
  payloads: Payloads;
  count: number;
  /** Milliseconds the writer spent in its `count` appends (the "appended" checkpoint). */
  appendMs?: number;
  writer: ChildResult;
  live?: Parsed;
  dirtyAfterSync?: number;
  syncError?: string | null;
  reader?: ChildResult;
}

function basicRun(ctx: CheckContext): Promise<BasicRun> {
  return ctx.once("basic", async () => {
    const path = `${ctx.scratch}/basic.log`;
    const p = payloads(ctx);
    const count = ctx.random.int(20, 40);
    const child = ctx.spawn("drive.ts", { mode: "write", path, payloads: p, start: 0, count });
    const run = { path, payloads: p, count } as BasicRun;
    if (await child.checkpoint()) {
      await child.resume();
      const appended = await child.checkpoint();
      if (appended) {
        run.appendMs = (appended.data as { appendMs?: number }).appendMs;
        // The writer is still running and never called msync: what the file holds now is
        // what another process sees.
        run.live = readParsed(path, p);
        await child.resume();
        const synced = await child.checkpoint();
        if (synced) {
          run.syncError = (synced.data as { syncError: string | null }).syncError;
          const real = run.live?.size ? Deno.realPathSync(path) : path;
          run.dirtyAfterSync = smaps(child.pid).filter((e) => e.path === real)
            .reduce((n, e) => n + e.privateDirty + e.sharedDirty, 0);
          await child.resume();
        }
      }
    }
    run.writer = await child.result();
    if (run.writer.outcome === "ok") {
      run.reader = await ctx.run("drive.ts", { mode: "read", path, payloads: p });
    }
    return run;
  });
}

interface KillRound {
  killedAfterMs: number;
  returned: number;
  committed: number;
  size: number;
}

interface KillRun {
  rounds: KillRound[];
  failure?: { message: string; expected?: string; observed?: string; mistake?: string };
  lost: number;
}

function killRun(ctx: CheckContext): Promise<KillRun> {
  return ctx.once("kill", async () => {
    const path = `${ctx.scratch}/crash.log`;
    const progressPath = ctx.file("progress", new Uint8Array(4096));
    // Small entries (and a page-spanning one now and then): the writer appends as fast as it
    // can until it is killed, and the file should stay within a few MiB.
    const p = payloads(ctx, 48, 509);
    const rounds: KillRound[] = [];
    let committed = 0;
    let lost = 0;
    for (let r = 0; r < 3; r++) {
      const child = ctx.spawn("drive.ts", {
        mode: "forever",
        path,
        payloads: p,
        start: committed,
        progress: progressPath,
      });
      if (!(await child.checkpoint())) {
        const result = await child.result();
        return {
          rounds,
          lost,
          failure: {
            message: r === 0
              ? `openWriter failed on a new file: ${childError(result)}`
              : `after the restart, openWriter failed on the existing store: ${childError(result)}`,
            mistake: r > 0
              ? "reopening must read the header (magic, committed end) and go on from there"
              : undefined,
          },
        };
      }
      await child.resume();
      const delay = ctx.random.int(20, 150);
      await sleep(delay);
      child.kill("SIGKILL");
      const result = await child.result();
      const returned = new Int32Array(Deno.readFileSync(progressPath).buffer, 0, 1)[0];
      if (result.outcome !== "signal" || result.signal !== "SIGKILL") {
        return {
          rounds,
          lost,
          failure: {
            message: `the writer stopped by itself before the kill: ${childError(result)}`,
            observed: result.outcome === "threw" ? result.error?.stack : undefined,
            mistake: writerMistake(result),
          },
        };
      }
      const bytes = readBytes(path);
      const parsed = parse(bytes, p);
      const problem = formatProblem(parsed);
      rounds.push({ killedAfterMs: delay, returned, committed: parsed.count, size: parsed.size });
      if (problem && r > 0 && !parse(bytes, p, committed).error) {
        // The file holds only what this writer appended: the store was started afresh.
        return {
          rounds,
          lost: Math.max(lost, committed),
          failure: {
            message: `the ${committed} entries committed before restart #${r} are gone: the ` +
              "store starts with the first entry appended after the restart",
            mistake: "reopening an existing store must keep it: never truncate it or reset the " +
              "committed end",
          },
        };
      }
      if (problem) {
        return {
          rounds,
          lost,
          failure: {
            message: `after SIGKILL #${r + 1}: ${problem.message}`,
            mistake: problem.mistake,
          },
        };
      }
      lost = Math.max(lost, returned - parsed.count);
      if (parsed.count < committed) {
        return {
          rounds,
          lost: Math.max(lost, committed - parsed.count),
          failure: {
            message: `entries committed before restart #${r} are gone`,
            expected: `at least ${committed} entries`,
            observed: `${parsed.count}`,
            mistake: "reopening an existing store must keep it: never truncate it or reset the " +
              "committed end",
          },
        };
      }
      if (parsed.count < returned) {
        return {
          rounds,
          lost,
          failure: {
            message: `after SIGKILL #${r + 1}, ${returned - parsed.count} entries whose append() ` +
              `had returned are missing`,
            expected: `at least ${returned} committed entries (append returned ${returned} times)`,
            observed: `${parsed.count} (committed end ${parsed.end})`,
            mistake: "append must commit before it returns: store the new end in the file's " +
              "header (Atomics.store), not only in a variable or at close()",
          },
        };
      }
      if (parsed.count > returned + 1) {
        return {
          rounds,
          lost,
          failure: {
            message: `${parsed.count} entries are committed, but append() returned only ` +
              `${returned} times`,
            mistake: "the committed end counts entries that were never appended",
          },
        };
      }
      committed = parsed.count;
    }
    const reader = await ctx.run("drive.ts", { mode: "read", path, payloads: p });
    if (reader.outcome !== "ok") {
      return {
        rounds,
        lost,
        failure: { message: `a new reader failed on the store: ${childError(reader)}` },
      };
    }
    const got = reader.value as { count: number; error: string | null };
    if (got.error || got.count !== committed) {
      return {
        rounds,
        lost,
        failure: {
          message: "a new reader does not see the committed entries",
          expected: `${committed} entries`,
          observed: got.error ?? `${got.count} entries`,
          mistake: "the reader must return every entry up to the committed end, and nothing more",
        },
      };
    }
    return { rounds, lost };
  });
}

/**
 * The writer's pace: milliseconds per append, as measured in the basic run (20–40 appends).
 * A correct writer may be slow (lab 05's protocol msyncs every entry and the header: a few
 * ms per append on a disk), so the checks size their work and deadlines by it, never by
 * a constant.
 */
async function pace(ctx: CheckContext): Promise<number> {
  const run = await basicRun(ctx);
  return run.appendMs !== undefined ? run.appendMs / run.count : 0.05;
}

/** A plan for one writer: how many entries, and how long they should take at its pace. */
interface Plan {
  count: number;
  bytes: number;
  /** Milliseconds the appends should take at the measured pace. */
  expectedMs: number;
  /** The writer child's time limit: generous multiples of expectedMs. */
  timeoutMs: number;
  msPerAppend: number;
}

/**
 * About `targetBytes` of log, fewer when the writer is slow (no more than `budgetMs` of
 * appending at its pace), but never fewer than `minBytes`: enough for the file to grow
 * several times past a small INITIAL_SIZE.
 */
function plan(
  p: Payloads,
  targetBytes: number,
  msPerAppend: number,
  { budgetMs = 3000, minBytes = 256 << 10, floorMs = 20_000 } = {},
): Plan {
  let count = 0, bytes = 0;
  while (bytes < targetBytes && (bytes < minBytes || (count + 1) * msPerAppend <= budgetMs)) {
    bytes += logBytes(p, count, count + 1);
    count++;
  }
  const expectedMs = count * msPerAppend;
  return {
    count,
    bytes,
    expectedMs,
    timeoutMs: Math.max(floorMs, Math.ceil(6 * expectedMs + 10_000)),
    msPerAppend,
  };
}

/** What a writer that ran out of time had done, from the file it left: progress or none. */
function timedOutWriter(
  path: string,
  p: Payloads,
  planned: Plan,
): { message: string; mistake: string } {
  const parsed = readParsed(path, p);
  const done = parsed.error ? 0 : parsed.count;
  const seconds = (planned.timeoutMs / 1000).toFixed(0);
  const pace = planned.msPerAppend.toFixed(planned.msPerAppend < 1 ? 3 : 1);
  if (done === 0) {
    return {
      message: `the writer committed no entry within ${seconds} s`,
      mistake: "stuck before the first append returned: openWriter or append never finishes " +
        "(a loop that waits for something, or a growth loop that never ends?)",
    };
  }
  return {
    message: `the writer committed ${done} of ${planned.count} entries within ${seconds} s`,
    mistake: `append slowed down as the log grew: the first appends took ${pace} ms each ` +
      `(so ${planned.count} should take about ${(planned.expectedMs / 1000).toFixed(1)} s, ` +
      `and had ${seconds}); ` +
      "does each append do more work the longer the log is (syncing or copying all of it, " +
      "growing by a fixed small step, remapping every time)?",
  };
}

interface FrozenRound {
  path: string;
  payloads: Payloads;
  total: number;
  planned: Plan;
  freezes: number;
  torn?: string;
  writer: ChildResult;
}

/**
 * One writer appending 3–5 MiB while the checker freezes it (SIGSTOP) at
 * random moments, as a busy scheduler would, and looks at the file while it
 * cannot move: whatever is committed at that instant must be whole. That is
 * what any reader could see at that instant.
 */
async function frozenRound(ctx: CheckContext, round: number): Promise<FrozenRound> {
  const path = `${ctx.scratch}/frozen-${round}.log`;
  // Entries of up to 2 KiB (and bigger ones): the writer spends most of its time inside
  // append, where a badly ordered one exposes a half-written entry.
  const p = payloads(ctx, 2000, 61);
  // 3–5 MiB, or less for a slow writer (frozen over and over, it goes slower still).
  const planned = plan(p, ctx.random.int(3 << 20, 5 << 20), await pace(ctx), {
    budgetMs: 2500,
  });
  const total = planned.count;
  const writer = ctx.spawn(
    "drive.ts",
    { mode: "write", path, payloads: p, start: 0, count: total },
    { timeoutMs: planned.timeoutMs },
  );
  if (!(await writer.checkpoint())) {
    return { path, payloads: p, total, planned, freezes: 0, writer: await writer.result() };
  }
  const follower = new Follower(path, p);
  let writing = true;
  let freezes = 0;
  let torn: string | undefined;
  await writer.resume();
  const freezer = (async () => {
    for (let cycle = 1; writing && !torn && !writer.ended && follower.count < total; cycle++) {
      // Let it run for 20–200 µs (a timer would be too coarse), then freeze it.
      const until = performance.now() + ctx.random.int(20, 200) / 1000;
      while (performance.now() < until) { /* the writer runs */ }
      writer.kill("SIGSTOP");
      if (stopped(writer.pid)) {
        freezes++;
        torn = follower.step();
      }
      writer.kill("SIGCONT");
      if (cycle % 16 === 0) await sleep(0); // let the children's messages in
    }
  })();
  try {
    for (let cp = await writer.checkpoint(); cp; cp = await writer.checkpoint()) {
      writing = false;
      await freezer;
      await writer.resume();
    }
  } finally {
    writing = false;
    await freezer;
    writer.kill("SIGCONT");
    follower.close();
  }
  if (torn) writer.kill();
  return { path, payloads: p, total, planned, freezes, torn, writer: await writer.result() };
}

export default defineChecks([
  {
    id: "append-read",
    title: "appended entries are in the file, in the lab's format, and a reader gets them back",
    points: 2,
    hint: "Write length (u32), checksum (u32) and payload at the committed end, then " +
      "Atomics.store the new end (aligned to 8) at END_INDEX.",
    async run(ctx) {
      const run = await basicRun(ctx);
      if (run.writer.outcome !== "ok" && !run.live) {
        ctx.expectOk(run.writer, "openWriter and append");
      }
      const live = run.live!;
      const problem = formatProblem(live);
      if (problem) {
        ctx.fail(`while the writer runs, the file is not a valid store: ${problem.message}`, {
          mistake: problem.mistake,
        });
      }
      if (live.count !== run.count) {
        ctx.fail("the committed entries in the file are not the ones appended", {
          expected: `${run.count} entries committed`,
          observed: `${live.count} (committed end ${live.end})`,
          mistake: live.count < run.count
            ? "append must move the committed end (bytes 8–11) past each entry before it returns"
            : undefined,
        });
      }
      ctx.expectOk(run.writer, "sync and close");
      const reader = ctx.expectOk(run.reader!, "openReader and poll") as {
        count: number;
        error: string | null;
      };
      if (reader.error || reader.count !== run.count) {
        ctx.fail("a reader in another process does not get the entries back", {
          expected: `${run.count} entries, as appended`,
          observed: reader.error ?? `${reader.count} entries`,
          mistake: "poll() returns every entry from the header to the committed end, each a " +
            "copy of its payload",
        });
      }
      ctx.note(
        `${run.count} entries, committed end ${live.end}; read back by another process` +
          (run.appendMs !== undefined
            ? ` (${(run.appendMs / run.count).toFixed(3)} ms per append: the later checks size ` +
              "their work and deadlines by this pace)"
            : ""),
      );
    },
  },
  {
    id: "grows",
    title: "the file starts small and grows (ftruncate + remap) as entries arrive",
    points: 2,
    parent: "append-read",
    timeoutMs: 90_000, // a slow, correct writer (an msync per append) needs it
    hint: "When the next entry does not fit: resizeFile(path, bigger) (ftruncate), unmap, " +
      "mapFile again, and take new views.",
    async run(ctx) {
      const path = `${ctx.scratch}/grow.log`;
      const p = payloads(ctx);
      // 1.5–3 MiB of log, or less for a slow writer (but enough to grow several times).
      const planned = plan(p, ctx.random.int(3 << 19, 3 << 20), await pace(ctx), {
        floorMs: 15_000,
      });
      const { count, bytes: target } = planned;
      const child = ctx.spawn("drive.ts", { mode: "write", path, payloads: p, start: 0, count }, {
        timeoutMs: planned.timeoutMs,
      });
      const opened = await child.checkpoint();
      let sizeAtOpen = 0;
      if (opened) {
        const size = sizeAtOpen = (opened.data as { size: number }).size;
        if (size > 1 << 20) {
          ctx.fail("a new store starts big", {
            expected: `a small file (INITIAL_SIZE, at most 1 MiB)`,
            observed: `${size} bytes right after openWriter`,
            mistake: "allocating a huge file up front instead of growing it as needed",
          });
        }
        ctx.note(`a new store's file: ${size} bytes`);
        await child.resume();
      }
      for (let cp = await child.checkpoint(); cp; cp = await child.checkpoint()) {
        await child.resume();
      }
      const result = await child.result();
      if (result.outcome === "timeout") {
        const t = timedOutWriter(path, p, planned);
        ctx.fail(`appending ${count} entries (${target} bytes): ${t.message}`, {
          mistake: t.mistake,
        });
      }
      if (result.outcome !== "ok") {
        ctx.fail(`appending ${count} entries (${target} bytes) failed: ${childError(result)}`, {
          observed: result.outcome === "threw" ? result.error?.stack : undefined,
          mistake: writerMistake(result),
        });
      }
      const parsed = readParsed(path, p);
      const problem = formatProblem(parsed);
      if (problem) ctx.fail(`after growing, ${problem.message}`, { mistake: problem.mistake });
      if (parsed.count !== count) {
        ctx.fail("entries are missing after the file grew", {
          expected: `${count} entries`,
          observed: `${parsed.count}`,
        });
      }
      if (parsed.size <= sizeAtOpen) {
        ctx.fail("the file never grew", {
          expected: `more than the ${sizeAtOpen} bytes it had when opened`,
          observed: `${parsed.size} bytes for ${parsed.end} bytes of log`,
        });
      }
      // How it grew, for the notes: ftruncate calls (resizeFile, sys.ftruncate) and mappings.
      const sizes = callsTo(result.calls, "ftruncate").map((c) => c.args.length);
      const maps = callsTo(result.calls, "mmap").length;
      ctx.note(
        `${count} entries: the file grew from ${sizeAtOpen} to ${parsed.size} bytes` +
          (sizes.length ? ` (ftruncate: ${sizes.join(" → ")})` : "") + `; ${maps} mmap call(s)`,
      );
    },
  },
  {
    id: "never-torn",
    title: "frozen at any instant, the writer never shows a half-written entry as committed",
    points: 2,
    parent: "append-read",
    timeoutMs: 120_000, // a slow, correct writer (an msync per append) needs it
    hint: "Write length, checksum and payload past the committed end first; then publish the " +
      "new end with one Atomics.store. Never the other way round.",
    async run(ctx) {
      // A writer that finishes between few freezes proves little: go on with fresh writers
      // until the checker has looked at 24 frozen instants.
      let freezes = 0;
      let appended = 0;
      for (let round = 0; round < 4 && freezes < 24; round++) {
        const r = await frozenRound(ctx, round);
        freezes += r.freezes;
        appended += r.total;
        if (r.torn) {
          ctx.fail(
            "with the writer frozen at a random moment, a half-written entry was committed",
            {
              expected: "every entry up to the committed end whole, at every instant",
              observed: `${r.torn} (freeze #${freezes})`,
              mistake: "publishing the new end before the entry is written (it was visible " +
                "before it was whole): write length, checksum and payload first, then " +
                "Atomics.store the new end — never the other way round",
            },
          );
        }
        if (r.writer.outcome === "timeout") {
          const t = timedOutWriter(r.path, r.payloads, r.planned);
          ctx.fail(t.message, { mistake: t.mistake });
        }
        if (r.writer.outcome !== "ok") {
          ctx.fail(`the writer failed: ${childError(r.writer)}`, {
            observed: r.writer.outcome === "threw" ? r.writer.error?.stack : undefined,
            mistake: writerMistake(r.writer),
          });
        }
        const parsed = readParsed(r.path, r.payloads);
        const problem = formatProblem(parsed);
        if (problem) ctx.fail(problem.message, { mistake: problem.mistake });
      }
      ctx.note(
        `the writer appended ${appended} entries; frozen ${freezes} times meanwhile, it ` +
          "never showed a half-written entry",
      );
    },
  },
  {
    id: "survives-kill",
    title: "SIGKILL at random moments: a new process finds a valid log, no torn entry committed",
    points: 3,
    // A writer that commits before the entry is whole shows torn entries some runs and not
    // others: never-torn catches it by construction; this check would only add luck to it.
    parent: "never-torn",
    timeoutMs: 40_000,
    hint: "Order is everything: write the whole entry past the end, then publish the new end " +
      "with one Atomics.store. On reopen, go on from the committed end.",
    async run(ctx) {
      // What survives a kill is PREDICTED_LOST_AFTER_KILL: take it before showing any count.
      const basic = await basicRun(ctx);
      requirePrediction(
        ctx,
        (basic.writer.value as { predicted: unknown } | undefined)?.predicted,
        { name: "PREDICTED_LOST_AFTER_KILL", allowed: "number" },
      );
      const run = await killRun(ctx);
      for (const [i, r] of run.rounds.entries()) {
        ctx.note(
          `kill #${i + 1} after ${r.killedAfterMs} ms: ${r.returned} appends had returned ` +
            `(all writers so far), ${r.committed} entries committed, file ${r.size} bytes`,
        );
      }
      if (run.failure) ctx.fail(run.failure.message, run.failure);
    },
  },
  {
    id: "readers-follow",
    title: "readers in other processes follow the writer, through its growth, entry by entry",
    points: 2,
    parent: "never-torn",
    timeoutMs: 120_000, // a slow, correct writer (an msync per append) needs it
    hint: "poll(): Atomics.load the end; if it passed your mapping, map the file again; read " +
      "entries up to the end, copying each payload out.",
    async run(ctx) {
      const path = `${ctx.scratch}/follow.log`;
      const p = payloads(ctx);
      // 1–2 MiB, or less for a slow writer (but enough to grow several times); the readers'
      // deadline follows the writer's measured pace.
      const planned = plan(p, ctx.random.int(1 << 20, 2 << 20), await pace(ctx));
      const total = planned.count;
      const writer = ctx.spawn("drive.ts", {
        mode: "write",
        path,
        payloads: p,
        start: 0,
        count: total,
      }, {
        timeoutMs: planned.timeoutMs,
      });
      const opened = await writer.checkpoint();
      if (!opened) ctx.expectOk(await writer.result(), "openWriter");
      const sizeAtOpen = (opened?.data as { size?: number } | undefined)?.size ?? 0;
      const doneFlag = `${ctx.scratch}/follow.done`;
      const readers = [0, 1].map(() =>
        ctx.spawn("drive.ts", {
          mode: "follow",
          path,
          payloads: p,
          total,
          deadlineMs: planned.timeoutMs,
          doneFlag,
        }, { timeoutMs: planned.timeoutMs + 10_000 })
      );
      for (const r of readers) {
        if (!(await r.checkpoint())) ctx.expectOk(await r.result(), "openReader");
      }
      for (const r of readers) await r.resume();
      await writer.resume();
      for (let cp = await writer.checkpoint(); cp; cp = await writer.checkpoint()) {
        await writer.resume();
      }
      const w = await writer.result();
      ctx.file("follow.done", "done");
      if (w.outcome === "timeout") {
        for (const r of readers) r.kill();
        const t = timedOutWriter(path, p, planned);
        ctx.fail(t.message, { mistake: t.mistake });
      }
      if (w.outcome !== "ok") {
        for (const r of readers) r.kill();
        ctx.fail(`the writer failed: ${childError(w)}`, {
          observed: w.outcome === "threw" ? w.error?.stack : undefined,
          mistake: writerMistake(w),
        });
      }
      const results = await Promise.all(readers.map((r) => r.result()));
      for (const [i, r] of results.entries()) {
        const v = ctx.expectOk(r, `reader ${i + 1}`) as {
          seen: number;
          polls: number;
          error: string | null;
          deadlineHit?: boolean;
          ms?: number;
        };
        if (v.error) {
          const readerBug = /poll\(\) threw/.test(v.error) && !/torn|checksum/i.test(v.error);
          ctx.fail(`reader ${i + 1} saw a wrong entry while the writer wrote`, {
            expected: "only whole, committed entries, in order",
            observed: v.error,
            mistake: readerBug
              ? "poll() must read only up to the committed end (Atomics.load), remapping " +
                "first if the end passed its mapping"
              : "an entry was visible before it was whole: write length, checksum and " +
                "payload first, then publish the new end with Atomics.store — never the other " +
                "way round",
          });
        }
        if (v.seen !== total) {
          // Where the reader stopped, against the sizes the file had (when the readers
          // opened it, then each ftruncate of the writer): a reader that never maps the file
          // again never reads past the size it mapped.
          const reached = HEADER_SIZE + logBytes(p, 0, v.seen);
          const next = reached + logBytes(p, v.seen, v.seen + 1);
          const finalEnd = HEADER_SIZE + logBytes(p, 0, total);
          const sizes = [
            sizeAtOpen,
            ...callsTo(w.calls, "ftruncate").map((c) => Number(c.args.length)),
          ].filter((n) => n > 0).sort((a, b) => a - b);
          const stuckAt = sizes.find((n) => n >= reached && n < finalEnd);
          ctx.fail(`reader ${i + 1} saw ${v.seen} of the ${total} committed entries`, {
            expected: `all ${total}, once the writer had finished`,
            observed: `${v.seen} after ${v.polls} polls in ${((v.ms ?? 0) / 1000).toFixed(1)} s` +
              `, up to byte ${reached}; the next entry ends at byte ${next}` +
              (sizeAtOpen ? ` (the file had ${sizeAtOpen} bytes when the readers opened it)` : ""),
            mistake: stuckAt !== undefined
              ? `the reader never read past byte ${stuckAt}, a size the file had${
                stuckAt === sizeAtOpen ? " when the reader opened it" : ""
              }, while the committed end went on to byte ${finalEnd}: when the committed end ` +
                "passes the reader's mapping, the file has grown: remap it (mapFile again) and " +
                "read on"
              : v.deadlineHit
              ? `the reader was still behind when its deadline (${
                (planned.timeoutMs / 1000).toFixed(0)
              } s, 6 times the writer's expected time and more) ran out, and it did not stop ` +
                "at its mapping's end: is poll() slow (copying or re-reading the whole log " +
                "each time)?"
              : "the writer had finished, and one more poll() still did not bring every " +
                "committed entry: poll() must return every entry up to the committed end it " +
                "reads (Atomics.load), remapping first if that end passed its mapping",
          });
        }
        ctx.note(`reader ${i + 1}: ${v.seen} entries in ${v.polls} polls, all whole`);
      }
    },
  },
  {
    id: "predicts-kill",
    title: "you predicted what SIGKILL does to entries never msync'ed",
    points: 1,
    parent: "survives-kill",
    hint: "Where do the bytes you store into a MAP_SHARED mapping live: in the process, or in " +
      "the page cache?",
    async run(ctx) {
      const run = await basicRun(ctx);
      const kill = await killRun(ctx);
      const predicted = (run.writer.value as { predicted: unknown } | undefined)?.predicted;
      const returned = kill.rounds.at(-1)?.returned ?? 0;
      ctx.note(
        `you predicted ${predicted ?? "nothing"} lost; the kernel lost ${kill.lost} ` +
          `(after ${kill.rounds.length} kills, no msync ever, ${returned} appends returned)`,
      );
      requirePrediction(ctx, predicted, { name: "PREDICTED_LOST_AFTER_KILL", allowed: "number" });
      if (predicted !== kill.lost) {
        ctx.fail("the prediction is off", {
          expected: `${kill.lost}, observed in this run`,
          observed: String(predicted),
          mistake: "stores into a MAP_SHARED mapping go straight into the page cache, which the " +
            "kernel owns: killing the process loses none of them. msync is about the machine " +
            "dying, not the process",
        });
      }
    },
  },
  {
    id: "sync-cleans",
    title: "sync() writes the log to storage (msync MS_SYNC: no dirty pages left)",
    points: 1,
    parent: "append-read",
    hint: "mapping.sync() is msync(MS_SYNC) over the mapping; MS_ASYNC does nothing on Linux.",
    async run(ctx) {
      const run = await basicRun(ctx);
      if (run.syncError) {
        ctx.fail(`sync() threw ${run.syncError}`, { mistake: "call mapping.sync()" });
      }
      const msyncs = callsTo(run.writer.calls, "msync");
      const synced = msyncs.some((c) => hasFlag(c, "MS_SYNC"));
      if (!synced) {
        ctx.fail("no msync(MS_SYNC) was made by sync()", {
          expected: "msync(addr, length, MS_SYNC)",
          observed: msyncs.length
            ? `msync with flags ${msyncs.map((c) => c.args.flags).join(", ")}`
            : "no msync call",
          mistake: msyncs.length
            ? "MS_ASYNC: a no-op on Linux since 2.6.19; only MS_SYNC waits for the disk"
            : "sync() must call mapping.sync()",
        });
      }
      const scratch = ctx.kernel.scratch;
      if (!scratch.msyncCleans) {
        ctx.note(
          `the scratch directory is on ${scratch.fileSystem}, where msync cleans no page: no ` +
            "dirty-page check (deno task lab doctor)",
        );
        return;
      }
      if ((run.dirtyAfterSync ?? 0) > 0) {
        ctx.fail("pages of the log are still dirty after sync()", {
          expected: "Private_Dirty + Shared_Dirty = 0 kB in /proc/PID/smaps",
          observed: `${(run.dirtyAfterSync ?? 0) / 1024} kB dirty`,
          mistake: "msync over only part of the log: cover every page up to the committed end",
        });
      }
      ctx.note(
        `after sync(): 0 kB dirty in the writer's mapping (/proc/PID/smaps, ${scratch.fileSystem})`,
      );
    },
  },
]);
