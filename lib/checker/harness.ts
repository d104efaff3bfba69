/**
 * The main module of every child process a checker starts: it moves into a
 * session of its own, takes the protocol token from stdin, switches to the
 * child's own user when the checker runs as root, arranges to die with the
 * checker, seals the call record, loads the drive and the student's module,
 * runs the drive and reports its result.
 * Run only by `spawn.ts`.
 *
 * The student's module runs in this process, so it could replace any global
 * or method this harness calls afterwards (`Deno.stdout.writeSync`,
 * `JSON.stringify`, `TextEncoder.prototype.encode`, `Array.prototype.slice`,
 * `Promise.prototype.then`, `Object.prototype.toJSON`…). Everything the
 * harness needs once that module has loaded is therefore taken here, as this
 * module starts, and kept in this module's scope, out of the student's reach:
 * the writer, the reader, the encoder, the JSON quoting of strings, the few
 * built-ins the message serializer uses. Messages are serialized by hand
 * (own properties only, no `toJSON`), and the checkpoint waits are
 * synchronous reads, so no patched promise can cut them short.
 *
 * @module
 */

import { type ChildMessage, type ChildSetup, type ChildTask, serializeError } from "./protocol.ts";
import type { Drive } from "./drive.ts";
import { sealRecorder } from "../trace.ts";
import { toFileUrl } from "../paths.ts";
import { ignoreSignal, setsid } from "../sys.ts";
import { MmapError } from "../errors.ts";
import { SIG } from "../ffi/constants.ts";
import { becomeUser, dieWithParent } from "./identity.ts";

// --- Taken before any student code exists -----------------------------------------------------
const write = Deno.stdout.writeSync.bind(Deno.stdout);
const read = Deno.stdin.readSync.bind(Deno.stdin);
const exit: (code?: number) => never = Deno.exit;
const textEncoder = new TextEncoder();
const encode = textEncoder.encode.bind(textEncoder);
/** JSON.stringify of a string: quoting never looks anything up (only objects have `toJSON`). */
const quote = JSON.stringify as (text: string) => string;
const keysOf = Object.keys;
const isArray = Array.isArray;
const isFinite = Number.isFinite;
const defineProperty = Object.defineProperty;
const getOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
const promiseResolve = Promise.resolve.bind(Promise);
const U8 = Uint8Array;
const call = Function.prototype.call;
const typedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype);
const byteLengthOf = call.bind(
  Object.getOwnPropertyDescriptor(typedArrayPrototype, "byteLength")!.get!,
) as (view: Uint8Array) => number;
const bufferOf = call.bind(
  Object.getOwnPropertyDescriptor(typedArrayPrototype, "buffer")!.get!,
) as (view: Uint8Array) => ArrayBuffer;
const promiseThen = call.bind(Promise.prototype.then) as <T>(
  promise: Promise<T>,
  onFulfilled: (value: T) => void,
  onRejected: (reason: unknown) => void,
) => Promise<void>;

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

/** Who this child is and where it may write (its argv); what it runs comes on stdin. */
const setup: ChildSetup = JSON.parse(Deno.args[0]);

// --- Standard input: the token, the task, then one line per checkpoint, read synchronously ------
const inBuffer = new U8(4096);
/** Bytes read past the last line taken, while lines are taken whole (before student code). */
let held = new U8(0);
/** Newlines read past the one last waited for (once student code may run). */
let linesAhead = 0;

/**
 * The next line on stdin, as text; `undefined` at end of input. Only before
 * any student code loads: it uses methods a student's code could replace.
 */
function readLine(): string | undefined {
  const parts: Uint8Array[] = [];
  let chunk: Uint8Array = held;
  held = new U8(0);
  for (;;) {
    const nl = chunk.indexOf(10);
    if (nl >= 0) {
      parts.push(chunk.slice(0, nl));
      held = chunk.slice(nl + 1);
      break;
    }
    parts.push(chunk.slice());
    const n = read(inBuffer);
    if (!n) {
      if (parts.every((p) => p.length === 0)) return undefined;
      break;
    }
    chunk = inBuffer.subarray(0, n);
  }
  const line = new U8(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const p of parts) {
    line.set(p, at);
    at += p.length;
  }
  return new TextDecoder().decode(line);
}

/** Waits for the next line on stdin; `false` at end of input (the checker went away). */
function waitForLine(): boolean {
  if (linesAhead > 0) {
    linesAhead--;
    return true;
  }
  for (;;) {
    const n = read(inBuffer);
    if (!n) return false;
    let found = 0;
    for (let i = 0; i < n; i++) if (inBuffer[i] === 10) found++;
    if (found > 0) {
      linesAhead += found - 1;
      return true;
    }
  }
}

// The token arrives as the first line on stdin, before any student code loads:
// not in argv, not in the environment (both readable in /proc/self).
const token = readLine() ?? "";

// --- Messages -----------------------------------------------------------------------------------
/**
 * JSON of a message, by hand: own enumerable properties only, never a
 * `toJSON` (which a student could define on `Object.prototype`), no iterator
 * (`for…of`, spread), no method of a built-in prototype. Values the harness
 * sends are plain data (objects, arrays, strings, numbers, booleans, null).
 */
