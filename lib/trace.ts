/**
 * The call record: a small built-in strace. While recording is on, every
 * libc call made through `lib/sys.ts` (and so through the whole wrapper)
 * appends one {@link CallRecord}: name, arguments, result and errno.
 *
 * Checkers read it to see exactly what a student's code did; students read it
 * with `deno task lab trace <lab>`.
 *
 * @module
 */

import { MADV, MAP, MS, O, PROT } from "./ffi/constants.ts";

/** An argument or result value as recorded: numbers, strings, or `null` for NULL. */
export type CallValue = number | string | null;

/** One libc call, as the wrapper made it. */
export interface CallRecord {
  /** The libc function, e.g. `"mmap"`. */
  call: string;
  /** The arguments by C parameter name, pointers as hex strings. */
  args: Record<string, CallValue>;
  /** The return value (pointers as hex strings; -1 or `"MAP_FAILED"` on failure). */
  result: CallValue;
  /** The errno name when the call failed, e.g. `"EINVAL"`. */
  error?: string;
}

const MAX_RECORDS = 10_000;

// Taken before any other code runs in this process's JavaScript (the harness
// loads this module before a student's): a student's code may replace the
// globals and methods later, and the record must not notice.
const freeze = Object.freeze;
const setPrototypeOf = Object.setPrototypeOf;

/** The user's record: {@link startRecording} … {@link stopRecording}. */
let records: CallRecord[] | undefined;
let dropped = 0;
/**
 * The sealed log ({@link sealRecorder}): what a checker's child reports to
 * the checker. Only the one who sealed can read it, and only the wrapper
 * (`sys.ts`) can add to it: nobody can clear it. A null-prototype array: an
 * index setter defined on `Array.prototype` cannot intercept its writes.
 */
let sealedLog: CallRecord[] | undefined;
/**
 * The same calls in an ordinary array, for the drive (`ctx.calls()`): appended
 * with its own `push`, which a drive may hook to see each call as it is made
 * (lab 05 snapshots the file at each msync). Never what the checker is sent.
 */
let sealedView: CallRecord[] | undefined;
let sealedDropped = 0;
let sealed = false;
/** Inside {@link withoutRecording}. */
let paused = false;
/** Whether a call is recorded now: a plain variable read on every call. */
let active = false;

function update(): void {
  active = !paused && (records !== undefined || sealedLog !== undefined);
}

/**
 * Whether the call record is on. Checked on every call, so it is a plain
 * variable read when off.
 */
export function isRecording(): boolean {
  return active;
}

/**
 * Turns the call record on (clearing what it held).
 *
 * @example
 * ```ts
 * import { mapAnonymous, startRecording, stopRecording } from "./mod.ts";
 * startRecording();
 * mapAnonymous(4096).unmap();
 * console.log(stopRecording().map((r) => r.call)); // ["mmap", "munmap"]
 * ```
 */
export function startRecording(): void {
  records = [];
  dropped = 0;
  update();
}

/**
 * Turns the call record off and returns what it held (at most 10,000 calls;
 * see {@link droppedRecords} for how many more were made).
 *
 * @example
 * ```ts
 * startRecording();
 * const calls = stopRecording();
 * console.log(calls.length); // 0
 * ```
 */
export function stopRecording(): CallRecord[] {
  const out = records ?? [];
  records = undefined;
  update();
  return out;
}

/**
 * The calls recorded so far, without stopping.
 *
 * @example
 * ```ts
 * startRecording();
 * console.log(recordedCalls().length);
 * stopRecording();
 * ```
 */
export function recordedCalls(): readonly CallRecord[] {
  return records ?? [];
}

/**
 * How many calls were made past the record's cap since recording started.
 *
 * @example
 * ```ts
 * console.log(droppedRecords()); // 0
 * ```
 */
export function droppedRecords(): number {
  return dropped;
}

/** Sets the result of a call recorded as it started, then freezes it (see {@link Recorder}). */
export type CompleteCall = (result: CallValue) => void;

/**
 * The write side of the record: appends a call to the records that are on,
 * its entry and arguments frozen. With `started`, the entry is a call still
 * in progress (a call into machine code, recorded before the jump so that a
 * crash inside leaves it on record with `result: null`): its arguments are
 * frozen at once, and the returned function sets its result and freezes it.
 */
export type Recorder = (entry: CallRecord, started?: boolean) => CompleteCall;

const NOTHING_TO_COMPLETE: CompleteCall = () => {};

