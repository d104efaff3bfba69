/**
 * Child side of lab 07. Every child maps the checker's file itself (so a task
 * is checked apart from `openShared`), then plays one role against the
 * student's functions. Cells 0–15 of the file are the drive's own control
 * area; the student's counters, locks and records live at random indices
 * from 16 up, chosen by the checker.
 *
 * @module
 */

import {
  defineDrive,
  type DriveContext,
  mapFile,
  studentExport,
  studentValue,
  sys,
} from "../../../lib/checker/mod.ts";

/** Control cells (shared with check.ts). */
export const CTRL = {
  /** Children that reached the start barrier. */
  barrier: 0,
  /** Set by the checker: stop the add loop. */
  stop: 1,
  /** Set by the holder once lock() returned. */
  held: 2,
  /** Set by the holder once unlock() returned. */
  released: 3,
  /** Contender `slot` (0–3) sets `entered + 2 * slot` before lock(), `acquired + 2 * slot` after. */
  entered: 4,
  acquired: 5,
  /** The lock loop: how many times lock() has returned so far. */
  rounds: 12,
} as const;

type Fn = (cells: Int32Array, index: number, times: number) => void;
type LockFn = (cells: Int32Array, index: number) => void;
type LockKind = "spin" | "futex";

/** What the checker asks a child to do. */
export type Params =
  | { mode: "predictions" }
  | { mode: "probe"; path: string; writes: [number, number][] }
  | {
    mode: "add";
    path: string;
    fn: "addAtomic" | "addNaive";
    index: number;
    times: number;
    n: number;
  }
  | { mode: "add-loop"; path: string; index: number; chunk: number }
  | { mode: "hold"; path: string; kind: LockKind; lock: number; record?: { values: number[] } }
  | { mode: "contend"; path: string; kind: LockKind; lock: number; slot: number }
  | { mode: "lock-loop"; path: string; kind: LockKind; lock: number }
  | { mode: "read-record"; path: string; at: number; count: number; slot: number }
  | { mode: "write-record"; path: string; at: number; values: number[]; slot: number }
  | {
    mode: "lock-stress";
    path: string;
    kind: LockKind;
    lock: number;
    index: number;
    times: number;
    n: number;
  }
  | {
    mode: "record-stress";
    path: string;
    role: "writer" | "reader";
    at: number;
    count: number;
    iterations: number;
    n: number;
    seed: number;
  };

function cellsOf(path: string): { cells: Int32Array; base: string } {
  const mapping = mapFile(path, { access: "readwrite" });
  return { cells: new Int32Array(mapping.bytes.buffer), base: mapping.address.toString() };
}

/** Waits until `n` children arrived, sleeping on the barrier cell (instructor code, not graded). */
function barrier(cells: Int32Array, n: number): void {
  const arrived = Atomics.add(cells, CTRL.barrier, 1) + 1;
  if (arrived >= n) {
    sys.futexWake(cells, CTRL.barrier, n);
    return;
  }
  for (;;) {
    const now = Atomics.load(cells, CTRL.barrier);
    if (now >= n) return;
    sys.futexWait(cells, CTRL.barrier, now);
  }
}

/** The record a writer writes for `value`: every field derived from it, so a torn read shows. */
export function recordFor(value: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => (Math.imul(value, 2 * i + 1) + i) | 0);
}

/** `undefined` if `fields` is one whole record, else a description of the tear. */
export function tornIn(fields: number[], count: number): string | undefined {
  if (fields.length !== count) return `${fields.length} fields instead of ${count}`;
  const whole = recordFor(fields[0], count);
  const bad = fields.findIndex((f, i) => f !== whole[i]);
  return bad < 0 ? undefined : `field ${bad} is ${fields[bad]}, but field 0 says ${whole[bad]}`;
}

function lockPair(ctx: DriveContext<unknown>, kind: LockKind): [LockFn, LockFn] {
  return kind === "spin"
    ? [studentExport<LockFn>(ctx, "spinLock"), studentExport<LockFn>(ctx, "spinUnlock")]
    : [studentExport<LockFn>(ctx, "lock"), studentExport<LockFn>(ctx, "unlock")];
}

