/**
 * # Lab 07: Many processes, one mapping, no lost updates (reference solution)
 *
 * Several processes map the same file with `MAP_SHARED`: the same physical
 * page sits in each of them, so they all read and write the same bytes.
 * That makes memory the fastest way to share state, and also the easiest way
 * to lose updates. This file makes a shared counter exact, then builds two
 * process-shared locks on it: a spinlock, and a mutex whose waiters sleep in
 * the kernel (`futex(2)`).
 *
 * @module
 */

import { mapFile, sys } from "../../lib/mod.ts";

/**
 * Maps the file at `path` read-write and **shared**, and returns its bytes as
 * 32-bit integers (the file's size is a multiple of 4).
 *
 * The mapping stays for the life of the process: the returned view keeps it
 * reachable, and nothing here unmaps it.
 */
export function openShared(path: string): Int32Array {
  // MAP_SHARED (the default mode): stores go to the file's page-cache page,
  // which every other process mapping the file has in its own address space.
  // MAP_PRIVATE would give this process a private copy on its first store.
  const mapping = mapFile(path, { access: "readwrite" });
  // A view over the same memory, not a copy: `Atomics` needs an integer array.
  return new Int32Array(mapping.bytes.buffer);
}

/**
 * Adds 1 to `cells[index]`, `times` times: the naive way. **Loses updates**
 * when another process adds to the same cell at the same time (given; do not
 * fix this one: the lab compares it with `addAtomic`).
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
  for (let i = 0; i < times; i++) {
    // One indivisible read-modify-write (`lock xadd` on x86-64, an LL/SC or
    // LSE atomic on arm64): no other CPU can store to the cell in between,
    // and a signal cannot split it either.
    Atomics.add(cells, index, 1);
  }
}

/** Lock word values shared by the spinlock and the mutex. */
const UNLOCKED = 0;
const LOCKED = 1;
/** Mutex only: locked, and someone may be asleep waiting for it. */
const CONTENDED = 2;

/** Takes the spinlock at `cells[index]` (0 free, 1 held), spinning until it is free. */
export function spinLock(cells: Int32Array, index: number): void {
  // compareExchange is the atomic "if it is 0, make it 1, and tell me what it
  // was": exactly one process sees 0 come back, and that one owns the lock.
  while (Atomics.compareExchange(cells, index, UNLOCKED, LOCKED) !== UNLOCKED) {
    // Spin: the waiter stays runnable and burns its CPU until the holder
    // (possibly descheduled!) stores 0.
  }
}

/** Releases the spinlock at `cells[index]`. */
export function spinUnlock(cells: Int32Array, index: number): void {
  // An atomic store: every store made inside the critical section is visible
  // to the next owner before it can see 0 here.
  Atomics.store(cells, index, UNLOCKED);
}

/** How many times `lock` retries in user space before going to sleep. */
const SPIN_TRIES = 100;

/**
 * Takes the mutex at `cells[index]`; a waiter sleeps in the kernel until the
 * holder wakes it. Values: 0 free, 1 held, 2 held and maybe waited for.
 * (Ulrich Drepper, "Futexes Are Tricky", mutex 2.)
 */
export function lock(cells: Int32Array, index: number): void {
  // Fast path: free → held, no system call at all.
  let state = Atomics.compareExchange(cells, index, UNLOCKED, LOCKED);
  for (let i = 0; state !== UNLOCKED && i < SPIN_TRIES; i++) {
    // A short spin: the holder on another CPU is often about to release it.
    state = Atomics.compareExchange(cells, index, UNLOCKED, LOCKED);
  }
  if (state === UNLOCKED) return;
  // Slow path: announce a waiter by making the word 2, then sleep while it
  // stays 2. exchange() also takes the lock if it became free meanwhile
  // (it returns 0): then we own it, marked 2, which only costs one spare wake.
  if (state !== CONTENDED) state = Atomics.exchange(cells, index, CONTENDED);
  while (state !== UNLOCKED) {
    // The kernel re-reads the word under its own lock: if it is no longer 2,
    // it returns at once (EAGAIN). So a wake between our exchange and this
    // call is never lost.
    sys.futexWait(cells, index, CONTENDED);
    state = Atomics.exchange(cells, index, CONTENDED);
  }
}

/** Releases the mutex at `cells[index]`, waking one sleeper if there may be one. */
export function unlock(cells: Int32Array, index: number): void {
  // 1 → 0: nobody waits, no system call. 2 → 0: someone may sleep: wake one.
  // Waking one (not all) is enough: it takes the lock marked 2, so its own
  // unlock will wake the next.
  if (Atomics.exchange(cells, index, UNLOCKED) === CONTENDED) {
    sys.futexWake(cells, index, 1);
  }
}

/**
 * Writes a record of `values.length` fields at `cells[at + 1 …]`, under the
 * mutex at `cells[at]`: no reader sees half of it.
 */
export function writeRecord(cells: Int32Array, at: number, values: readonly number[]): void {
  lock(cells, at);
  try {
    // Plain stores are fine inside the lock: the lock's atomic operations
    // order them before the unlock, and the next owner's lock after it.
    for (let i = 0; i < values.length; i++) cells[at + 1 + i] = values[i];
  } finally {
    unlock(cells, at);
  }
}

/** Reads the record of `count` fields at `cells[at + 1 …]`, under the mutex at `cells[at]`. */
export function readRecord(cells: Int32Array, at: number, count: number): number[] {
  lock(cells, at);
  try {
    return Array.from(cells.subarray(at + 1, at + 1 + count));
  } finally {
    unlock(cells, at);
  }
}

/**
 * Prediction: while another process holds the lock, which state letter does
 * `/proc/PID/stat` show for a process waiting in `spinLock`? `"R"` (running
 * or runnable) or `"S"` (asleep)?
 */
export const PREDICTED_SPIN_WAITER_STATE: "R" | "S" | undefined = "R";

/**
 * Prediction: a process holds your futex lock (`lock` returned) and another
 * waits in `lock`. The holder is killed with SIGKILL, without `unlock`. What
 * becomes of the waiter? `"acquires"` (it gets the lock), `"waits"` (it
 * goes on waiting, for good) or `"error"` (its `lock` call fails)?
 */
export const PREDICTED_WAITER_WHEN_HOLDER_DIES: "acquires" | "waits" | "error" | undefined =
  "waits";