function append(entry: CallRecord, started = false): CompleteCall {
  if (!active) return NOTHING_TO_COMPLETE;
  freeze(entry.args);
  if (started) {
    push(entry);
    let done = false;
    return (result) => {
      if (done) return;
      done = true;
      entry.result = result;
      freeze(entry);
    };
  }
  freeze(entry);
  push(entry);
  return NOTHING_TO_COMPLETE;
}

function push(entry: CallRecord): void {
  if (records !== undefined) {
    if (records.length >= MAX_RECORDS) dropped++;
    else records.push(entry);
  }
  if (sealedLog !== undefined) {
    if (sealedLog.length >= MAX_RECORDS) sealedDropped++;
    else {
      sealedLog[sealedLog.length] = entry;
      sealedView?.push(entry);
    }
  }
}

/** Thrown when code asks for the record's write side after {@link sealRecorder}. */
export class SealedRecordError extends Error {
  /** The error for a late `claimRecorder()`. */
  constructor() {
    super(
      "the call record is sealed: only the library's own wrapper (lib/sys.ts) records calls here",
    );
    this.name = "SealedRecordError";
  }
}

/**
 * The write side of the call record, for the wrapper (`lib/sys.ts` takes it
 * as it loads). Throws {@link SealedRecordError} once {@link sealRecorder}
 * has run: in a checker's child, code loaded after the harness (a student's)
 * cannot add a call nobody made.
 *
 * @example
 * ```ts ignore
 * const record = claimRecorder(); // in lib/sys.ts
 * record({ call: "munmap", args: { addr: "0x7f00", length: 4096 }, result: 0 });
 * ```
 */
export function claimRecorder(): Recorder {
  if (sealed) throw new SealedRecordError();
  return append;
}

/** The reading side of the sealed log: see {@link sealRecorder}. */
export interface SealedLog {
  /** How many calls the log holds. */
  readonly length: () => number;
  /** The calls from index `from` on, in a null-prototype array (frozen entries). */
  readonly since: (from: number) => CallRecord[];
  /**
   * The log's calls in one ordinary array, kept up to date (the same array
   * at every call; frozen entries): for the drive, which may hook its `push`.
   */
  readonly view: () => CallRecord[];
  /** How many calls were made past the log's cap. */
  readonly dropped: () => number;
}

/**
 * Seals the call record (once per process; the harness does it before any
 * student code loads): from now on nobody gets the write side
 * ({@link claimRecorder}), and with `log`, every call the wrapper makes is
 * also appended to a log only the caller can read, which
 * {@link startRecording}, {@link stopRecording} and {@link recordCalls}
 * neither clear nor stop. ({@link withoutRecording} pauses it, as it pauses
 * everything: the library's own bookkeeping is never recorded.)
 *
 * @example
 * ```ts ignore
 * const log = sealRecorder({ log: true });
 * await import(studentModule);
 * console.log(log.all().map(formatCall));
 * ```
 */
export function sealRecorder(options: { log: boolean }): SealedLog {
  if (sealed) throw new SealedRecordError();
  sealed = true;
  const log: CallRecord[] = [];
  setPrototypeOf(log, null);
  const view: CallRecord[] = [];
  if (options.log) {
    sealedLog = log;
    sealedView = view;
  }
  update();
  return freeze({
    length: () => log.length,
    since: (from: number) => {
      const out: CallRecord[] = [];
      setPrototypeOf(out, null);
      for (let i = from; i < log.length; i++) out[i - from] = log[i];
      return out;
    },
    view: () => view,
    dropped: () => sealedDropped,
  });
}

/**
 * Runs `fn` with the call record on and returns its result with the calls it
 * made. Recording is restored to off afterwards, even if `fn` throws.
 *
 * @example
 * ```ts
 * import { mapAnonymous, recordCalls } from "./mod.ts";
 * const { calls } = recordCalls(() => mapAnonymous(8192).unmap());
 * console.log(calls.map(formatCall).join("\n"));
 * ```
 */
export function recordCalls<T>(fn: () => T): { value: T; calls: CallRecord[] } {
  startRecording();
  try {
    const value = fn();
    return { value, calls: stopRecording() };
  } catch (err) {
    stopRecording();
    throw err;
  }
}

