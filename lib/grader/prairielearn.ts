/**
 * PrairieLearn's external-grader results (`/grade/results/results.json`):
 * `gradable`, `score` from 0 to 1, `message`, `output`, and one test per
 * check with `points` and `max_points`.
 *
 * PrairieLearn shows every test, and the score, to the student as soon as
 * the grading ends: it has no hidden tests. So hidden checks are left out
 * of everything it is given (tests, score, message), and no total lets a
 * student work out that one exists or how it went: grade them after the
 * deadline with `deno task grade` over the downloaded submissions. With
 * `hiddenVisibility: "visible"` they are listed and counted like the others.
 *
 * @module
 */

import {
  checkText,
  hintedChecks,
  type HintPolicy,
  sanitize,
  type Visibility,
  visiblePoints,
} from "./formats.ts";
import type { LabGrade, StudentGrade } from "./types.ts";

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
  const counted = (grade: LabGrade) =>
    options.hiddenVisibility === "visible" ? grade : visiblePoints(grade);
  for (const grade of student?.labs ?? []) {
    const hinted = hintedChecks(grade, options.hints);
    for (const c of grade.checks) {
      if (c.hidden && options.hiddenVisibility !== "visible") continue;
      tests.push({
        name: `${grade.id} ${c.id}: ${sanitize(c.title)}`,
        points: c.score,
        max_points: c.maxScore,
        message: c.status === "passed" ? "" : sanitize(c.message.split("\n")[0] ?? ""),
        output: checkText(c, { hint: hinted.has(c.id) }),
      });
    }
  }
  const parts: string[] = [];
  if (options.message) parts.push(options.message);
  for (const g of student?.labs ?? []) {
    const state = g.status === "missing"
      ? ` (not submitted: ${sanitize(g.checks[0]?.message.replace(/^not submitted: /, "") ?? "")})`
      : g.status === "error"
      ? " (not graded: a grading problem; your instructor will look at it)"
      : "";
    const points = counted(g);
    parts.push(`${g.id}: ${fmt(points.score)} / ${fmt(points.maxScore)}${state}`);
  }
  const labs = (student?.labs ?? []).map(counted);
  const score = labs.reduce((sum, l) => sum + l.score, 0);
  const max = labs.reduce((sum, l) => sum + l.maxScore, 0);
  return {
    gradable: options.gradable,
    score: max > 0 ? Math.min(1, Math.max(0, score / max)) : 0,
    message: sanitize(parts.join("\n")),
    output: "",
    tests,
  };
}
