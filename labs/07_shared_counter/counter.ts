/**
 * # Lab 07: Many processes, one mapping, no lost updates
 *
 * Scenario: several processes map the same file with `MAP_SHARED` and keep
 * counters and small records in it: page views, jobs done, the latest
 * reading of a sensor. The same physical page sits in every one of them, so
 * a store by one is seen by all, at once. So is a store that overwrites
 * somebody else's.
 *
 * Your tasks (the checker runs 2–4 processes against each one):
 *
 * 1. `openShared`: map a file so that every process sees the same cells.
 * 2. `addAtomic`: add to a shared counter without ever losing an update.
 *    `addNaive` (given) shows what goes wrong.
 * 3. `spinLock` / `spinUnlock`: a lock built on `Atomics.compareExchange`.
 * 4. `lock` / `unlock`: a mutex whose waiters *sleep* in the kernel
 *    (`futex(2)`) instead of spinning.
 * 5. `writeRecord` / `readRecord`: a multi-field record that nobody ever sees
 *    half-written.
 * 6. Predict what `/proc/PID/stat` shows for a spinning and a sleeping waiter.
 *
 * Read: `man 2 futex` (FUTEX_WAIT, FUTEX_WAKE), `man 7 futex`, Ulrich Drepper's
 * "Futexes Are Tricky" (mutex 2), MDN's `Atomics` pages, `man 5 proc`
 * (/proc/PID/stat, /proc/PID/syscall). The README explains all of it.
 *
 * Run `deno task lab check 7` to check.
 *
 * @module
 */

import { mapFile, sys } from "../../lib/mod.ts";

/**
 * Maps the file at `path` read-write and **shared**, and returns its bytes as
 * 32-bit integers (the file's size is a multiple of 4). The mapping may stay
 * for the life of the process.
 */
export function openShared(path: string): Int32Array {
  // TODO: map the file read-write, shared, and return an Int32Array over the
  // mapping's memory (not a copy of it). Delete the two lines below.
  void mapFile, path;
  return new Int32Array(0);
}

/**
 * Adds 1 to `cells[index]`, `times` times: the naive way. **Loses updates**
 * when another process adds to the same cell at the same time (given; keep it
 * as it is: the checker runs it beside yours, to show the difference).
 */
export function addNaive(cells: Int32Array, index: number, times: number): void {
  for (let i = 0; i < times; i++) {
    cells[index] = cells[index] + 1; // load … add … store: another process can store in between
  }
}

/**
 * Adds 1 to `cells[index]`, `times` times, so that no update is ever lost,
 * however many processes add to the same cell at once.
 */
export function addAtomic(cells: Int32Array, index: number, times: number): void {
  // TODO: add 1, `times` times, with one indivisible read-modify-write each.
  void cells, index, times;
}

/** Takes the spinlock at `cells[index]` (0 free, 1 held), spinning until it is free. */
export function spinLock(cells: Int32Array, index: number): void {
  // TODO: change the word from 0 to 1 atomically; while that fails (another
  // process holds it), try again.
  void cells, index;
}

/** Releases the spinlock at `cells[index]`. */
export function spinUnlock(cells: Int32Array, index: number): void {
  // TODO: make the word 0 again, atomically.
  void cells, index;
}

/**
 * Takes the mutex at `cells[index]`; a waiter sleeps in the kernel until the
 * holder wakes it. Values: 0 free, 1 held, 2 held and maybe waited for.
 */
export function lock(cells: Int32Array, index: number): void {
  // TODO: fast path: 0 → 1 with compareExchange. Otherwise make the word 2
  // ("someone waits") and sleep with sys.futexWait(cells, index, 2) while it
  // stays 2; each time you wake, try to take it again (leaving 2 behind).
  void cells, index, sys;
}

/** Releases the mutex at `cells[index]`, waking one sleeper if there may be one. */
export function unlock(cells: Int32Array, index: number): void {
  // TODO: make the word 0; if it was 2, wake one sleeper with
  // sys.futexWake(cells, index, 1).
  void cells, index;
}

/**
 * Writes a record of `values.length` fields at `cells[at + 1 …]`, under the
 * mutex at `cells[at]`: no reader sees half of it.
 */
export function writeRecord(cells: Int32Array, at: number, values: readonly number[]): void {
  // TODO: take the mutex at `at`, write the fields, release it (even if
  // something throws: try/finally).
  void cells, at, values;
}

/** Reads the record of `count` fields at `cells[at + 1 …]`, under the mutex at `cells[at]`. */
export function readRecord(cells: Int32Array, at: number, count: number): number[] {
  // TODO: take the mutex at `at`, copy the fields out, release it.
  void cells, at, count;
  return [];
}

/**
 * Prediction: while another process holds the lock, which state letter does
 * `/proc/PID/stat` show for a process waiting in `spinLock`? `"R"` (running
 * or runnable) or `"S"` (asleep)?
 */
export const PREDICTED_SPIN_WAITER_STATE: "R" | "S" | undefined = undefined; // TODO: predict

/**
 * Prediction: a process holds your futex lock (`lock` returned) and another
 * waits in `lock`. The holder is killed with SIGKILL, without `unlock`. What
 * becomes of the waiter? `"acquires"` (it gets the lock), `"waits"` (it
 * goes on waiting, for good) or `"error"` (its `lock` call fails)?
 */
export const PREDICTED_WAITER_WHEN_HOLDER_DIES: "acquires" | "waits" | "error" | undefined =
  undefined; // TODO: predict
