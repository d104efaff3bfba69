/**
 * What a signal that killed a student's process most likely means, in words
 * that teach.
 *
 * @module
 */

const SIGNAL_HINTS: Record<string, string> = {
  SIGBUS:
    "touched a page past the end of the file: did you grow it with ftruncate before mapping or writing there?",
  SIGSEGV: "wrote to a read-only mapping, touched a PROT_NONE page, or used memory after munmap",
  SIGKILL: "killed from outside: the time limit, or the memory limit (allocating without bound?)",
  SIGXCPU: "used up its CPU-time limit: an endless loop?",
  SIGXFSZ: "wrote a file past the size limit: growing a file without bound?",
  SIGABRT: "aborted: Deno or V8 gave up (out of memory, or a failed internal check)",
  SIGILL: "an illegal instruction: corrupted code or a jump through a bad pointer",
  SIGFPE: "an arithmetic fault, such as an integer division by zero in native code",
  SIGTERM: "asked to terminate from outside",
  SIGPIPE: "wrote to a pipe nobody reads",
};

/**
 * The teaching hint for a signal name, e.g. `"SIGBUS"`.
 *
 * @example
 * ```ts
 * console.log(signalHint("SIGBUS")); // touched a page past the end of the file: …
 * ```
 */
export function signalHint(signal: string): string {
  return SIGNAL_HINTS[signal] ?? "killed by a signal";
}
