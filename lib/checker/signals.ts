/**
 * What a signal that killed a student's process most likely means, in words
 * that teach.
 *
 * @module
 */

import { type CallRecord, formatInvocation } from "../trace.ts";

const SIGNAL_HINTS: Record<string, string> = {
  SIGBUS:
    "touched a page past the end of the file: did you grow it with ftruncate before mapping or writing there?",
  SIGSEGV:
    "an access the memory does not allow: memory nothing maps (after munmap, or past a mapping's end), a read-only or PROT_NONE page, a guard page, or code run from a page without PROT_EXEC",
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

/** A SIGSEGV explained from the call record: what it shows, and the likely mistake. */
export interface SegvDiagnosis {
  /** What the evidence says: `"unmapped"`, `"protected"` (mprotect), `"read-only"` or `"unknown"`. */
  cause: "unmapped" | "protected" | "read-only" | "unknown";
  /** The calls that show it, in words (for `observed`). */
  evidence: string;
  /** The likely mistake, never contradicting `evidence`. */
  mistake: string;
}

function rangeOf(call: CallRecord): [bigint, bigint] | undefined {
  const address = call.call === "mmap" ? call.result : call.args.addr;
  const length = call.args.length;
  if (typeof address !== "string" || typeof length !== "number") return undefined;
  try {
    const start = BigInt(address);
    return [start, start + BigInt(length)];
  } catch {
    return undefined;
  }
}

function overlaps(a: [bigint, bigint], b: [bigint, bigint]): boolean {
  return a[0] < b[1] && b[0] < a[1];
}

/**
 * What a SIGSEGV most likely was, from the calls the process made. Deno does
 * not report the fault address, so the diagnosis rests on the call record
 * alone: the mapping the access went to (the one overlapping `region`, or the
 * last mmap), then whether a later munmap removed part of it, a later mprotect
 * took away write permission, or it was mapped without `PROT_WRITE`. When none
 * of these shows, it lists what the fault could be, and says what the record
 * rules out: a diagnosis never contradicts the calls printed beside it.
 *
 * @example
 * ```ts
 * const d = diagnoseSegv([
 *   { call: "mmap", args: { addr: "0x0", length: 8192, prot: 3, flags: 2 }, result: "0x7f0000000000" },
 *   { call: "munmap", args: { addr: "0x7f0000001000", length: 4096 }, result: 0 },
 * ]);
 * console.log(d.cause); // unmapped
 * ```
 */
export function diagnoseSegv(
  calls: readonly CallRecord[],
  region?: { address: bigint; length: number },
): SegvDiagnosis {
  const ok = (c: CallRecord) => !c.error;
  const maps = calls.map((c, i) => ({ c, i })).filter(({ c }) => c.call === "mmap" && ok(c));
  const wanted: [bigint, bigint] | undefined = region
    ? [region.address, region.address + BigInt(region.length)]
    : undefined;
  const target = wanted
    ? maps.findLast(({ c }) => {
      const r = rangeOf(c);
      return r !== undefined && overlaps(r, wanted);
    })
    : maps.at(-1);
  const unknown = (ruledOut: string): SegvDiagnosis => ({
    cause: "unknown",
    evidence: ruledOut,
    mistake: "the fault address is not known (Deno does not report it), so it is one of: " +
      "memory nothing maps (used after munmap, or past the end of a mapping), a read-only or " +
      "PROT_NONE page, or a guard page. " + ruledOut,
  });
  if (!target) {
    return unknown("The call record shows no mapping it could have been.");
  }
  const range = rangeOf(target.c)!;
  const shown = formatInvocation(target.c);
  const later = calls.slice(target.i + 1).filter((c) => {
    if (!ok(c)) return false;
    const r = rangeOf(c);
    return r !== undefined && overlaps(r, range);
  });
  const unmapped = later.filter((c) => c.call === "munmap");
  if (unmapped.length) {
    return {
      cause: "unmapped",
      evidence: `${shown}, then ${unmapped.map(formatInvocation).join(", ")}`,
      mistake: "using memory after munmap: the munmap removed pages of the mapping, and an " +
        "access to them faults (nothing is mapped there any more)",
    };
  }
  const protect = later.filter((c) =>
    c.call === "mprotect" && typeof c.args.prot === "number" && !(c.args.prot & 0x2)
  );
  if (protect.length) {
    return {
      cause: "protected",
      evidence: `${shown}, then ${protect.map(formatInvocation).join(", ")}`,
      mistake: "mprotect took write permission away from pages of the mapping (PROT_READ, " +
        "PROT_READ|PROT_EXEC or PROT_NONE), and an access they no longer allow faulted",
    };
  }
  const prot = target.c.args.prot;
  if (typeof prot === "number" && !(prot & 0x2)) {
    return {
      cause: "read-only",
      evidence: shown,
      mistake: "a read-only mapping (no PROT_WRITE): a store into it faults. mapFile maps with " +
        'access "read" unless you ask for "readwrite"',
    };
  }
  return unknown(
    `Not a read-only mapping: ${shown} allows writing, and no munmap or mprotect of it is ` +
      "recorded; look for an access outside it (past its end, or before its start).",
  );
}