function toJson(value: unknown, depth: number): string | undefined {
  if (depth > 100) throw new TypeError("a message nested over 100 levels deep");
  if (value === null) return "null";
  switch (typeof value) {
    case "string":
      return quote(value);
    case "number":
      return isFinite(value) ? `${value}` : "null";
    case "boolean":
      return value ? "true" : "false";
    case "bigint":
      throw new TypeError("a BigInt cannot be sent as JSON");
    case "object":
      break;
    default:
      return undefined; // undefined, functions, symbols: left out, as JSON.stringify does
  }
  const object = value as Record<string, unknown>;
  if (isArray(object)) {
    const items = object as unknown as unknown[];
    let out = "[";
    for (let i = 0; i < items.length; i++) {
      out += (i ? "," : "") + (toJson(items[i], depth + 1) ?? "null");
    }
    return out + "]";
  }
  const keys = keysOf(object);
  let out = "{";
  let first = true;
  for (let i = 0; i < keys.length; i++) {
    const item = toJson(object[keys[i]], depth + 1);
    if (item === undefined) continue;
    out += (first ? "" : ",") + quote(keys[i]) + ":" + item;
    first = false;
  }
  return out + "}";
}

function send(message: ChildMessage): void {
  const line = encode("\n" + token + " " + toJson(message, 0) + "\n");
  const total = byteLengthOf(line);
  let written = write(line);
  while (written < total) {
    written += write(new U8(bufferOf(line), written, total - written));
  }
}

/** Reports that this child must not run the student's code, and exits. */
function refuse(reason: unknown): never {
  send({
    kind: "refused",
    reason: reason instanceof Error ? reason.message : String(reason),
    calls: [],
  });
  exit(0);
}

if (sessionError !== undefined) {
  // Without a session of its own, what the student's code starts could not be
  // killed as a group: refuse to run it.
  send({ kind: "error", error: serializeError(sessionError), calls: [] });
  exit(0);
}

// --- Who this child is --------------------------------------------------------------------------
try {
  // As the child's own user (a grader running as root), for good, on every thread.
  if (setup.user) becomeUser(setup.user);
  // After becomeUser: a change of user clears the parent-death signal.
  dieWithParent(setup.parent);
} catch (err) {
  refuse(err);
}

// What awaiting and resolving promises looks up is fixed now, for the drive and the student
// alike. No object or array is a thenable: a `then` a student's code defined on
// Object.prototype or Array.prototype would otherwise decide what the drive's promise resolves
// to (its result). Promise.prototype.then and .constructor and Promise[Symbol.species] keep
// their own: replaced, they would decide what every `await` gives. (A `then` of a plain object
// or a class of one's own still works; assigning one over these throws.)
function lock(object: object, key: PropertyKey): void {
  const own = getOwnPropertyDescriptor(object, key);
  if (!own) {
    defineProperty(object, key, { value: undefined, writable: false, configurable: false });
  } else if ("value" in own) {
    defineProperty(object, key, { value: own.value, writable: false, configurable: false });
  } else {
    defineProperty(object, key, { get: own.get, set: own.set, configurable: false });
  }
}
lock(Object.prototype, "then");
lock(Array.prototype, "then");
lock(Promise.prototype, "then");
lock(Promise.prototype, "constructor");
lock(Promise, Symbol.species);

// From here on only the wrapper records calls, and only this module reads the log.
const log = sealRecorder({ log: setup.record });

// --- What to run ---------------------------------------------------------------------------------
// A child may be started ahead of its task (spawn.ts's ChildPool): everything above is done by
// then, and it waits here for the second line on stdin.
let task: ChildTask;
try {
  const line = readLine();
  if (line === undefined) exit(0); // the checker went away before giving a task: nothing ran
  task = JSON.parse(line);
} catch (err) {
  refuse(err);
}
// What came after the task (none expected yet): lines the checkpoints will find.
for (let i = 0; i < held.length; i++) if (held[i] === 10) linesAhead++;
let sentCalls = 0;
/** The calls recorded since the last message (the log only grows). */
function newCalls() {
  const fresh = log.since(sentCalls);
  sentCalls += fresh.length;
  return fresh;
}

// deno-lint-ignore require-await
async function checkpoint(name: string, data?: unknown): Promise<void> {
  send({ kind: "checkpoint", name, data: data ?? null, calls: newCalls() });
  if (!waitForLine()) throw new Error(`checker went away at checkpoint ${name}`);
}

/** Whether an import failed before the module ran: it does not parse or does not resolve. */
function compileError(err: unknown): boolean {
  if (err instanceof SyntaxError) return true;
  const message = err instanceof Error ? String(err.message) : "";
  return /^(SyntaxError|Module not found|Relative import path|Import ".*" not a dependency|Unable to load|Expected )/
    .test(message);
}

function reportError(err: unknown, whileLoading?: "compile" | "run"): never {
  const error = serializeError(err);
  send({
    kind: "error",
    error: whileLoading ? { ...error, whileLoading } : error,
    calls: newCalls(),
  });
  exit(0);
}

let drive: Drive;
try {
  drive = (await import(task.drive)).default;
} catch (err) {
  reportError(err);
}
// From here on, no `await`: a student's code could change what awaiting a promise does
// (Promise.prototype.then, .constructor); the captured `then` cannot be changed.
promiseThen(
  import(toFileUrl(task.student)),
  (student) => {
    let result: unknown;
    try {
      result = drive({
        params: task.params,
        student,
        scratch: setup.scratch,
        checkpoint,
        calls: log.view,
      });
    } catch (err) {
      reportError(err);
    }
    promiseThen(
      promiseResolve(result),
      (value) => {
        send({ kind: "result", value: value ?? null, calls: newCalls() });
        exit(0);
      },
      (err) => reportError(err),
    );
  },
  (err) => reportError(err, compileError(err) ? "compile" : "run"),
);