export default defineDrive<Params>(async (ctx) => {
  const p = ctx.params;
  switch (p.mode) {
    case "predictions":
      return {
        spin: studentValue(ctx, "PREDICTED_SPIN_WAITER_STATE") ?? null,
        dies: studentValue(ctx, "PREDICTED_WAITER_WHEN_HOLDER_DIES") ?? null,
      };
    case "probe": {
      const openShared = studentExport<(path: string) => Int32Array>(ctx, "openShared");
      const view = openShared(p.path);
      if (!(view instanceof Int32Array)) {
        throw new TypeError(
          `openShared returned ${Object.prototype.toString.call(view)}, not an Int32Array`,
        );
      }
      for (const [index, value] of p.writes) view[index] = value;
      return { length: view.length };
    }
    case "add": {
      const fn = studentExport<Fn>(ctx, p.fn);
      const { cells } = cellsOf(p.path);
      barrier(cells, p.n);
      const start = performance.now();
      fn(cells, p.index, p.times);
      return { ms: performance.now() - start };
    }
    case "add-loop": {
      const fn = studentExport<Fn>(ctx, "addAtomic");
      const { cells } = cellsOf(p.path);
      await ctx.checkpoint("ready");
      let calls = 0;
      while (Atomics.load(cells, CTRL.stop) === 0) {
        fn(cells, p.index, p.chunk);
        calls++;
      }
      return { calls };
    }
    case "hold": {
      const [lock, unlock] = lockPair(ctx, p.kind);
      const { cells, base } = cellsOf(p.path);
      await ctx.checkpoint("ready", { base });
      lock(cells, p.lock);
      Atomics.store(cells, CTRL.held, 1);
      await ctx.checkpoint("held");
      if (p.record) {
        // Write the record in two halves, with the checker looking in between.
        const half = p.record.values.length >> 1;
        for (let i = 0; i < half; i++) cells[p.lock + 1 + i] = p.record.values[i];
        await ctx.checkpoint("half");
        for (let i = half; i < p.record.values.length; i++) {
          cells[p.lock + 1 + i] = p.record.values[i];
        }
      }
      unlock(cells, p.lock);
      Atomics.store(cells, CTRL.released, 1);
      return { released: true };
    }
    case "contend": {
      const [lock, unlock] = lockPair(ctx, p.kind);
      const { cells, base } = cellsOf(p.path);
      await ctx.checkpoint("ready", { base });
      Atomics.store(cells, CTRL.entered + 2 * p.slot, 1);
      lock(cells, p.lock);
      Atomics.store(cells, CTRL.acquired + 2 * p.slot, 1);
      await ctx.checkpoint("acquired");
      unlock(cells, p.lock);
      return { acquired: true };
    }
    case "lock-loop": {
      // lock, count, unlock, as fast as it goes: the checker freezes this
      // process at random instants, some of them inside lock() itself.
      const [lock, unlock] = lockPair(ctx, p.kind);
      const { cells } = cellsOf(p.path);
      await ctx.checkpoint("ready");
      let rounds = 0;
      for (;;) {
        lock(cells, p.lock);
        Atomics.store(cells, CTRL.rounds, ++rounds);
        unlock(cells, p.lock);
        if ((rounds & 255) === 0 && Atomics.load(cells, CTRL.stop) !== 0) break;
      }
      return { rounds };
    }
    case "read-record": {
      const readRecord = studentExport<(c: Int32Array, at: number, n: number) => number[]>(
        ctx,
        "readRecord",
      );
      const { cells, base } = cellsOf(p.path);
      await ctx.checkpoint("ready", { base });
      Atomics.store(cells, CTRL.entered + 2 * p.slot, 1);
      const fields = readRecord(cells, p.at, p.count);
      Atomics.store(cells, CTRL.acquired + 2 * p.slot, 1);
      return { fields: Array.from(fields ?? [], Number) };
    }
    case "write-record": {
      const writeRecord = studentExport<(c: Int32Array, at: number, v: number[]) => void>(
        ctx,
        "writeRecord",
      );
      const { cells, base } = cellsOf(p.path);
      await ctx.checkpoint("ready", { base });
      Atomics.store(cells, CTRL.entered + 2 * p.slot, 1);
      writeRecord(cells, p.at, p.values);
      Atomics.store(cells, CTRL.acquired + 2 * p.slot, 1);
      return { written: true };
    }
    case "lock-stress": {
      const [lock, unlock] = lockPair(ctx, p.kind);
      const { cells } = cellsOf(p.path);
      barrier(cells, p.n);
      const start = performance.now();
      for (let i = 0; i < p.times; i++) {
        lock(cells, p.lock);
        cells[p.index] = cells[p.index] + 1; // plain on purpose: only the lock protects it
        unlock(cells, p.lock);
      }
      return { ms: performance.now() - start };
    }
    case "record-stress": {
      const { cells } = cellsOf(p.path);
      barrier(cells, p.n);
      if (p.role === "writer") {
        const writeRecord = studentExport<(c: Int32Array, at: number, v: number[]) => void>(
          ctx,
          "writeRecord",
        );
        let value = p.seed;
        for (let i = 0; i < p.iterations; i++) {
          value = (Math.imul(value, 1103515245) + 12345) | 0;
          writeRecord(cells, p.at, recordFor(value, p.count));
        }
        return { writes: p.iterations };
      }
      const readRecord = studentExport<(c: Int32Array, at: number, n: number) => number[]>(
        ctx,
        "readRecord",
      );
      let torn = 0;
      let first: string | undefined;
      for (let i = 0; i < p.iterations; i++) {
        const fields = Array.from(readRecord(cells, p.at, p.count) ?? [], Number);
        const tear = tornIn(fields, p.count);
        if (tear) {
          torn++;
          first ??= `[${fields.join(", ")}]: ${tear}`;
        }
      }
      return { reads: p.iterations, torn, first };
    }
  }
});
