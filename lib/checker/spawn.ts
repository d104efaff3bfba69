/**
 * Running untrusted student code: one child Deno process per call, with a
 * time limit, resource limits where `prlimit` exists (CPU time, writable
 * memory, file size, process count), capped output, no network, a clean
 * environment, and a protocol channel that printed text cannot fake.
 *
 * Each child leads its own session and process group: when it ends, times
 * out or is killed, every process it left in that group or session is killed
 * too, so a forked helper cannot outlive its check. On SIGINT/SIGTERM the
 * parent kills every live child's group before it exits.
 *
 * @module
 */

import { type ChildMessage, type ChildSpec, type SerializedError } from "./protocol.ts";
import { signalHint } from "./signals.ts";
import { toFileUrl } from "../paths.ts";
import type { CallRecord } from "../trace.ts";
import * as sys from "../sys.ts";
import { readProcText } from "../inspect.ts";

/** How a child process ended. */
export type Outcome = "ok" | "threw" | "signal" | "timeout" | "exit";

/** Everything the checker learns from one child process. */
export interface ChildResult {
  /** `ok`: the drive returned; `threw`: it (or the student's code) threw; `signal`: killed by a signal; `timeout`: killed at the time limit; `exit`: ended without reporting (e.g. `Deno.exit`). */
  outcome: Outcome;
  /** The drive's return value, when `ok`. */
  value?: unknown;
  /** What was thrown, when `threw`. */
  error?: SerializedError;
  /** The signal's name, when `signal`. */
  signal?: string;
  /** The process's exit code (128 + signal number when killed). */
  exitCode: number;
  /** The child's process id. */
  pid: number;
  /** Its standard output, without protocol lines, cut at the cap. */
  stdout: string;
  /** Its standard error, cut at the cap. */
  stderr: string;
  /** Whether output was cut (the child printed more than the cap). */
  outputTruncated: boolean;
  /**
   * The libc calls the child's code made through the wrapper. A child killed
   * by a signal keeps those made up to its last checkpoint.
   */
  calls: CallRecord[];
  /** Wall-clock time, ms. */
  durationMs: number;
  /**
   * Processes the child left running when it ended, all killed: those in its
   * session or process group, and (while {@link adoptOrphans} is on) those
   * that had left its session. Absent when `/proc` could not be read.
   */
  leftovers?: number;
}

/**
 * Resource limits of a child, applied with `prlimit` (util-linux) where it
 * exists. Every field has a default; see {@link DEFAULT_LIMITS}.
 */
export interface ChildLimits {
  /** CPU seconds (default: the time limit in whole seconds + 2); SIGXCPU past it. */
  cpuSeconds?: number;
  /**
   * Writable private memory (RLIMIT_DATA), MiB: the JS heap, array buffers,
   * `malloc`, private writable mappings (MAP_ANONYMOUS or MAP_PRIVATE). Shared
   * file mappings and read-only mappings do not count. Allocation past it
   * fails (`RangeError: Array buffer allocation failed`, `ENOMEM` from mmap).
   * An address-space limit (RLIMIT_AS) cannot do this job: V8 reserves tens
   * of GiB of address space up front.
   */
  dataMiB?: number;
  /** Largest file the child may write, MiB; SIGXFSZ past it. */
  fileSizeMiB?: number;
  /**
   * Threads and processes the child may add (RLIMIT_NPROC is per user, so the
   * limit set is the user's count when the first child starts plus this).
   * Not applied for root, whom the kernel exempts from it anyway.
   */
  processHeadroom?: number;
}

/** The limits a child gets unless told otherwise. */
export const DEFAULT_LIMITS: Readonly<Required<Omit<ChildLimits, "cpuSeconds">>> = Object.freeze({
  dataMiB: 2048,
  fileSizeMiB: 1024,
  processHeadroom: 512,
});

