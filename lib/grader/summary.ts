/**
 * Class statistics: mean and median points, per lab and overall, and the pass
 * rate of every check, lowest first: which checks the class struggles with.
 *
 * @module
 */

import type { GradeReport, LabGrade } from "./types.ts";

/** Mean, median, lowest and highest of some numbers (all 0 when there are none). */
export interface Stats {
  /** How many numbers. */
  count: number;
  /** Their mean. */
  mean: number;
  /** Their median. */
  median: number;
  /** The lowest. */
  min: number;
  /** The highest. */
  max: number;
}

/** One lab across the class. */
export interface LabSummary {
  /** The lab's id. */
  id: string;
  /** Points possible. */
  maxScore: number;
  /** Points of every student graded on this lab (a missing file counts as 0). */
  points: Stats;
  /** Students whose file for this lab was found. */
  submitted: number;
  /** Of those, the students whose file is the stub, unchanged: not attempted. */
  notAttempted: number;
  /** Students who attempted the lab (changed the stub) and did not get full marks. */
  attemptedFailed: number;
  /** Students with full marks. */
  full: number;
}

/** One check across the class. */
export interface CheckSummary {
  /** The lab's id. */
  lab: string;
  /** The check's id. */
  id: string;
  /** Its title. */
  title: string;
  /** Instructor-only. */
  hidden: boolean;
  /** Students who passed it. */
  passed: number;
  /**
   * Students who attempted the lab and were graded on it: a file that is not
   * the stub unchanged, graded without a grading problem.
   */
  total: number;
  /** passed / total (0 when total is 0). */
  passRate: number;
}

/** The class summary (over graded students: rows `rejected` are counted apart). */
export interface Summary {
  /** Students graded. */
  students: number;
  /** Entries of the class folder that were not graded (`status: "rejected"`). */
  rejected: number;
  /** Points possible over the graded labs. */
  maxScore: number;
  /** Every student's total. */
  points: Stats;
  /** Per lab, in catalog order. */
  labs: LabSummary[];
  /** Per check, lowest pass rate first, among the students who attempted its lab. */
  checks: CheckSummary[];
}

/**
 * Whether a lab grade counts among those who attempted the lab: submitted,
 * not the stub unchanged, graded without a grading problem.
 *
 * @example
 * ```ts ignore
 * report.students.flatMap((s) => s.labs).filter(attempted);
 * ```
 */
export function attempted(grade: LabGrade | undefined): grade is LabGrade {
  return grade !== undefined && grade.status === "graded" && !grade.unchanged;
}

/**
 * Mean, median, lowest and highest.
 *
 * @example
 * ```ts
 * import { stats } from "./summary.ts";
 * console.log(stats([1, 2, 3, 10]).median); // 2.5
 * ```
 */
export function stats(values: readonly number[]): Stats {
  if (values.length === 0) return { count: 0, mean: 0, median: 0, min: 0, max: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return {
    count: sorted.length,
    mean: sorted.reduce((s, v) => s + v, 0) / sorted.length,
    median: sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2,
    min: sorted[0],
    max: sorted[sorted.length - 1],
  };
}

/**
 * The class summary of a report.
 *
 * @example
 * ```ts ignore
 * const { checks } = summarize(report);
 * console.log(`hardest: ${checks[0].lab} ${checks[0].id} (${checks[0].passRate * 100} %)`);
 * ```
 */
export function summarize(full: GradeReport): Summary {
  const report = { ...full, students: full.students.filter((s) => s.status !== "rejected") };
  const labs: LabSummary[] = report.labs.map((meta) => {
    const grades = report.students.flatMap((s) => s.labs.filter((g) => g.id === meta.id));
    return {
      id: meta.id,
      maxScore: meta.maxScore,
      points: stats(grades.map((g) => g.score)),
      submitted: grades.filter((g) => g.status !== "missing").length,
      notAttempted: grades.filter((g) => g.status !== "missing" && g.unchanged).length,
      attemptedFailed: grades.filter((g) => attempted(g) && g.score < g.maxScore).length,
      full: grades.filter((g) => g.maxScore > 0 && g.score === g.maxScore).length,
    };
  });
  const checks: CheckSummary[] = [];
  for (const meta of report.labs) {
    for (const check of meta.checks) {
      let passed = 0;
      let total = 0;
      for (const student of report.students) {
        const grade = student.labs.find((g) => g.id === meta.id);
        if (!attempted(grade)) continue; // hardest among those who tried: not the stubs, the missing
        const c = grade.checks.find((c) => c.id === check.id);
        if (!c) continue;
        total++;
        if (c.status === "passed") passed++;
      }
      checks.push({
        lab: meta.id,
        id: check.id,
        title: check.title,
        hidden: check.hidden,
        passed,
        total,
        passRate: total ? passed / total : 0,
      });
    }
  }
  checks.sort((a, b) => a.passRate - b.passRate || a.lab.localeCompare(b.lab));
  return {
    students: report.students.length,
    rejected: full.students.length - report.students.length,
    maxScore: report.labs.reduce((s, l) => s + l.maxScore, 0),
    points: stats(report.students.map((s) => s.score)),
    labs,
    checks,
  };
}