function flagNames(value: CallValue, table: Record<string, number>, prefix: string): string {
  if (typeof value !== "number") return String(value);
  const names: string[] = [];
  let rest = value;
  for (const [name, bit] of Object.entries(table)) {
    if (bit !== 0 && (value & bit) === bit && (rest & bit) !== 0) {
      names.push(prefix + name);
      rest &= ~bit;
    }
  }
  if (rest !== 0) names.push(`0x${rest.toString(16)}`);
  return names.length ? names.join("|") : (prefix === "PROT_" ? "PROT_NONE" : "0");
}

const MAP_BITS = Object.fromEntries(
  Object.entries(MAP).filter(([name]) => name !== "SHARED_VALIDATE"),
);
const OPEN_BITS = Object.fromEntries(
  Object.entries(O).filter(([name]) => name !== "RDONLY" && name !== "WRONLY" && name !== "RDWR"),
);
/** lseek(2)'s `whence`, by value (Linux). */
const WHENCE: Record<number, string> = {
  0: "SEEK_SET",
  1: "SEEK_CUR",
  2: "SEEK_END",
  3: "SEEK_DATA",
  4: "SEEK_HOLE",
};
/** O_TMPFILE without O_DIRECTORY (Linux): like O_CREAT, it takes a mode. */
const O_TMPFILE_BIT = 0o20000000;

/** Whether an argument is one strace leaves out: open's mode without O_CREAT or O_TMPFILE. */
function unused(entry: CallRecord, name: string): boolean {
  if (entry.call !== "open" || name !== "mode") return false;
  const flags = entry.args.flags;
  return typeof flags === "number" && (flags & (O.CREAT | O_TMPFILE_BIT)) === 0;
}

const ADVICE_NAMES = Object.fromEntries(Object.entries(MADV).map(([k, v]) => [v, `MADV_${k}`]));

function formatArg(call: string, name: string, value: CallValue): string {
  if (value === null) return "NULL";
  if (name === "prot") return flagNames(value, PROT, "PROT_");
  if (name === "flags" && call === "mmap") return flagNames(value, MAP_BITS, "MAP_");
  if (name === "flags" && call === "msync") return flagNames(value, MS, "MS_");
  if (name === "flags" && call === "open" && typeof value === "number") {
    const mode = ["O_RDONLY", "O_WRONLY", "O_RDWR"][value & 3] ?? String(value & 3);
    const rest = flagNames(value & ~3, OPEN_BITS, "O_");
    return rest === "0" ? mode : `${mode}|${rest}`;
  }
  if (name === "advice" && typeof value === "number") return ADVICE_NAMES[value] ?? String(value);
  if (name === "whence" && typeof value === "number") return WHENCE[value] ?? String(value);
  if (name === "mode" && typeof value === "number") return `0${value.toString(8)}`;
  if (name === "op" && typeof value === "string") return value;
  if (typeof value === "string" && !value.startsWith("0x")) return JSON.stringify(value);
  return String(value);
}

/**
 * One call as strace would print it, with flags by name:
 * `mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED, 3, 0) = 0x7f3a…`.
 *
 * @example
 * ```ts
 * console.log(formatCall({ call: "munmap", args: { addr: "0x7f00", length: 4096 }, result: 0 }));
 * // munmap(0x7f00, 4096) = 0
 * ```
 */
export function formatCall(entry: CallRecord): string {
  const error = entry.error ? ` ${entry.error}` : "";
  return `${formatInvocation(entry)} = ${entry.result}${error}`;
}

/**
 * One call without its result: what the code asked for. Like strace: flags
 * and `whence` by name, and no mode for an `open` without `O_CREAT`.
 *
 * @example
 * ```ts
 * console.log(formatInvocation({ call: "munmap", args: { addr: "0x7f00", length: 4096 }, result: 0 }));
 * // munmap(0x7f00, 4096)
 * ```
 */
export function formatInvocation(entry: CallRecord): string {
  const args = Object.entries(entry.args).filter(([name]) => !unused(entry, name)).map((
    [name, value],
  ) => formatArg(entry.call, name, value));
  return `${entry.call}(${args.join(", ")})`;
}

/**
 * Runs `fn` with the call record paused, so the wrapper's own bookkeeping
 * (reading /proc, say) does not show up among the student's calls.
 *
 * @example
 * ```ts
 * const size = withoutRecording(() => 42);
 * ```
 */
export function withoutRecording<T>(fn: () => T): T {
  const saved = paused;
  paused = true;
  update();
  try {
    return fn();
  } finally {
    paused = saved;
    update();
  }
}
