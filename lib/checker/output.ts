/**
 * What the student's code printed during a check: gathered from every child
 * the check ran on the student's file, capped, and formatted for reading.
 * Printing is a student's first debugger, so the runner and the grader show
 * it; no check ever decides on it (printed text is not evidence).
 *
 * @module
 */

/** What the student's code printed in one check, every child's output joined. */
export interface CheckOutput {
  /** Standard output, without the protocol's lines. */
  stdout: string;
  /** Standard error. */
  stderr: string;
  /** Whether some of it was cut (by a child's cap or by {@link OUTPUT_CAP}). */
  truncated: boolean;
}

/** Characters of stdout, and of stderr, kept per check. */
export const OUTPUT_CAP = 8192;

/**
 * Adds one child's output to a check's (nothing when the child printed
 * nothing), keeping at most {@link OUTPUT_CAP} characters of each stream.
 *
 * @example
 * ```ts
 * const check: { output?: CheckOutput } = {};
 * addOutput(check, { stdout: "hi\n", stderr: "", outputTruncated: false });
 * console.log(check.output?.stdout); // "hi\n"
 * ```
 */
export function addOutput(
  target: { output?: CheckOutput },
  child: { stdout: string; stderr: string; outputTruncated: boolean },
): void {
  if (!child.stdout && !child.stderr && !child.outputTruncated) return;
  const out = target.output ??= { stdout: "", stderr: "", truncated: false };
  const room = (kept: string, more: string) =>
    kept.length + more.length > OUTPUT_CAP ? more.slice(0, OUTPUT_CAP - kept.length) : more;
  const stdout = room(out.stdout, child.stdout);
  const stderr = room(out.stderr, child.stderr);
  out.truncated ||= child.outputTruncated || stdout !== child.stdout || stderr !== child.stderr;
  out.stdout += stdout;
  out.stderr += stderr;
}

// deno-lint-ignore no-control-regex
const ESCAPES = /\x1b\[[0-9;?]*[ -\/]*[@-~]/g;
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g;

/** Limits for {@link formatOutput}. */
export interface OutputLimits {
  /** Lines shown per stream (default 12): the last ones, where an error usually is. */
  maxLines?: number;
  /** Characters per line (default 200). */
  maxLineLength?: number;
}

/**
 * A check's output as labelled lines: `your code printed (stdout):` and the
 * last lines, the same for stderr, and how much was left out. Empty when the
 * code printed nothing.
 *
 * @example
 * ```ts
 * const lines = formatOutput({ stdout: "a\nb\n", stderr: "", truncated: false });
 * console.log(lines.join("\n")); // your code printed (stdout):\n  | a\n  | b
 * ```
 */
export function formatOutput(output: CheckOutput | undefined, limits: OutputLimits = {}): string[] {
  if (!output) return [];
  const maxLines = limits.maxLines ?? 12;
  const maxLength = limits.maxLineLength ?? 200;
  const lines: string[] = [];
  for (const stream of ["stdout", "stderr"] as const) {
    // Tabs as spaces, other control characters (escape codes) dropped: this is shown on a screen.
    const text = output[stream].replace(/\t/g, "  ").replace(ESCAPES, "").replace(CONTROL, "")
      .replace(/\n$/, "");
    if (!text) continue;
    const all = text.split("\n");
    const shown = all.slice(-maxLines);
    lines.push(`your code printed (${stream}):`);
    if (shown.length < all.length) lines.push(`  | … ${all.length - shown.length} lines before`);
    for (const line of shown) {
      lines.push(`  | ${line.length > maxLength ? `${line.slice(0, maxLength)}…` : line}`);
    }
  }
  if (output.truncated) lines.push("  | (more was printed than is kept)");
  return lines;
}
