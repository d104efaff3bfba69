/**
 * Terminal output for the runner: colour only on a terminal without
 * `NO_COLOR`, plain text in a pipe, and the rendering of check results.
 *
 * @module
 */

import { styleText } from "node:util";
import type { CheckResult, LabResult } from "../lib/checker/run.ts";

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

/** One check as lines: mark, id, title, points; on failure the message, expected, observed, mistake and hint. */
export function renderCheck(check: CheckResult, options: { hints?: boolean } = {}): string {
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
  return lines.join("\n");
}

/** How many checks passed, as "3 of 5 checks passed, 7/12 points". */
export function labTally(result: LabResult): string {
  const passed = result.checks.filter((c) => c.status === "passed").length;
  return `${passed} of ${result.checks.length} checks passed, ${result.score}/${result.maxScore} points`;
}

/** A whole lab's result. */
export function renderLab(result: LabResult, options: { hints?: boolean } = {}): string {
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
