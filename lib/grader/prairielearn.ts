/**
 * PrairieLearn's external-grader results (`/grade/results/results.json`):
 * `gradable`, `score` from 0 to 1, `message`, `output`, and one test per
 * check with `points` and `max_points`.
 *
 * PrairieLearn shows every test, and the score, to the student as soon as
 * the grading ends: it has no hidden tests. So hidden checks are not listed
 * one by one: their points make one test, "further checks (graded by your
 * instructor)", with no message; with `hiddenVisibility: "visible"` they are
 * listed like the others.
 *
 * @module
 */

import { checkText, hintedChecks, type HintPolicy, sanitize, type Visibility } from "./formats.ts";
import type { StudentGrade } from "./types.ts";

/** One test of PrairieLearn's results. */
export interface PrairieLearnTest {
  /** "00_hello_mapping runs: writeMessage runs to the end". */
  name: string;
  /** Points earned. */
  points: number;
  /** Points possible. */
  max_points: number;
  /** The failure in one line (empty when passed). */
  message: string;
  /** What the student reads: expected, observed, likely mistake, hint, their output. */
  output: string;
}

/** PrairieLearn's results.json. */
export interface PrairieLearnResults {
  /** False when the grader (not the submission) failed: PrairieLearn then records no score. */
  gradable: boolean;
  /** The fraction of the points earned, 0 to 1. */
  score: number;
  /** Shown above the tests. */
  message: string;
  /** Shown below the message. */
  output: string;
  /** One per check (hidden checks: see the module's documentation). */
  tests: PrairieLearnTest[];
}

const fmt = (n: number) => String(Math.round(n * 100) / 100);

/**
 * PrairieLearn's results for one student.
 *
 * @example
 * ```ts ignore
 * const results = prairielearnResults(report.students[0], { gradable: report.problems.length === 0 });
 * ```
 */
export function prairielearnResults(
  student: StudentGrade | undefined,
  options: {
    gradable: boolean;
    hiddenVisibility?: Visibility;
    message?: string;
    hints?: HintPolicy;
  },
): PrairieLearnResults {
  const tests: PrairieLearnTest[] = [];
  let hiddenPoints = 0;
  let hiddenMax = 0;
  for (const grade of student?.labs ?? []) {
    const hinted = hintedChecks(grade, options.hints);
    for (const c of grade.checks) {
      if (c.hidden && options.hiddenVisibility !== "visible") {
        hiddenPoints += c.score;
        hiddenMax += c.maxScore;
        continue;
      }
      tests.push({
        name: `${grade.id} ${c.id}: ${sanitize(c.title)}`,
        points: c.score,
        max_points: c.maxScore,
        message: c.status === "passed" ? "" : sanitize(c.message.split("\n")[0] ?? ""),
        output: checkText(c, { hint: hinted.has(c.id) }),
      });
    }
  }
  if (hiddenMax > 0) {
    tests.push({
      name: "further checks (graded by your instructor)",
      points: hiddenPoints,
      max_points: hiddenMax,
      message: "",
      output: "",
    });
  }
  const parts: string[] = [];
  if (options.message) parts.push(options.message);
  for (const g of student?.labs ?? []) {
    const state = g.status === "missing"
      ? ` (not submitted: ${sanitize(g.checks[0]?.message.replace(/^not submitted: /, "") ?? "")})`
      : g.status === "error"
      ? " (not graded: a grading problem; your instructor will look at it)"
      : "";
    parts.push(`${g.id}: ${fmt(g.score)} / ${fmt(g.maxScore)}${state}`);
  }
  const max = student?.maxScore ?? 0;
  return {
    gradable: options.gradable,
    score: max > 0 ? Math.min(1, Math.max(0, (student?.score ?? 0) / max)) : 0,
    message: sanitize(parts.join("\n")),
    output: "",
    tests,
  };
}