/** Options for {@link spawnChild}. */
export interface SpawnOptions {
  /** The drive module (file URL or path). */
  drive: string | URL;
  /** Absolute path of the student's module. */
  student: string;
  /** JSON parameters for the drive. */
  params?: unknown;
  /** The child's scratch directory (must exist); it may write only there. */
  scratch: string;
  /** Directories the child may read (the project tree); the scratch directory is added. */
  readable: string[];
  /** Time limit in ms (default 5000). Checkpoint pauses count. */
  timeoutMs?: number;
  /** Bytes of stdout and of stderr kept (default 64 KiB each). */
  outputCap?: number;
  /** Record libc calls (default true). */
  record?: boolean;
  /**
   * Address-space limit for the child in MiB via prlimit (default: none). V8
   * reserves over 32 GiB of address space at start-up, so this only helps as
   * a very high ceiling; {@link ChildLimits.dataMiB} is the memory limit.
   */
  memoryMiB?: number;
  /** Resource limits (defaults: {@link DEFAULT_LIMITS}). */
  limits?: ChildLimits;
  /** Kills the child (and its process group) when aborted. */
  signal?: AbortSignal;
  /**
   * Extra environment variables. The child's environment is otherwise empty
   * but for `NO_COLOR` and `DENO_DIR` (when set): the
   * parent's variables (tokens, keys) never reach student code.
   */
  env?: Record<string, string>;
}

const MiB = 1024 * 1024;
const PRLIMIT_CANDIDATES = [
  "/usr/bin/prlimit",
  "/bin/prlimit",
  "/usr/sbin/prlimit",
  "/sbin/prlimit",
];
let prlimitIndex = 0;

/**
 * Deno asks for --allow-all to read anything under `/proc`, so `/proc` is
 * read through libc (FFI permission, which every mmap-lab permission set
 * grants). Without it these return `undefined` and only the process group
 * is killed.
 */
function listPids(): number[] | undefined {
  try {
    return sys.listDirectory("/proc").filter((name) => /^\d+$/.test(name)).map(Number);
  } catch {
    return undefined;
  }
}

/**
 * This process's children, from `/proc/PID/task/TID/children` of each of its
 * threads: a few reads instead of one per process on the machine. `undefined`
 * where the kernel has no such files (CONFIG_PROC_CHILDREN) or `/proc` cannot
 * be read.
 */
function ownChildren(): number[] | undefined {
  const tasks = `/proc/${Deno.pid}/task`;
  try {
    const out: number[] = [];
    for (const tid of sys.listDirectory(tasks)) {
      if (!/^\d+$/.test(tid)) continue;
      let text: string;
      try {
        text = readProcText(`${tasks}/${tid}/children`);
      } catch (err) {
        if (!sys.listDirectory(tasks).includes(tid)) continue; // the thread has ended
        throw err; // no children files on this kernel
      }
      for (const pid of text.split(" ")) if (pid.trim()) out.push(Number(pid));
    }
    return out;
  } catch {
    return undefined;
  }
}

/** A small `/proc` file as text, or `undefined`. */
function readProc(path: string): string | undefined {
  try {
    return readProcText(path);
  } catch {
    return undefined;
  }
}

/** Every `/proc/PID/stat` field after the command name: [state, ppid, pgrp, session, …]. */
function procStat(pid: number): string[] | undefined {
  const text = readProc(`/proc/${pid}/stat`);
  return text?.slice(text.lastIndexOf(")") + 2).split(" ");
}

/**
 * Live processes (zombies aside) whose process group or session is `leader`,
 * or `undefined` when `/proc` cannot be read (neither read-all nor FFI
 * permission).
 *
 * @example
 * ```ts ignore
 * console.log(groupMembers(child.pid)); // [] once the child and all it started are gone
 * ```
 */
export function groupMembers(leader: number): number[] | undefined {
  const pids = listPids();
  if (!pids) return undefined;
  const members: number[] = [];
  for (const pid of pids) {
    const f = procStat(pid);
    if (!f || f[0] === "Z" || f[0] === "X") continue;
    if (Number(f[2]) === leader || Number(f[3]) === leader) members.push(pid);
  }
  return members;
}

