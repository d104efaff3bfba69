/**
 * `--by-check`: for each check that students who attempted its lab failed,
 * the reasons (the check's "likely mistake", else its message's first line),
 * how many students each, and who.
 *
 * @module
 */

import { attempted } from "./summary.ts";
import { labColumn, sanitize } from "./formats.ts";
import type { CheckGrade, GradeReport } from "./types.ts";

/** One reason a check failed, and the students behind it. */
export interface FailureReason {
  /** The likely mistake, or the message's first line. */
  reason: string;
  /** The students, by name. */
  students: string[];
}

/** A failing check across the class. */
export interface CheckBreakdown {
  /** The lab's id. */
  lab: string;
  /** The check's id. */
  id: string;
  /** Its title. */
  title: string;
  /** Instructor-only. */
  hidden: boolean;
  /** Students who attempted the lab and were graded on the check. */
  attempted: number;
  /** Its failures, grouped by reason, most students first. */
  reasons: FailureReason[];
}

function reasonOf(c: CheckGrade): string {
  if (c.status === "skipped") return `skipped (${c.message})`;
  const mistake = c.details?.mistake?.trim();
  if (mistake) return `likely mistake: ${mistake}`;
  return c.message.split("\n")[0].trim() || "failed";
}

/**
 * Every check that failed for a student who attempted its lab, with its
 * reasons, the most failed first.
 *
 * @example
 * ```ts ignore
 * for (const c of checkBreakdown(report)) console.log(c.id, c.reasons[0]?.students);
 * ```
 */
export function checkBreakdown(report: GradeReport): CheckBreakdown[] {
  const out: CheckBreakdown[] = [];
  const students = report.students.filter((s) => s.status !== "rejected");
  for (const meta of report.labs) {
    for (const check of meta.checks) {
      const reasons = new Map<string, string[]>();
      let total = 0;
      for (const s of students) {
        const grade = s.labs.find((g) => g.id === meta.id);
        if (!attempted(grade)) continue;
        const c = grade.checks.find((c) => c.id === check.id);
        if (!c) continue;
        total++;
        if (c.status === "passed") continue;
        const reason = reasonOf(c);
        reasons.set(reason, [...(reasons.get(reason) ?? []), s.name]);
      }
      if (!reasons.size) continue;
      out.push({
        lab: meta.id,
        id: check.id,
        title: check.title,
        hidden: check.hidden,
        attempted: total,
        reasons: [...reasons].map(([reason, names]) => ({ reason, students: names.sort() }))
          .sort((a, b) =>
            b.students.length - a.students.length || a.reason.localeCompare(b.reason)
          ),
      });
    }
  }
  const failed = (c: CheckBreakdown) => c.reasons.reduce((n, r) => n + r.students.length, 0);
  return out.sort((a, b) =>
    failed(b) / b.attempted - failed(a) / a.attempted || a.lab.localeCompare(b.lab)
  );
}

/**
 * The breakdown as text: one block per failing check, one line per reason
 * with its count and students.
 *
 * @example
 * ```ts ignore
 * console.log(formatByCheck(report));
 * ```
 */
export function formatByCheck(report: GradeReport, options: { maxNames?: number } = {}): string {
  const maxNames = options.maxNames ?? 12;
  const lines = ["Failing checks, by likely mistake (students who attempted the lab):"];
  const breakdown = checkBreakdown(report);
  if (!breakdown.length) {
    lines.push("  none: every student who attempted a lab passed all its checks");
  }
  for (const c of breakdown) {
    const failed = c.reasons.reduce((n, r) => n + r.students.length, 0);
    lines.push(
      `  ${labColumn(c.lab)} ${c.id}${c.hidden ? " (hidden)" : ""}: ${
        sanitize(c.title)
      } — failed by ${failed} of ${c.attempted}`,
    );
    for (const r of c.reasons) {
      const names = r.students.slice(0, maxNames).map(sanitize).join(", ") +
        (r.students.length > maxNames ? `, … (${r.students.length - maxNames} more)` : "");
      lines.push(`    ${String(r.students.length).padStart(3)}× ${sanitize(r.reason)}: ${names}`);
    }
  }
  return lines.join("\n");
}
