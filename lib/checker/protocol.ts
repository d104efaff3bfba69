/**
 * The line protocol between the checker (parent) and the harness in the
 * child process. Each protocol line on the child's stdout starts with a
 * random token the harness reads from stdin before any student code loads
 * (it is in neither argv nor the environment, which `/proc/self` would
 * show), so printed text cannot pass for a checkpoint or a result. The
 * second line on stdin is the task (drive, student module, parameters).
 *
 * @module
 */

import type { CallRecord } from "../trace.ts";
import type { ChildUser } from "./identity.ts";

/**
 * What a child is started with (its argv): who it runs as and where it may
 * write. Known before the check says what to run, so a child can be started
 * ahead of its task (`ChildPool` in spawn.ts).
 */
export interface ChildSetup {
  /** The child's scratch directory. */
  scratch: string;
  /** Turn on the call record before the student's code loads. */
  record: boolean;
  /** The checker's pid: the child dies with it (`PR_SET_PDEATHSIG`), and refuses to run once it has gone. */
  parent: number;
  /** The user to run as (when the checker runs as root): the harness switches before any student code loads. */
  user?: ChildUser;
}

/**
 * What the child is to run: the second line on its stdin, after the token,
 * read once the child is set up and before any student code loads.
 */
export interface ChildTask {
  /** File URL of the drive module (the checker's code run in the child). */
  drive: string;
  /** Absolute path of the student's module. */
  student: string;
  /** JSON parameters for the drive. */
  params: unknown;
}

/** What the parent tells the harness to run: its setup and its task. */
export type ChildSpec = ChildSetup & ChildTask;

/** An error as it crosses the process boundary. */
export interface SerializedError {
  /** The class name, e.g. `"MmapError"`. */
  name: string;
  /** Its message. */
  message: string;
  /** errno name, when an `MmapError`. */
  code?: string;
  /** The syscall, when an `MmapError`. */
  syscall?: string;
  /** Whether the kernel returned it, when an `MmapError`. */
  fromKernel?: boolean;
  /** The stack, trimmed. */
  stack?: string;
  /**
   * Thrown while importing the student's module: `"compile"` when it does not
   * parse or resolve (a syntax error, a bad import), `"run"` when its
   * top-level code threw.
   */
  whileLoading?: "compile" | "run";
}

/**
 * A message from the harness to the parent. Each carries the calls recorded
 * since the previous message, so a child killed later by a signal still
 * leaves the calls it made before its last checkpoint. `refused`: the child
 * could not be isolated (its user, dying with the checker) and ran no
 * student code: the checker's problem, not the student's.
 */
export type ChildMessage =
  | { kind: "checkpoint"; name: string; data: unknown; calls: CallRecord[] }
  | { kind: "result"; value: unknown; calls: CallRecord[] }
  | { kind: "error"; error: SerializedError; calls: CallRecord[] }
  | { kind: "refused"; reason: string; calls: CallRecord[] };

/**
 * Turns anything thrown into a {@link SerializedError}.
 *
 * @example
 * ```ts
 * console.log(serializeError(new Error("boom")).message); // "boom"
 * ```
 */
export function serializeError(err: unknown): SerializedError {
  if (err instanceof Error) {
    const e = err as Error & { code?: unknown; syscall?: unknown; fromKernel?: unknown };
    // Strings whatever the thrower set (student code may set `message = 42`).
    return {
      name: String(err.name),
      message: String(err.message),
      code: typeof e.code === "string" ? e.code : undefined,
      syscall: typeof e.syscall === "string" ? e.syscall : undefined,
      fromKernel: typeof e.fromKernel === "boolean" ? e.fromKernel : undefined,
      stack: typeof err.stack === "string"
        ? err.stack.split("\n").slice(0, 8).join("\n")
        : undefined,
    };
  }
  return { name: "NonError", message: String(err) };
}