let userBaseline: number | null | undefined;
/** RLIMIT_NPROC to set: the user's current thread count plus `headroom`; null for root or unknown. */
function processLimit(headroom: number): number | null {
  if (userBaseline === undefined) {
    userBaseline = null;
    const uidOf = (status: string | undefined) => status && /^Uid:\s+(\d+)/m.exec(status)?.[1];
    const uid = uidOf(readProc(`/proc/${Deno.pid}/status`));
    if (uid && uid !== "0") {
      let threads = 0;
      for (const pid of listPids() ?? []) {
        const status = readProc(`/proc/${pid}/status`);
        if (uidOf(status) !== uid) continue;
        threads += Number(/^Threads:\s+(\d+)/m.exec(status!)?.[1] ?? 1);
      }
      userBaseline = threads || null;
    }
  }
  return userBaseline === null ? null : userBaseline + headroom;
}

interface Killable {
  pid: number;
  killGroup(signal: Deno.Signal): void;
}

interface LiveRegistry {
  children: Set<Killable>;
  listening: boolean;
  onSignal: Record<"SIGINT" | "SIGTERM", () => void>;
  /** How many callers asked for {@link adoptOrphans}. */
  adopting: number;
}

/** One registry per process, shared by every copy of this module (the grader loads one per overlay). */
function registry(): LiveRegistry {
  const key = Symbol.for("mmap-lab.checker.live-children");
  const g = globalThis as unknown as Record<symbol, LiveRegistry | undefined>;
  let r = g[key];
  if (!r) {
    const children = new Set<Killable>();
    const stop = (code: number) => () => {
      for (const child of children) child.killGroup("SIGKILL");
      Deno.exit(code);
    };
    r = g[key] = {
      children,
      listening: false,
      onSignal: { SIGINT: stop(130), SIGTERM: stop(143) },
      adopting: 0,
    };
  }
  return r;
}

function track(child: Killable): void {
  const r = registry();
  r.children.add(child);
  if (!r.listening) {
    r.listening = true;
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      try {
        Deno.addSignalListener(signal, r.onSignal[signal]);
      } catch { /* not supported here */ }
    }
  }
}

function untrack(child: Killable): void {
  const r = registry();
  r.children.delete(child);
  if (r.children.size === 0 && r.listening) {
    r.listening = false;
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      try {
        Deno.removeSignalListener(signal, r.onSignal[signal]);
      } catch { /* not supported here */ }
    }
  }
}

const PR_SET_CHILD_SUBREAPER = 36;
const WNOHANG = 1;

function reap(pid: number): void {
  try {
    sys.waitpid(pid, WNOHANG);
  } catch { /* not ours, or gone */ }
}

/**
 * Makes this process a "child subreaper" (Linux `prctl(PR_SET_CHILD_SUBREAPER)`)
 * while `on` calls outnumber `off` calls: a process a child started and then
 * orphaned (a daemon that called `setsid()`, a double fork) is re-parented
 * to this process instead of init, and is killed when any child ends. Needs
 * FFI permission; returns whether adoption is on.
 *
 * @example
 * ```ts ignore
 * adoptOrphans(true);
 * try { await gradeEverything(); } finally { adoptOrphans(false); }
 * ```
 */
export function adoptOrphans(on: boolean): boolean {
  const r = registry();
  const before = r.adopting;
  r.adopting = Math.max(0, r.adopting + (on ? 1 : -1));
  if ((before === 0) !== (r.adopting === 0)) {
    try {
      sys.prctl(PR_SET_CHILD_SUBREAPER, r.adopting ? 1 : 0);
    } catch {
      r.adopting = 0; // no FFI permission, or not Linux
      return false;
    }
  }
  return r.adopting > 0;
}

