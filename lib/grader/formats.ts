/**
 * Output formats of a grading run: the terminal table and summary, CSV,
 * Gradescope's `results.json`, Autolab's last-line JSON, and a per-student
 * text report. Text that came from a student's process (messages quote its
 * output) is stripped of control characters before it reaches a terminal.
 *
 * @module
 */

import type { CheckGrade, GradeReport, LabGrade, StudentGrade } from "./types.ts";
import { summarize } from "./summary.ts";
import { formatOutput } from "../checker/output.ts";

/**
 * Removes terminal control characters (escape sequences, carriage returns,
 * bells), keeping newlines and tabs.
 *
 * @example
 * ```ts
 * import { sanitize } from "./formats.ts";
 * console.log(sanitize("ok\u001b[2J\r")); // "ok[2J"
 * ```
 */
export function sanitize(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, "");
}

const ANSI = {
  green: "\x1b[32m",
  yellow: "\x1b[33m",
  red: "\x1b[31m",
  gray: "\x1b[90m",
  bold: "\x1b[1m",
  reset: "\x1b[0m",
};

function paint(color: boolean, style: keyof typeof ANSI, text: string): string {
  return color ? `${ANSI[style]}${text}${ANSI.reset}` : text;
}

/** Short column name of a lab: its number (`"00"`), or the id when it has none. */
export function labColumn(id: string): string {
  return /^\d+_/.test(id) ? id.slice(0, id.indexOf("_")) : id;
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

/** What a table cell shows for a lab grade: points, `-` (not submitted), `ERR`. */
function cell(grade: LabGrade | undefined): string {
  if (!grade) return "";
  if (grade.status === "missing") return "-";
  if (grade.status === "error") return "ERR";
  return fmt(grade.score);
}

function cellStyle(grade: LabGrade | undefined): keyof typeof ANSI | undefined {
  if (!grade) return undefined;
  if (grade.status === "error") return "red";
  if (grade.status === "missing") return "gray";
  if (grade.score === grade.maxScore) return "green";
  return grade.score === 0 ? "red" : "yellow";
}

/**
 * The points table: one row per student, one column per lab (`-`: not
 * submitted, `ERR`: the grader failed on it), and the total (`-` for an
 * entry that was not graded: a file, a link…; the reasons follow the table).
 *
 * @example
 * ```ts ignore
 * console.log(formatTable(report, { color: false }));
 * ```
 */
export function formatTable(report: GradeReport, options: { color?: boolean } = {}): string {
  const color = options.color ?? false;
  const labs = report.labs;
  const maxTotal = labs.reduce((s, l) => s + l.maxScore, 0);
  const names = report.students.map((s) => sanitize(s.name).replace(/\s+/g, " "));
  const nameWidth = Math.max(7, ...names.map((n) => n.length));
  const headers = labs.map((l) => labColumn(l.id));
  const widths = labs.map((l, i) =>
    Math.max(
      headers[i].length,
      `/${fmt(l.maxScore)}`.length,
      3,
      ...report.students.map((s) => cell(s.labs.find((g) => g.id === l.id)).length),
    )
  );
  const totalWidth = Math.max(5, `/${fmt(maxTotal)}`.length);
  const row = (first: string, cells: string[], total: string) =>
    [
      first.padEnd(nameWidth),
      ...cells.map((c, i) => c.padStart(widths[i])),
      total.padStart(totalWidth),
    ]
      .join("  ").trimEnd();
  const lines = [
    paint(color, "bold", row("student", headers, "total")),
    paint(color, "gray", row("", labs.map((l) => `/${fmt(l.maxScore)}`), `/${fmt(maxTotal)}`)),
  ];
  report.students.forEach((student, si) => {
    const cells = labs.map((l, i) => {
      const grade = student.labs.find((g) => g.id === l.id);
      const text = cell(grade).padStart(widths[i]);
      const style = cellStyle(grade);
      return style ? paint(color, style, text) : text;
    });
    const total = student.status === "rejected"
      ? paint(color, "red", "-".padStart(totalWidth))
      : fmt(student.score).padStart(totalWidth);
    lines.push([names[si].padEnd(nameWidth), ...cells, total].join("  ").trimEnd());
  });
  const rejected = report.students.flatMap((s, si) =>
    s.status === "rejected" ? [`  ${names[si]}: ${sanitize(s.notes.join("; "))}`] : []
  );
  if (rejected.length) {
    lines.push(paint(color, "red", `Not graded (${rejected.length}):`), ...rejected);
  }
  return lines.join("\n");
}

function percent(rate: number): string {
  return `${Math.round(rate * 100)}%`.padStart(4);
}

/**
 * The class summary as text: mean and median, per lab, and every check's
 * pass rate, hardest first; then the grading problems, if any.
 */
export function formatSummary(report: GradeReport, options: { color?: boolean } = {}): string {
  const color = options.color ?? false;
  const s = summarize(report);
  const lines = [
    paint(
      color,
      "bold",
      `${s.students} student${s.students === 1 ? "" : "s"}: mean ${fmt(s.points.mean)} / ${
        fmt(s.maxScore)
      }, median ${fmt(s.points.median)}${
        s.rejected ? ` (and ${s.rejected} not graded: see the table)` : ""
      }`,
    ),
  ];
  for (const lab of s.labs) {
    lines.push(
      `  ${lab.id}: mean ${fmt(lab.points.mean)} / ${fmt(lab.maxScore)}, median ${
        fmt(lab.points.median)
      }, submitted ${lab.submitted}/${lab.points.count}, not attempted ${lab.notAttempted}, attempted and failed ${lab.attemptedFailed}, full marks ${lab.full}`,
    );
  }
  if (s.checks.length) {
    lines.push(paint(color, "bold", "Checks, hardest first:"));
    lines.push(
      paint(
        color,
        "gray",
        "  (among the students who attempted the lab: untouched stubs and missing files aside)",
      ),
    );
    for (const c of s.checks) {
      const rate = percent(c.passRate);
      lines.push(
        `  ${paint(color, c.passRate < 0.5 ? "red" : c.passRate < 1 ? "yellow" : "green", rate)}  ${
          labColumn(c.lab)
        } ${c.id}${c.hidden ? " (hidden)" : ""}: ${c.title} (${c.passed}/${c.total})`,
      );
    }
  }
  if (report.problems.length) {
    lines.push(paint(color, "red", `Grading problems (${report.problems.length}):`));
    for (const p of report.problems) lines.push(`  - ${sanitize(p)}`);
  }
  return lines.join("\n");
}

function csvField(value: string | number): string {
  let text = String(value);
  // A spreadsheet runs a cell that starts with = + - @ as a formula.
  if (typeof value === "string" && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * CSV: `student`, one column of points per lab (a lab not submitted is 0),
 * `total`, `max`, `status` (`graded`, or `rejected`: not a submission that
 * can be graded, its points left empty) and `notes` (why, and what else the
 * instructor should know, `; `-separated).
 *
 * @example
 * ```ts ignore
 * Deno.writeTextFileSync("grades/class.csv", formatCsv(report));
 * ```
 */
export function formatCsv(report: GradeReport): string {
  const labs = report.labs;
  const rows: (string | number)[][] = [
    ["student", ...labs.map((l) => l.id), "total", "max", "status", "notes"],
  ];
  for (const s of report.students) {
    const rejected = s.status === "rejected";
    rows.push([
      s.name,
      ...labs.map((l) => rejected ? "" : s.labs.find((g) => g.id === l.id)?.score ?? ""),
      rejected ? "" : s.score,
      s.maxScore,
      s.status ?? "graded",
      sanitize(s.notes.join("; ")),
    ]);
  }
  return rows.map((r) => r.map(csvField).join(",")).join("\n") + "\n";
}

const OUTPUT_CAP = 4000;

function cap(text: string, max = OUTPUT_CAP): string {
  return text.length > max ? `${text.slice(0, max)}\n… (cut at ${max} characters)` : text;
}

/**
 * Which hints of failed checks a student reads on a platform: `all` (every
 * failed check's own hint, as the runner shows them once asked), `first`
 * (only the first failed check's of each lab: the one to fix first), `none`.
 * A hidden check's hint is never shown.
 */
export type HintPolicy = "all" | "first" | "none";

/** The hint policies, for usage messages. */
export const HINT_POLICIES: readonly HintPolicy[] = ["all", "first", "none"];

/**
 * The ids of a lab's checks whose hint a student reads under `policy`.
 *
 * @example
 * ```ts ignore
 * hintedChecks(grade, "first"); // Set { "file-holds-message" }
 * ```
 */
export function hintedChecks(grade: LabGrade, policy: HintPolicy = "all"): Set<string> {
  if (policy === "none") return new Set();
  const hinted = grade.checks.filter((c) =>
    c.status === "failed" && c.hint && !c.hidden && !c.internalError
  ).map((c) => c.id);
  return new Set(policy === "first" ? hinted.slice(0, 1) : hinted);
}

/** A lab's points over its visible checks only: what a student may be shown. */
export function visiblePoints(grade: LabGrade): { score: number; maxScore: number } {
  const visible = grade.checks.filter((c) => !c.hidden);
  return {
    score: visible.reduce((s, c) => s + c.score, 0),
    maxScore: visible.reduce((s, c) => s + c.maxScore, 0),
  };
}

/**
 * What a student reads about one check (its hint only with `hint`, default
 * true: see {@link hintedChecks}).
 */
export function checkText(c: CheckGrade, options: { hint?: boolean } = {}): string {
  const lines: string[] = [];
  if (c.status === "skipped") lines.push(`skipped (${c.message})`);
  else if (c.message) lines.push(c.message);
  if (c.details?.expected) lines.push(`expected: ${c.details.expected}`);
  if (c.details?.observed) lines.push(`observed: ${c.details.observed}`);
  if (c.details?.mistake) lines.push(`likely mistake: ${c.details.mistake}`);
  if (c.details?.kernel) lines.push(`your kernel: ${c.details.kernel}`);
  for (const note of c.notes ?? []) lines.push(note);
  if (c.status === "failed" && c.hint && !c.internalError && (options.hint ?? true)) {
    lines.push(`hint: ${c.hint}`);
  }
  const printed = formatOutput(c.output, { maxLines: 20 });
  if (printed.length) {
    lines.push(...printed, "(your output is shown to help you debug; it is never graded)");
  }
  return cap(sanitize(lines.join("\n")));
}

/**
 * One student's results as text (Autolab's feedback, the log of the
 * Gradescope and PrairieLearn runs). Hidden checks show their points only,
 * or with `visibleOnly` (what a student reads: Autolab) not at all, and the
 * totals count the visible checks only. Hints follow `hints` (default all).
 */
export function formatStudentReport(
  report: GradeReport,
  student: StudentGrade,
  options: { visibleOnly?: boolean; hints?: HintPolicy } = {},
): string {
  const points = (g: { score: number; maxScore: number }) => `${fmt(g.score)} / ${fmt(g.maxScore)}`;
  const visibleTotal = student.labs.map(visiblePoints).reduce(
    (t, p) => ({ score: t.score + p.score, maxScore: t.maxScore + p.maxScore }),
    { score: 0, maxScore: 0 },
  );
  const lines: string[] = [
    `${student.name}: ${points(options.visibleOnly ? visibleTotal : student)}`,
  ];
  for (const note of student.notes) lines.push(`note: ${sanitize(note)}`);
  for (const grade of student.labs) {
    const meta = report.labs.find((l) => l.id === grade.id);
    const status = grade.status === "missing"
      ? " (not submitted)"
      : grade.status === "error"
      ? " (not graded: grading problem)"
      : "";
    lines.push(
      "",
      `${grade.id}${meta ? `: ${meta.title}` : ""}: ${
        points(options.visibleOnly ? visiblePoints(grade) : grade)
      }${status}`,
    );
    const hinted = hintedChecks(grade, options.hints);
    for (const c of grade.checks) {
      const mark = c.status === "passed" ? "ok  " : c.status === "skipped" ? "skip" : "FAIL";
      if (c.hidden) {
        if (!options.visibleOnly) {
          lines.push(`  ${mark} (hidden check) ${fmt(c.score)}/${fmt(c.maxScore)}`);
        }
        continue;
      }
      lines.push(`  ${mark} ${c.id}: ${sanitize(c.title)} ${fmt(c.score)}/${fmt(c.maxScore)}`);
      if (c.status !== "passed" || c.notes?.length || c.output) {
        const text = checkText(c, { hint: hinted.has(c.id) });
        if (text) lines.push(...text.split("\n").map((l) => `       ${l}`));
      }
    }
  }
  return lines.join("\n");
}

/** Gradescope visibility of a test. */
export type Visibility = "visible" | "hidden" | "after_due_date" | "after_published";

/** One test of Gradescope's results.json. */
export interface GradescopeTest {
  /** "00_hello_mapping runs: writeMessage runs to the end". */
  name: string;
  /** Sort key, e.g. "0.1" (lab 0, first check). */
  number: string;
  /** Points earned. */
  score: number;
  /** Points possible. */
  max_score: number;
  /** passed or failed. */
  status: "passed" | "failed";
  /** What the student reads. */
  output: string;
  /** Who sees it when. */
  visibility: Visibility;
}

/** Gradescope's results.json. */
export interface GradescopeResults {
  /** Total points (overrides the sum of the tests). */
  score: number;
  /** Seconds the grading took. */
  execution_time: number;
  /** Top-level text shown to the student. */
  output: string;
  /** The format of `output`. */
  output_format: "text";
  /** Visibility of the whole result. */
  visibility: Visibility;
  /** The autograder's stdout is for the instructor only. */
  stdout_visibility: "hidden";
  /** One test per check. */
  tests: GradescopeTest[];
}

/**
 * Gradescope's results.json for one student: one test per check; hidden
 * checks get `hiddenVisibility` (default `after_published`), their points
 * count in `score` (Gradescope hides the total from the student while any
 * test is hidden). The always-visible `output` gives each lab's points over
 * its visible checks only, unless hidden checks are `visible`, so that no
 * hidden check can be inferred from it. Hints follow `hints` (default all).
 *
 * @example
 * ```ts ignore
 * const results = gradescopeResults(report.students[0], { executionTime: 12 });
 * Deno.writeTextFileSync("/autograder/results/results.json", JSON.stringify(results));
 * ```
 */
export function gradescopeResults(
  student: StudentGrade | undefined,
  options: {
    executionTime: number;
    hiddenVisibility?: Visibility;
    message?: string;
    hints?: HintPolicy;
  },
): GradescopeResults {
  const tests: GradescopeTest[] = [];
  const showHidden = options.hiddenVisibility === "visible";
  for (const grade of student?.labs ?? []) {
    const n = Number.parseInt(grade.id, 10);
    const labNumber = Number.isNaN(n) ? grade.id : String(n);
    const hinted = hintedChecks(grade, options.hints);
    grade.checks.forEach((c, i) => {
      tests.push({
        name: `${grade.id} ${c.id}: ${sanitize(c.title)}`,
        number: `${labNumber}.${i + 1}`,
        score: c.score,
        max_score: c.maxScore,
        status: c.status === "passed" ? "passed" : "failed",
        output: checkText(c, { hint: hinted.has(c.id) }),
        visibility: c.hidden ? options.hiddenVisibility ?? "after_published" : "visible",
      });
    });
  }
  const parts: string[] = [];
  if (options.message) parts.push(options.message);
  if (student) {
    for (const note of student.notes) parts.push(`note: ${sanitize(note)}`);
    for (const g of student.labs) {
      const state = g.status === "missing"
        ? " (not submitted)"
        : g.status === "error"
        ? " (not graded: a grading problem; your instructor will look at it)"
        : "";
      const shown = showHidden ? g : visiblePoints(g);
      parts.push(`${g.id}: ${fmt(shown.score)} / ${fmt(shown.maxScore)}${state}`);
    }
    const kernels = [...new Set(student.labs.flatMap((g) => g.kernel ? [g.kernel] : []))];
    for (const k of kernels) parts.push(`graded on Linux ${k}`);
  }
  return {
    score: student?.score ?? 0,
    execution_time: Math.round(options.executionTime),
    output: cap(parts.join("\n"), 8000),
    output_format: "text",
    visibility: "visible",
    stdout_visibility: "hidden",
    tests,
  };
}

/**
 * Autolab's scores line: `{"scores": {<lab id>: points, …}, "scoreboard":
 * [total, <lab points>…]}`. Print it as the very last line of the output.
 *
 * Autolab shows a student every problem's score once released, and cannot
 * hide part of one: each lab's points are those of its visible checks, so
 * that no hidden check's outcome shows in a total. With `countHidden` (the
 * instructor made hidden checks visible) they count too.
 *
 * @example
 * ```ts ignore
 * console.log(autolabLine(report.students[0], ["00_hello_mapping"])); // {"scores":{"00_hello_mapping":5},"scoreboard":[5,5]}
 * ```
 */
export function autolabLine(
  student: StudentGrade | undefined,
  labIds: readonly string[],
  options: { countHidden?: boolean } = {},
): string {
  const scores: Record<string, number> = {};
  for (const id of labIds) {
    const grade = student?.labs.find((g) => g.id === id);
    scores[id] = !grade ? 0 : options.countHidden ? grade.score : visiblePoints(grade).score;
  }
  const total = labIds.reduce((sum, id) => sum + scores[id], 0);
  return JSON.stringify({ scores, scoreboard: [total, ...labIds.map((id) => scores[id])] });
}
