/**
 * Terminal output for the runner: colour only on a terminal without
 * `NO_COLOR`, plain text in a pipe, and the rendering of check results.
 *
 * @module
 */

import { styleText } from "node:util";
import type { CheckResult, LabResult } from "../lib/checker/run.ts";
import { formatOutput, type OutputLimits } from "../lib/checker/output.ts";
import type { TypeReport } from "./typecheck.ts";

type Style = Parameters<typeof styleText>[0];

/** Whether stdout is a terminal. */
export const isTerminal: boolean = (() => {
  try {
    return Deno.stdout.isTerminal();
  } catch {
    return false;
  }
})();

/** Whether to use colour: a terminal, and `NO_COLOR` unset. */
export const useColor: boolean = isTerminal && !Deno.env.get("NO_COLOR");

/** Paints text when colour is on; returns it unchanged otherwise. */
export function paint(style: Style, text: string): string {
  return useColor ? styleText(style, text, { validateStream: false }) : text;
}

const MARK: Record<CheckResult["status"], [string, Style]> = {
  passed: ["✓", "green"],
  failed: ["✗", "red"],
  skipped: ["·", "gray"],
};

function indent(text: string, prefix: string): string {
  return text.split("\n").map((line) => prefix + line).join("\n");
}

/** Options for {@link renderCheck} and {@link renderLab}. */
export interface RenderOptions {
  /** Show the checks' hints (default true). */
  hints?: boolean;
  /** Show what the student's code printed (default: yes, with these limits); `false`: no. */
  output?: OutputLimits | false;
}

/**
 * One check as lines: mark, id, title, points; on failure the message,
 * expected, observed, mistake and hint; then what the student's code printed
 * in it, labelled and capped.
 */
export function renderCheck(check: CheckResult, options: RenderOptions = {}): string {
  const [mark, style] = MARK[check.status];
  const points = `${check.score}/${check.maxScore}`;
  const lines = [
    `  ${paint(style, mark)} ${paint("bold", check.id)}  ${check.title}  ${
      paint("gray", `(${points})`)
    }`,
  ];
  for (const note of check.notes) lines.push(indent(note, "      "));
  if (check.status === "failed") {
    lines.push(indent(paint("red", check.message), "      "));
    const d = check.details;
    if (d.expected !== undefined) lines.push(indent(`expected: ${d.expected}`, "      "));
    if (d.observed !== undefined) lines.push(indent(`observed: ${d.observed}`, "      "));
    if (d.mistake !== undefined) {
      lines.push(indent(paint("yellow", `likely mistake: ${d.mistake}`), "      "));
    }
    if (d.kernel !== undefined) {
      lines.push(
        indent(paint("cyan", `your kernel: ${d.kernel} (deno task lab doctor)`), "      "),
      );
    }
    if (check.hint && options.hints !== false) {
      lines.push(indent(paint("cyan", `hint: ${check.hint}`), "      "));
    }
  } else if (check.status === "skipped") {
    lines.push(indent(paint("gray", check.message), "      "));
  }
  if (options.output !== false) {
    for (const line of formatOutput(check.output, options.output)) {
      lines.push(indent(paint("gray", line), "      "));
    }
  }
  return lines.join("\n");
}

/**
 * A failed type check as lines: the first errors with file, line and column,
 * the compiler's code and message, the source line and its marker.
 *
 * @example
 * ```ts
 * console.log(renderTypeErrors({ ok: false, durationMs: 0, errors: [{ code: "TS2322",
 *   message: "Type 'string' is not assignable to type 'number'.", file: "/p/a.ts", line: 5,
 *   column: 9, context: [] }] }, (p) => p));
 * ```
 */
export function renderTypeErrors(
  report: TypeReport,
  relative: (path: string) => string,
  shown = 3,
): string {
  const n = report.errors.length;
  const lines = [
    `  ${paint("red", "✗")} ${paint("bold", n === 1 ? "a type error" : `${n} type errors`)}  ${
      paint("gray", "(the checks' verdicts wait until your file type-checks)")
    }`,
  ];
  for (const e of report.errors.slice(0, shown)) {
    const where = e.file ? `${relative(e.file)}${e.line ? `:${e.line}:${e.column}` : ""}` : "";
    const code = e.code === "error" ? "" : `${e.code}: `;
    lines.push(indent(paint("red", `${where ? `${where}  ` : ""}${code}${e.message}`), "      "));
    for (const c of e.context) lines.push(indent(c, "      "));
  }
  if (n > shown) {
    lines.push(
      indent(paint("gray", `… ${n - shown} more: deno check --no-config <file>`), "      "),
    );
  }
  return lines.join("\n");
}

/** How many checks passed, as "3 of 5 checks passed, 7/12 points". */
export function labTally(result: LabResult): string {
  const passed = result.checks.filter((c) => c.status === "passed").length;
  return `${passed} of ${result.checks.length} checks passed, ${result.score}/${result.maxScore} points`;
}

/** A whole lab's result. */
export function renderLab(result: LabResult, options: RenderOptions = {}): string {
  const head = `${paint("bold", `Lab ${result.id.split("_")[0]}`)} · ${result.title}  ${
    paint("gray", labTally(result))
  }`;
  const lines = [head];
  if (result.error) lines.push(paint("red", `  ${result.error}`));
  for (const check of result.checks) lines.push(renderCheck(check, options));
  return lines.join("\n");
}

/** A progress bar like `[#####·····]` of `done` out of `total`. */
export function bar(done: number, total: number, width = 20): string {
  const full = total === 0 ? 0 : Math.round((done / total) * width);
  return `[${paint("green", "#".repeat(full))}${paint("gray", "·".repeat(width - full))}]`;
}

/**
 * Why the project cannot run where it is, or `undefined`: Deno refuses every
 * path under `/dev/` (a project in `/dev/shm`, say) unless given all
 * permissions, which the lab's permission sets never are.
 *
 * @example
 * ```ts
 * console.log(projectLocationProblem("/dev/shm/mmap-lab") !== undefined); // true
 * ```
 */
export function projectLocationProblem(root: string): string | undefined {
  if (root === "/dev" || root.startsWith("/dev/")) {
    return `the project is under /dev (${root}), and Deno refuses every path there without ` +
      "--allow-all. Move it to a directory of your own (e.g. ~/mmap-lab) and run it from there. " +
      "(For scratch files the labs pick a directory with writeback themselves: see " +
      "`deno task lab doctor`.)";
  }
  return undefined;
}