/**
 * Kills and reaps the orphans adopted from children: processes whose parent
 * is now this one, that are not children this module started, and that live
 * in another session than this process (a checker's own plain subprocesses
 * share this process's session and are left alone). Returns how many.
 */
async function killOrphans(): Promise<Set<number>> {
  const killed = new Set<number>();
  const deadline = performance.now() + 2000;
  // Each round kills one generation: a killed daemon's own children come to us next.
  while (performance.now() < deadline) {
    const orphans = findOrphans();
    if (!orphans?.length) break;
    for (const o of orphans) {
      if (o.zombie) {
        reap(o.pid);
        continue;
      }
      try {
        Deno.kill(o.pid, "SIGKILL");
        killed.add(o.pid);
      } catch { /* gone */ }
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
    for (const o of orphans) reap(o.pid);
  }
  return killed;
}

/**
 * Processes adopted from children (see {@link adoptOrphans}): this process's
 * children that it did not start and that live in another session. Empty
 * when not adopting; `undefined` when `/proc` cannot be read.
 */
function findOrphans(): { pid: number; zombie: boolean }[] | undefined {
  const r = registry();
  if (!r.adopting) return [];
  const self = procStat(Deno.pid); // not /proc/self: Deno wants --allow-all for it
  if (!self) return undefined;
  const mySession = Number(self[3]);
  const known = new Set([...r.children].map((c) => c.pid));
  // Orphans were re-parented to this process: its children lists name them.
  const pids = ownChildren() ?? listPids();
  if (!pids) return undefined;
  const orphans: { pid: number; zombie: boolean }[] = [];
  for (const pid of pids) {
    if (known.has(pid)) continue;
    const f = procStat(pid);
    if (!f || Number(f[1]) !== Deno.pid || Number(f[3]) === mySession) continue;
    orphans.push({ pid, zombie: f[0] === "Z" });
  }
  return orphans;
}

/**
 * Kills every live child process (and its process group) this process
 * started; returns how many there were. For a runner's own clean-up.
 *
 * @example
 * ```ts
 * console.log(killAllChildren()); // 0: none running
 * ```
 */
export function killAllChildren(signal: Deno.Signal = "SIGKILL"): number {
  const { children } = registry();
  const n = children.size;
  for (const child of [...children]) child.killGroup(signal);
  return n;
}

/**
 * Describes how a child ended, for a check's message: the signal with its
 * hint, the time-out, or the error thrown.
 *
 * @example
 * ```ts
 * console.log(describeOutcome({ outcome: "signal", signal: "SIGBUS", exitCode: 135 }));
 * // killed by SIGBUS: touched a page past the end of the file: …
 * ```
 */
export function describeOutcome(
  result: Pick<ChildResult, "outcome" | "signal" | "error" | "exitCode"> & { timeoutMs?: number },
): string {
  switch (result.outcome) {
    case "ok":
      return "ran to the end";
    case "signal":
      return `killed by ${result.signal}: ${signalHint(result.signal ?? "")}`;
    case "timeout":
      return `did not finish within the time limit${
        result.timeoutMs ? ` (${result.timeoutMs / 1000} s)` : ""
      }: an endless loop, or waiting for something that never comes?`;
    case "threw": {
      const e = result.error;
      if (!e) return "threw";
      return `threw ${e.name}: ${e.message}`;
    }
    case "exit":
      return `exited with code ${result.exitCode} before finishing (Deno.exit, or a crash at start-up?)`;
  }
}

class Capture {
  text = "";
  truncated = false;
  constructor(readonly cap: number) {}
  add(chunk: string): void {
    if (this.text.length < this.cap) {
      const room = this.cap - this.text.length;
      this.text += chunk.length > room ? chunk.slice(0, room) : chunk;
      if (chunk.length > room) this.truncated = true;
    } else if (chunk.length > 0) {
      this.truncated = true;
    }
  }
}

/**
 * A running child. Wait for its checkpoints, inspect it from outside (its
 * `pid`), resume it, and collect its result.
 */
export class ChildHandle {
  readonly pid: number;
  readonly #process: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #messages: ChildMessage[] = [];
  #waiters: (() => void)[] = [];
  #ended = false;
  readonly #result: Promise<ChildResult>;
  #timedOut = false;

  /**
   * Use {@link spawnChild}. The child leads its own session and process group
   * (the harness calls setsid() before loading student code), so kills reach
   * the whole group.
   */
  constructor(process: Deno.ChildProcess, token: string, options: SpawnOptions) {
    this.#process = process;
    this.pid = process.pid;
    this.#stdin = process.stdin.getWriter();
    // The protocol token, first thing on stdin (see harness.ts).
    this.#stdin.write(new TextEncoder().encode(`${token}\n`)).catch(() => {});
    const cap = options.outputCap ?? 65536;
    const out = new Capture(cap);
    const err = new Capture(cap);
    const start = performance.now();
    const timeoutMs = options.timeoutMs ?? 5000;
    const killable: Killable = { pid: this.pid, killGroup: (signal) => this.kill(signal) };
    track(killable);
    const timer = setTimeout(() => {
      this.#timedOut = true;
      this.kill("SIGKILL");
    }, timeoutMs);
    const onAbort = () => this.kill("SIGKILL");
    options.signal?.addEventListener("abort", onAbort);
    if (options.signal?.aborted) onAbort();
    const outReader = process.stdout.getReader();
    const errReader = process.stderr.getReader();
    const readOut = this.#readProtocol(outReader, token, out);
    const readErr = (async () => {
      const decoder = new TextDecoder();
      for (;;) {
        const { done, value } = await errReader.read();
        if (done) break;
        err.add(decoder.decode(value, { stream: true }));
      }
    })();
    const stdin = this.#stdin;
    const pid = this.pid;
    this.#result = (async () => {
      const status = await process.status;
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      // Whatever the child left running in its group or session dies now.
      let leftovers: number | undefined;
      if (registry().adopting) {
        // Whatever the child left running was re-parented to this process
        // when it died: count it among our own children (findOrphans), kill
        // the group at once, then sweep the rest.
        const before = (findOrphans() ?? []).filter((o) => !o.zombie).map((o) => o.pid);
        this.#killGroup();
        leftovers = new Set([...before, ...await killOrphans()]).size;
      } else {
        const grouped = this.#killLeftovers();
        const orphans = await killOrphans();
        leftovers = grouped === undefined ? undefined : grouped + orphans.size;
      }
      // A process that left the session may still hold the pipes: wait a
      // little for the output, then stop reading.
      let waited: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.allSettled([readOut, readErr]),
        new Promise<void>((resolve) => waited = setTimeout(resolve, 2000)),
      ]);
      clearTimeout(waited);
      await Promise.allSettled([outReader.cancel(), errReader.cancel()]);
      await Promise.allSettled([readOut, readErr]);
      this.#ended = true;
      untrack(killable);
      this.#wake();
      stdin.close().catch(() => {});
      const final = this.#messages.find((m) => m.kind === "result" || m.kind === "error") as
        | Exclude<ChildMessage, { kind: "checkpoint" }>
        | undefined;
      let outcome: Outcome;
      if (this.#timedOut) outcome = "timeout";
      else if (status.signal) outcome = "signal";
      else if (final?.kind === "result") outcome = "ok";
      else if (final?.kind === "error") outcome = "threw";
      else outcome = "exit";
      return {
        outcome,
        value: final?.kind === "result" ? final.value : undefined,
        error: final?.kind === "error" ? final.error : undefined,
        signal: status.signal ?? undefined,
        exitCode: status.code,
        pid,
        stdout: out.text,
        stderr: err.text,
        outputTruncated: out.truncated || err.truncated,
        calls: this.#messages.flatMap((m) => m.calls ?? []),
        durationMs: performance.now() - start,
        leftovers,
      };
    })();
  }

  /** Kills the (ended) child's process group, whatever is left in it. */
  #killGroup(): void {
    try {
      Deno.kill(-this.pid, "SIGKILL");
    } catch { /* no one left in the group */ }
  }

  /** Kills what the (ended) child left in its group or session; returns how many. */
  #killLeftovers(): number | undefined {
    const members = groupMembers(this.pid);
    this.#killGroup();
    for (const pid of members ?? []) {
      try {
        Deno.kill(pid, "SIGKILL"); // moved to another group of the session
      } catch { /* gone */ }
    }
    return members?.length;
  }

  async #readProtocol(
    reader: ReadableStreamDefaultReader<Uint8Array>,
    token: string,
    out: Capture,
  ) {
    const decoder = new TextDecoder();
    const encoder = new TextEncoder();
    const prefix = token + " ";
    let pending = "";
    // The harness writes "\n<token> <json>\n": the leading newline ends any half-printed line
    // of the student's; when there was none, it makes an empty line that is not theirs.
    let heldEmpty = false;
    const flushLine = (line: string) => {
      if (line.startsWith(prefix)) {
        try {
          this.#messages.push(JSON.parse(line.slice(prefix.length)));
          this.#protocolBytes += encoder.encode(line).length + 2;
          heldEmpty = false;
          this.#wake();
          return;
        } catch { /* not ours after all */ }
      }
      if (heldEmpty) out.add("\n");
      heldEmpty = line === "";
      if (!heldEmpty) out.add(line + "\n");
    };
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      pending += decoder.decode(value, { stream: true });
      let nl: number;
      let from = 0;
      while ((nl = pending.indexOf("\n", from)) >= 0) {
        flushLine(pending.slice(from, nl));
        from = nl + 1;
      }
      pending = pending.slice(from);
      // A long line that cannot be a protocol line is student output: do not hoard it.
      if (pending.length > 65536 && !pending.startsWith(prefix)) {
        out.add(pending);
        pending = "";
      } else if (pending.length > 64 * MiB) {
        out.add(pending.slice(0, 65536)); // a "protocol line" this long is not one
        pending = "";
      }
    }
    if (pending) flushLine(pending);
    if (heldEmpty) out.add("\n");
  }

  #protocolBytes = 0;

  /**
   * Bytes of the protocol's own lines the child has written to stdout so
   * far (each `\n<token> <json>\n`): what to take off `/proc/PID/io`'s
   * `wchar` to see the bytes the student's code wrote.
   */
  get protocolBytes(): number {
    return this.#protocolBytes;
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  #checkpointsSeen = 0;

  /**
   * Waits for the child's next checkpoint and returns its name and data, or
   * `undefined` if the child ended first (see {@link ChildHandle.result}).
   */
  async checkpoint(): Promise<{ name: string; data: unknown } | undefined> {
    for (;;) {
      const checkpoints = this.#messages.filter((m) => m.kind === "checkpoint");
      if (checkpoints.length > this.#checkpointsSeen) {
        const m = checkpoints[this.#checkpointsSeen++] as { name: string; data: unknown };
        return { name: m.name, data: m.data };
      }
      if (this.#ended) return undefined;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** Lets the child go on from its checkpoint. */
  async resume(): Promise<void> {
    try {
      await this.#stdin.write(new TextEncoder().encode("continue\n"));
    } catch { /* the child is gone; result() says how */ }
  }

  /**
   * Sends a signal (default SIGKILL) to the child and every process in its
   * process group; harmless if the child has ended.
   */
  kill(signal: Deno.Signal = "SIGKILL"): void {
    try {
      Deno.kill(-this.pid, signal);
      return;
    } catch { /* group gone (or not made yet): try the child alone */ }
    try {
      this.#process.kill(signal);
    } catch { /* already gone */ }
  }

  /** Waits for the child to end and returns what it did. */
  result(): Promise<ChildResult> {
    return this.#result;
  }

  /** `true` once the child has ended. */
  get ended(): boolean {
    return this.#ended;
  }
}

/** The child's environment: nothing of the parent's but `DENO_DIR` (the module cache). */
function childEnv(extra?: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  try {
    // Ask first: a prompt would garble the runner's raw-mode terminal.
    if (Deno.permissions.querySync({ name: "env", variable: "DENO_DIR" }).state === "granted") {
      const denoDir = Deno.env.get("DENO_DIR");
      if (denoDir) env.DENO_DIR = denoDir;
    }
  } catch { /* no env permission: the default cache */ }
  return { ...env, ...extra, NO_COLOR: "1" };
}

/**
 * Starts a child Deno process that runs a drive against the student's module.
 *
 * The child gets `--allow-ffi` (the lab is about FFI, and FFI can do anything
 * its user can: this is isolation against accidents and honest mistakes, not
 * against an attacker), reads of the project and writes of its scratch
 * directory only, no network, no environment of the parent's, a V8
 * heap of 512 MiB, its own session and process group (killed as a whole), and
 * where `prlimit` exists the limits of {@link ChildLimits}.
 *
 * @example
 * ```ts ignore
 * const child = spawnChild({ drive, student, scratch, readable: [root], params: { n: 3 } });
 * const result = await child.result();
 * ```
 */
export function spawnChild(options: SpawnOptions): ChildHandle {
  const token = crypto.randomUUID();
  const harness = new URL("./harness.ts", import.meta.url);
  const drive = options.drive instanceof URL
    ? options.drive.href
    : options.drive.startsWith("file:")
    ? options.drive
    : toFileUrl(options.drive);
  const spec: ChildSpec = {
    drive,
    student: options.student,
    params: options.params ?? null,
    scratch: options.scratch,
    record: options.record ?? true,
  };
  const timeoutMs = options.timeoutMs ?? 5000;
  const denoArgs = [
    "run",
    "--no-config",
    "--no-prompt",
    "--allow-ffi",
    `--allow-read=${[...options.readable, options.scratch].join(",")}`,
    `--allow-write=${options.scratch}`,
    "--v8-flags=--max-old-space-size=512",
    harness.href,
    JSON.stringify(spec),
  ];
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const prlimitArgs = [
    `--cpu=${limits.cpuSeconds ?? Math.ceil(timeoutMs / 1000) + 2}`,
    `--data=${limits.dataMiB * MiB}`,
    `--fsize=${limits.fileSizeMiB * MiB}`,
    "--core=0",
  ];
  if (options.memoryMiB) prlimitArgs.push(`--as=${options.memoryMiB * MiB}`);
  const nproc = processLimit(limits.processHeadroom);
  if (nproc !== null) prlimitArgs.push(`--nproc=${nproc}`);
  // No `detached`: that makes Deno fork this whole process (~20 ms per child
  // in a grader holding a few hundred MiB, measured) instead of a cheap
  // posix_spawn. The harness calls setsid() itself before loading any
  // student code, so the child still leads its own session and group.
  const start = (command: string, args: string[]) =>
    new Deno.Command(command, {
      args,
      cwd: options.scratch,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      clearEnv: true,
      env: childEnv(options.env),
    }).spawn();
  let process: Deno.ChildProcess | undefined;
  // prlimit sets the limits on itself, then execs Deno: the pid stays the child's.
  while (!process && prlimitIndex < PRLIMIT_CANDIDATES.length) {
    try {
      process = start(PRLIMIT_CANDIDATES[prlimitIndex], [
        ...prlimitArgs,
        Deno.execPath(),
        ...denoArgs,
      ]);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
      prlimitIndex++;
    }
  }
  process ??= start(Deno.execPath(), denoArgs);
  return new ChildHandle(process, token, { ...options, timeoutMs });
}
