/**
 * Contradictions a check's result can hold, stated so that a program can find
 * them: a message that says one thing while the same result's evidence (its
 * details, notes or recorded calls) says another. `tests/labs_test.ts` runs
 * {@link contradictions} over every graded reference solution and every
 * graded `.mistake`.
 *
 * The rules:
 *
 * 1. **"no prediction yet" only without a prediction**: a check failing with
 *    that message observed `undefined` (requirePrediction's `said(value)`),
 *    and is marked `awaitingPrediction`; a check marked `awaitingPrediction`
 *    says "no prediction yet".
 * 2. **Withheld means withheld**: a check awaiting a prediction shows no
 *    note but the placeholder (what the kernel did is the answer).
 * 3. **Flags claimed are flags recorded**: a failure that says the file was
 *    mapped `MAP_PRIVATE` (or `MAP_SHARED`, or with `PROT_WRITE`, or
 *    read-only: "the mapping is not writable") names a flag that at least one
 *    recorded successful file `mmap` of the check's calls (or of the check
 *    whose run it shares) has, when any was recorded. Only claims about the
 *    file or the mapping count: "the page was mapped read-only" is about a
 *    page table entry, which no call records.
 * 4. **A passed check says nothing failed**: no message, no expected,
 *    observed or mistake.
 *
 * Not checked (no mechanical reading of them is sound): whether a note and
 * the expected/observed of one check give two numbers for the same quantity
 * (the same words, "Rss", "pages present", name different moments of a run);
 * whether a "likely mistake" is the right diagnosis; claims about calls made
 * outside the library (Deno's own file API is not recorded).
 *
 * @module
 */

import type { CallRecord } from "../lib/mod.ts";
import { hasFlag, succeeded } from "../lib/checker/calls.ts";
import type { CheckResult, LabResult } from "../lib/checker/run.ts";

/** What the runner shows instead of the notes of a check awaiting a prediction. */
export const WITHHELD = "what the kernel did is shown once your prediction is in";

/** Claims about how a file was mapped, and the flag each one needs in the record. */
const FLAG_CLAIMS: { claim: RegExp; holds: (mmap: CallRecord) => boolean; what: string }[] = [
  {
    claim: /\b(?:is |was )?mapped MAP_PRIVATE\b/,
    holds: (m) => hasFlag(m, "MAP_PRIVATE"),
    what: "MAP_PRIVATE",
  },
  {
    claim: /\b(?:is |was )?mapped MAP_SHARED\b/,
    holds: (m) => hasFlag(m, "MAP_SHARED"),
    what: "MAP_SHARED",
  },
  {
    claim:
      /\bmapped with PROT_WRITE\b|\b(?:file|mapping) (?:is |was )?mapped read-write\b|\bthe mapping is not read-only\b/,
    holds: (m) => hasFlag(m, "PROT_WRITE"),
    what: "PROT_WRITE",
  },
  {
    claim: /\b(?:file|mapping) (?:is |was )?mapped read-only\b|\bthe mapping is not writable\b/,
    holds: (m) => !hasFlag(m, "PROT_WRITE"),
    what: "a mapping without PROT_WRITE",
  },
];

function callsOf(check: CheckResult, all: CheckResult[]): CallRecord[] {
  if (check.sharedWith) {
    return all.find((c) => c.id === check.sharedWith)?.calls ?? check.calls;
  }
  return check.calls;
}

/** The contradictions in one lab's result, one sentence each (none: `[]`). */
export function contradictions(result: LabResult): string[] {
  const found: string[] = [];
  for (const c of result.checks) {
    const where = `${result.id} ${c.id}`;
    const d = c.details;
    // 1
    if (c.status === "failed" && c.message === "no prediction yet") {
      if (d.observed !== "undefined") {
        found.push(`${where}: "no prediction yet", but a prediction was made: ${d.observed}`);
      }
      if (!d.awaitingPrediction) {
        found.push(`${where}: "no prediction yet" without awaitingPrediction`);
      }
    }
    if (d.awaitingPrediction && c.message !== "no prediction yet") {
      found.push(`${where}: awaiting a prediction, but says ${JSON.stringify(c.message)}`);
    }
    // 2
    if (d.awaitingPrediction && c.notes.some((n) => n !== WITHHELD)) {
      found.push(`${where}: awaiting a prediction, but shows notes: ${c.notes.join(" | ")}`);
    }
    // 3
    if (c.status === "failed") {
      const text = [c.message, d.mistake].join("\n");
      const mmaps = succeeded(callsOf(c, result.checks), "mmap")
        .filter((m) => !hasFlag(m, "MAP_ANONYMOUS"));
      for (const { claim, holds, what } of FLAG_CLAIMS) {
        if (!claim.test(text) || mmaps.length === 0) continue;
        if (!mmaps.some(holds)) {
          found.push(
            `${where}: says the file was ${claim.exec(text)![0].trim()}, but none of the ` +
              `${mmaps.length} recorded mmap call(s) has ${what}`,
          );
        }
      }
    }
    // 4
    if (c.status === "passed") {
      const said = [c.message, d.expected, d.observed, d.mistake].filter((s) => s);
      if (said.length > 0) found.push(`${where}: passed, but says ${said.join(" / ")}`);
    }
  }
  return found;
}
