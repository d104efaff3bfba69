/**
 * Running untrusted student code: one child Deno process per call, with a
 * time limit, resource limits where `prlimit` exists (CPU time, writable
 * memory, file size, process count), capped output, no network, a clean
 * environment, and a protocol channel that printed text cannot fake.
 *
 * Each child leads its own session and process group: when it ends, times
 * out or is killed, every process it left in that group or session is killed
 * too, so a forked helper cannot outlive its check. On SIGINT/SIGTERM the
 * parent kills every live child's group before it exits. The registry of
 * live children and the sweep of what they leave is `children.ts`; reading
 * the process table is `proctable.ts`.
 *
 * @module
 */

import {
  type ChildMessage,
  type ChildSetup,
  type ChildTask,
  type SerializedError,
} from "./protocol.ts";
import { signalHint } from "./signals.ts";
import { toFileUrl } from "../paths.ts";
import type { CallRecord } from "../trace.ts";
import { type Killable, sweepLeftovers, track, untrack } from "./children.ts";
import { userThreads } from "./proctable.ts";
import type { ChildUser } from "./identity.ts";

// Moved out of this module; importable from here as before.
export { adoptOrphans, killAllChildren } from "./children.ts";
export { groupMembers } from "./proctable.ts";

/** How a child process ended. */
export type Outcome = "ok" | "threw" | "signal" | "timeout" | "exit" | "refused";

/** Everything the checker learns from one child process. */
export interface ChildResult {
  /** `ok`: the drive returned; `threw`: it (or the student's code) threw; `signal`: killed by a signal; `timeout`: killed at the time limit; `exit`: ended without reporting (e.g. `Deno.exit`); `refused`: the harness could not isolate the child (its user, dying with the checker) and ran no student code: a grading problem, not the student's. */
  outcome: Outcome;
  /** Why the harness refused to run the student's code, when `refused`. */
  refused?: string;
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
  /** The time limit it ran under, ms. */
  timeoutMs?: number;
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
  /** Largest file the child may write, MiB; past it, `EFBIG` (the harness ignores SIGXFSZ). */
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
  /**
   * The harness module (file URL or path): the one in the same tree as the
   * library the student's module imports, so that the call record the
   * harness reads is the one the library writes (default: the harness next
   * to this file). The grader runs this file from the instructor's tree and
   * the children from each student's overlay.
   */
  harness?: string | URL;
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
   * The user the child runs as (the checker must run as root): the harness
   * switches to it before any student code loads; the process limit then
   * counts its processes. Give it the scratch folder first (`handOver` in
   * identity.ts). Default: the checker's own user.
   */
  user?: ChildUser;
  /**
   * Extra environment variables. The child's environment is otherwise empty
   * but for `NO_COLOR` and `DENO_DIR` (when set): the
   * parent's variables (tokens, keys) never reach student code.
   */
  env?: Record<string, string>;
  /**
   * A module cache (a `DENO_DIR`) already holding every module this child
   * loads, transpiled: the grader fills one per student
   * (`lib/grader/module_cache.ts`). The child reads from it, writes nothing
   * to it when it is complete, and keeps no V8 code cache. Default: the
   * parent's cache, and for a child of another user no transpile cache at all.
   */
  moduleCache?: string;
}

const MiB = 1024 * 1024;
const PRLIMIT_CANDIDATES = [
  "/usr/bin/prlimit",
  "/bin/prlimit",
  "/usr/sbin/prlimit",
  "/sbin/prlimit",
];
let prlimitIndex = 0;

