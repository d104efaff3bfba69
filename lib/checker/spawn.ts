/**
 * Running untrusted student code: one child Deno process per call, with a
 * time limit, resource limits where `prlimit` exists, capped output, no
 * network, and a protocol channel that printed text cannot fake.
 *
 * @module
 */

import { type ChildMessage, type ChildSpec, type SerializedError, TOKEN_ENV } from "./protocol.ts";
import { signalHint } from "./signals.ts";
import { toFileUrl } from "./paths.ts";
import type { CallRecord } from "../trace.ts";

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
  /** The libc calls the child's code made through the wrapper. */
  calls: CallRecord[];
  /** Wall-clock time, ms. */
  durationMs: number;
}

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
  /** Address-space limit for the child in MiB via prlimit (default: none; V8 reserves a lot). */
  memoryMiB?: number;
  /** Extra environment variables. */
  env?: Record<string, string>;
}

let prlimitPath: string | null | undefined;
function findPrlimit(): string | null {
  if (prlimitPath !== undefined) return prlimitPath;
  for (const dir of ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]) {
    try {
      Deno.statSync(`${dir}/prlimit`);
      return prlimitPath = `${dir}/prlimit`;
    } catch { /* not here */ }
  }
  return prlimitPath = null;
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

  /** Use {@link spawnChild}. */
  constructor(process: Deno.ChildProcess, token: string, options: SpawnOptions) {
    this.#process = process;
    this.pid = process.pid;
    this.#stdin = process.stdin.getWriter();
    const cap = options.outputCap ?? 65536;
    const out = new Capture(cap);
    const err = new Capture(cap);
    const start = performance.now();
    const timeoutMs = options.timeoutMs ?? 5000;
    const timer = setTimeout(() => {
      this.#timedOut = true;
      this.kill("SIGKILL");
    }, timeoutMs);
    const readOut = this.#readProtocol(process.stdout, token, out);
    const readErr = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of process.stderr) err.add(decoder.decode(chunk, { stream: true }));
    })();
    const stdin = this.#stdin;
    const pid = this.pid;
    this.#result = (async () => {
      const status = await process.status;
      clearTimeout(timer);
      await Promise.allSettled([readOut, readErr]);
      this.#ended = true;
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
        calls: final?.calls ?? [],
        durationMs: performance.now() - start,
      };
    })();
  }

  async #readProtocol(stream: ReadableStream<Uint8Array>, token: string, out: Capture) {
    const decoder = new TextDecoder();
    const prefix = token + " ";
    let pending = "";
    const flushLine = (line: string) => {
      if (line.startsWith(prefix)) {
        try {
          this.#messages.push(JSON.parse(line.slice(prefix.length)));
          this.#wake();
          return;
        } catch { /* not ours after all */ }
      }
      out.add(line + "\n");
    };
    for await (const chunk of stream) {
      pending += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        flushLine(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
      }
      // A long line that cannot be a protocol line is student output: do not hoard it.
      if (pending.length > 65536 && !pending.startsWith(prefix)) {
        out.add(pending);
        pending = "";
      }
    }
    if (pending) flushLine(pending);
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

  /** Sends a signal (default SIGKILL); harmless if the child has ended. */
  kill(signal: Deno.Signal = "SIGKILL"): void {
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

/**
 * Starts a child Deno process that runs a drive against the student's module.
 *
 * The child gets `--allow-ffi` (the lab is about FFI, and FFI can do anything
 * its user can: this is isolation against accidents and honest mistakes, not
 * against an attacker), reads of the project and writes of its scratch
 * directory only, no network, and where `prlimit` exists a CPU-time, file-size
 * and (optionally) address-space limit.
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
    `--allow-env=${TOKEN_ENV}`,
    "--v8-flags=--max-old-space-size=512",
    harness.href,
    JSON.stringify(spec),
  ];
  let command = Deno.execPath();
  let args = denoArgs;
  const prlimit = findPrlimit();
  if (prlimit) {
    const cpu = Math.ceil(timeoutMs / 1000) + 2;
    const limits = [`--cpu=${cpu}`, `--fsize=${1 << 30}`, "--core=0"];
    if (options.memoryMiB) limits.push(`--as=${options.memoryMiB * 1024 * 1024}`);
    args = [...limits, command, ...denoArgs];
    command = prlimit;
  }
  const process = new Deno.Command(command, {
    args,
    cwd: options.scratch,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { ...options.env, [TOKEN_ENV]: token, NO_COLOR: "1" },
  }).spawn();
  return new ChildHandle(process, token, { ...options, timeoutMs });
}
