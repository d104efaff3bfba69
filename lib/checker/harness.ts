/**
 * The main module of every child process a checker starts: it moves into a
 * session of its own, takes the protocol token from stdin, turns on the call record, loads the
 * drive and the student's module, runs the drive and reports its result.
 * Run only by `spawn.ts`.
 *
 * @module
 */

import { type ChildMessage, type ChildSpec, serializeError } from "./protocol.ts";
import type { Drive } from "./drive.ts";
import { recordedCalls, startRecording } from "../trace.ts";
import { toFileUrl } from "../paths.ts";
import { ignoreSignal, setsid } from "../sys.ts";
import { MmapError } from "../errors.ts";
import { SIG } from "../ffi/constants.ts";

// Lead a session and process group of our own before any student code runs,
// so the checker can kill everything this child starts as one group. (Done
// here rather than with Deno.Command's `detached`, which makes Deno fork the
// whole parent: ~20 ms in a grader holding a few hundred MiB, measured.)
let sessionError: unknown;
try {
  setsid();
} catch (err) {
  // EPERM: already a process group leader (started detached): the group is ours anyway.
  if (!(err instanceof MmapError && err.code === "EPERM")) sessionError = err;
}

// spawn.ts limits the file size (RLIMIT_FSIZE): past it the kernel sends
// SIGXFSZ, which kills by default. Ignored, the write or ftruncate fails with
// EFBIG instead, an MmapError with a hint (errors.ts) the student can read.
ignoreSignal(SIG.XFSZ);

const spec: ChildSpec = JSON.parse(Deno.args[0]);
const encoder = new TextEncoder();

let sentCalls = 0;
/** The calls recorded since the last message (the record only grows). */
function newCalls() {
  const all = recordedCalls();
  const fresh = all.slice(sentCalls);
  sentCalls = all.length;
  return fresh;
}

function send(message: ChildMessage): void {
  const line = encoder.encode(`\n${token} ${JSON.stringify(message)}\n`);
  let written = 0;
  while (written < line.length) written += Deno.stdout.writeSync(line.subarray(written));
}

const stdinLines = (async function* () {
  let pending = "";
  const decoder = new TextDecoder();
  for await (const chunk of Deno.stdin.readable) {
    pending += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = pending.indexOf("\n")) >= 0) {
      yield pending.slice(0, nl);
      pending = pending.slice(nl + 1);
    }
  }
})();

// The token arrives as the first line on stdin, before any student code loads:
// not in argv, not in the environment (both readable in /proc/self).
const token = (await stdinLines.next()).value ?? "";

async function checkpoint(name: string, data?: unknown): Promise<void> {
  send({ kind: "checkpoint", name, data: data ?? null, calls: newCalls() });
  const next = await stdinLines.next();
  if (next.done) throw new Error(`checker went away at checkpoint ${name}`);
}

/** Whether an import failed before the module ran: it does not parse or does not resolve. */
function compileError(err: unknown): boolean {
  if (err instanceof SyntaxError) return true;
  const message = err instanceof Error ? String(err.message) : "";
  return /^(SyntaxError|Module not found|Relative import path|Import ".*" not a dependency|Unable to load|Expected )/
    .test(message);
}

if (sessionError !== undefined) {
  // Without a session of its own, what the student's code starts could not be
  // killed as a group: refuse to run it.
  send({ kind: "error", error: serializeError(sessionError), calls: [] });
  Deno.exit(0);
}
if (spec.record) startRecording();
try {
  const drive: Drive = (await import(spec.drive)).default;
  let student;
  try {
    student = await import(toFileUrl(spec.student));
  } catch (err) {
    send({
      kind: "error",
      error: { ...serializeError(err), whileLoading: compileError(err) ? "compile" : "run" },
      calls: newCalls(),
    });
    Deno.exit(0);
  }
  const value = await drive({
    params: spec.params,
    student,
    scratch: spec.scratch,
    checkpoint,
    calls: recordedCalls,
  });
  send({ kind: "result", value: value ?? null, calls: newCalls() });
} catch (err) {
  send({ kind: "error", error: serializeError(err), calls: newCalls() });
}
Deno.exit(0);