let userBaseline: number | null | undefined;
/** RLIMIT_NPROC to set: the user's current thread count plus `headroom`; null for root or unknown. */
function processLimit(headroom: number): number | null {
  if (userBaseline === undefined) userBaseline = userThreads();
  return userBaseline === null ? null : userBaseline + headroom;
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
      return `did not finish within ${
        result.timeoutMs ? `its ${result.timeoutMs / 1000} s time limit` : "the time limit"
      }: an endless loop, or waiting for something that never comes?`;
    case "threw": {
      const e = result.error;
      if (!e) return "threw";
      return `threw ${e.name}: ${e.message}`;
    }
    case "exit":
      return `exited with code ${result.exitCode} before finishing (Deno.exit, or a crash at start-up?)`;
    case "refused":
      return "was not run: the checker could not isolate its process (a grading problem)";
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
  /** The child's process id (the leader of its session and process group). */
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
  constructor(
    process: Deno.ChildProcess,
    token: string,
    options: SpawnOptions,
    tokenSentOn?: WritableStreamDefaultWriter<Uint8Array>,
  ) {
    this.#process = process;
    this.pid = process.pid;
    this.#stdin = tokenSentOn ?? process.stdin.getWriter();
    // The protocol token, first thing on stdin (already sent, on `tokenSentOn`, to a child
    // started ahead of its task), then the task (see harness.ts).
    const task = JSON.stringify(taskOf(options));
    this.#stdin.write(new TextEncoder().encode(`${tokenSentOn ? "" : `${token}\n`}${task}\n`))
      .catch(() => {});
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
        this.#stderrBytes += value.length;
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
      const leftovers = await sweepLeftovers(pid);
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
      const final = this.#messages.find((m) => m.kind !== "checkpoint") as
        | Exclude<ChildMessage, { kind: "checkpoint" }>
        | undefined;
      let outcome: Outcome;
      if (this.#timedOut) outcome = "timeout";
      else if (status.signal) outcome = "signal";
      else if (final?.kind === "result") outcome = "ok";
      else if (final?.kind === "error") outcome = "threw";
      else if (final?.kind === "refused") outcome = "refused";
      else outcome = "exit";
      return {
        outcome,
        value: final?.kind === "result" ? final.value : undefined,
        error: final?.kind === "error" ? final.error : undefined,
        refused: final?.kind === "refused" ? final.reason : undefined,
        signal: status.signal ?? undefined,
        exitCode: status.code,
        pid,
        stdout: out.text,
        stderr: err.text,
        outputTruncated: out.truncated || err.truncated,
        calls: this.#messages.flatMap((m) => m.calls ?? []),
        durationMs: performance.now() - start,
        timeoutMs,
        leftovers,
      };
    })();
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
      this.#stdoutBytes += value.length;
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

  #stdoutBytes = 0;
  #stderrBytes = 0;

  /**
   * Every byte read so far from the child's stdout, protocol lines included,
   * however much was printed (the capture keeps 64 KiB). At a checkpoint it
   * holds everything written to stdout before it (one pipe, in order). Taken
   * off `/proc/PID/io`'s `wchar` with {@link stderrBytes}, it leaves what the
   * process wrote elsewhere: to files.
   */
  get stdoutBytes(): number {
    return this.#stdoutBytes;
  }

  /**
   * Every byte read so far from the child's stderr. A pipe of its own, it may
   * lag behind a checkpoint: read it once the child has ended for a total
   * that is never short.
   */
  get stderrBytes(): number {
    return this.#stderrBytes;
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

/** What `options` ask the child to run: the drive (as a file URL), the student's module, the parameters. */
function taskOf(options: SpawnOptions): ChildTask {
  const drive = options.drive instanceof URL
    ? options.drive.href
    : options.drive.startsWith("file:")
    ? options.drive
    : toFileUrl(options.drive);
  return { drive, student: options.student, params: options.params ?? null };
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
  const started = startProcess(options);
  return new ChildHandle(started.process, started.token, options);
}

/** A Deno process started on the harness, waiting for (or given) its task. */
interface Started {
  process: Deno.ChildProcess;
  token: string;
  /** Set once the process has ended. */
  ended: boolean;
}

/** How a child with the setup `options` give is started (not its task: that goes on stdin). */
interface Plan {
  prlimitArgs: string[];
  denoArgs: string[];
  cwd: string;
  env: Record<string, string>;
  /** All of the above: a child started from this plan may take a task of the same key. */
  key: string;
}

/** The plan of a child for `options` (their drive, student and params do not enter it). */
function planProcess(options: SpawnOptions): Plan {
  const harness = options.harness === undefined
    ? new URL("./harness.ts", import.meta.url)
    : options.harness instanceof URL
    ? options.harness
    : new URL(options.harness.startsWith("file:") ? options.harness : toFileUrl(options.harness));
  const setup: ChildSetup = {
    scratch: options.scratch,
    record: options.record ?? true,
    parent: Deno.pid,
    ...(options.user ? { user: options.user } : {}),
  };
  const timeoutMs = options.timeoutMs ?? 5000;
  const denoArgs = [
    "run",
    "--no-config",
    "--no-prompt",
    // A fresh V8 code cache per student costs more than it saves (grading 4 × 12 labs as
    // root: 57–62 s without it, 67–69 s with it, measured), and a child could write into it.
    ...(options.moduleCache ? ["--no-code-cache"] : []),
    "--allow-ffi",
    `--allow-read=${[...options.readable, options.scratch].join(",")}`,
    `--allow-write=${options.scratch}`,
    "--v8-flags=--max-old-space-size=512",
    harness.href,
    JSON.stringify(setup),
  ];
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const prlimitArgs = [
    `--cpu=${limits.cpuSeconds ?? Math.ceil(timeoutMs / 1000) + 2}`,
    `--data=${limits.dataMiB * MiB}`,
    `--fsize=${limits.fileSizeMiB * MiB}`,
    "--core=0",
  ];
  if (options.memoryMiB) prlimitArgs.push(`--as=${options.memoryMiB * MiB}`);
  // A child of its own user counts only that user's processes: the headroom is the limit.
  const nproc = options.user ? limits.processHeadroom : processLimit(limits.processHeadroom);
  if (nproc !== null) prlimitArgs.push(`--nproc=${nproc}`);
  const env = childEnv(
    // A child that switches users cannot write the cache its Deno opened as root: each
    // module it loads after the switch would retry writing its transpiled code for 150 ms
    // (measured: 750 ms a child instead of 200). Nothing is read from or written to it then.
    options.moduleCache
      ? { ...options.env, DENO_DIR: options.moduleCache, DENO_EMIT_CACHE_MODE: "normal" }
      : options.user
      ? { DENO_EMIT_CACHE_MODE: "disable", ...options.env }
      : options.env,
  );
  return {
    prlimitArgs,
    denoArgs,
    cwd: options.scratch,
    env,
    key: JSON.stringify([prlimitArgs, denoArgs, options.scratch, env]),
  };
}

/** Starts the harness on a plan. */
function startProcess(options: SpawnOptions, plan = planProcess(options)): Started {
  const token = crypto.randomUUID();
  const { prlimitArgs, denoArgs, env } = plan;
  // No `detached`: that makes Deno fork this whole process (~20 ms per child
  // in a grader holding a few hundred MiB, measured) instead of a cheap
  // posix_spawn. The harness calls setsid() itself before loading any
  // student code, so the child still leads its own session and group.
  const start = (command: string, args: string[]) =>
    new Deno.Command(command, {
      args,
      cwd: plan.cwd,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      clearEnv: true,
      env,
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
  const started: Started = { process, token, ended: false };
  process.status.then(() => started.ended = true, () => started.ended = true);
  return started;
}

/** A child started ahead of its task, waiting on stdin. */
interface Waiting extends Started {
  stdin: WritableStreamDefaultWriter<Uint8Array>;
  killable: Killable;
}

/**
 * Children started ahead of their tasks: a Deno process takes about 90 ms of
 * CPU to start (measured on a 2-core VM), most of it before it can know what
 * to run. A pool starts the next child while the current one works, so a
 * check that spawns finds one ready. Each child still runs one task and
 * ends: nothing of one task's process (the student's module, its globals,
 * its crashes) reaches another's. A child waiting in the pool has loaded the
 * harness and the library, switched to its user and sealed its call record;
 * it has not seen the drive, the student's module or the parameters, which
 * come on stdin when it is taken. Its time limit starts when it is taken.
 *
 * A child is taken only by a task started with the same setup (limits, time
 * limit, user, scratch folder, environment, harness): the pool keeps one
 * waiting per setup it has seen (`depth`), and `close()` kills those left.
 *
 * @example
 * ```ts ignore
 * await using pool = new ChildPool();
 * pool.prestart({ drive, student, scratch, readable: [root] });
 * const child = pool.spawn({ drive, student, scratch, readable: [root], params: { n: 3 } });
 * const result = await child.result();
 * ```
 */
export class ChildPool {
  readonly #waiting = new Map<string, Waiting[]>();
  #closed = false;
  #taken = 0;
  #started = 0;

  /**
   * An empty pool: nothing starts before {@link ChildPool.prestart} or the first
   * {@link ChildPool.spawn}.
   *
   * @param depth Children kept waiting per setup (default 1).
   * @param expected How many tasks are expected in all (e.g. as many as the
   *   last run of the same checks had): no child is started ahead past that
   *   many, so none is left unused at the end. Default: no bound.
   */
  constructor(readonly depth = 1, readonly expected = Infinity) {}

  /** Children handed a task from the pool so far (the rest of {@link ChildPool.spawn}'s started cold). */
  get taken(): number {
    return this.#taken;
  }

  /** Children the pool started ahead of a task. */
  get started(): number {
    return this.#started;
  }

  /** Starts children for tasks with the setup of `options` (drive, student and params are ignored), up to `depth`. */
  prestart(options: SpawnOptions): void {
    this.#prestart(options, planProcess(options));
  }

  #prestart(options: SpawnOptions, plan: Plan): void {
    if (this.#closed || options.signal?.aborted) return;
    const list: Waiting[] = [];
    for (const waiting of this.#waiting.get(plan.key) ?? []) {
      if (waiting.ended) this.#discard(waiting);
      else list.push(waiting);
    }
    while (list.length < this.depth && this.#started < this.expected) {
      const started = startProcess(options, plan);
      list.push({ ...started, ...this.#hold(started) });
      this.#started++;
    }
    this.#waiting.set(plan.key, list);
  }

  /** Sends the token at once, and tracks the process so that an interrupt kills it. */
  #hold(started: Started): Pick<Waiting, "stdin" | "killable"> {
    const stdin = started.process.stdin.getWriter();
    stdin.write(new TextEncoder().encode(`${started.token}\n`)).catch(() => {});
    const process = started.process;
    const killable: Killable = {
      pid: process.pid,
      killGroup: (signal) => {
        try {
          Deno.kill(-process.pid, signal);
          return;
        } catch { /* no group yet: the process alone */ }
        try {
          process.kill(signal);
        } catch { /* gone */ }
      },
    };
    track(killable);
    return { stdin, killable };
  }

  /** Kills a waiting child that will never get a task, and lets go of its pipes. */
  async #discard(waiting: Waiting): Promise<void> {
    waiting.killable.killGroup("SIGKILL");
    untrack(waiting.killable);
    await Promise.allSettled([
      waiting.process.status,
      waiting.stdin.close(),
      waiting.process.stdout.cancel(),
      waiting.process.stderr.cancel(),
    ]);
  }

  /**
   * Runs a task as {@link spawnChild} does, on a child started ahead with the
   * same setup when one is waiting (else on a fresh one), and starts the next.
   */
  spawn(options: SpawnOptions): ChildHandle {
    if (this.#closed) return spawnChild(options);
    const plan = planProcess(options);
    const list = this.#waiting.get(plan.key) ?? [];
    let waiting: Waiting | undefined;
    while ((waiting = list.shift())) {
      if (!waiting.ended) break;
      this.#discard(waiting);
    }
    let child: ChildHandle;
    if (waiting) {
      untrack(waiting.killable);
      this.#taken++;
      child = new ChildHandle(waiting.process, waiting.token, options, waiting.stdin);
    } else {
      const started = startProcess(options, plan);
      child = new ChildHandle(started.process, started.token, options);
    }
    this.#prestart(options, plan);
    return child;
  }

  /** Kills every child still waiting; the pool then starts none ahead. */
  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#waiting.values()].flat();
    this.#waiting.clear();
    await Promise.all(all.map((w) => this.#discard(w)));
  }

  /** {@link ChildPool.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
