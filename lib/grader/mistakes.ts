/**
 * Plausible wrong solutions, kept as **mistakes**: each one is the reference
 * solution with a few lines replaced, so it says in a glance what is wrong
 * and follows the solution as it changes. One file per mistake,
 * `tests/wrong/<lab>/<name>.mistake`:
 *
 * ```text
 * A plausible mistake: the data is synced, but the marker that commits it is not.
 * expect-fail: commit-durable /marker/
 *
 * --- solution
 *   log.sync(pageSpan(offset, data.length, log.pageSize));
 *   log.sync({ offset: 0, length: log.pageSize });
 * +++ mistake
 *   log.sync(pageSpan(offset, data.length, log.pageSize));
 * ```
 *
 * Above the first block: what the mistake is, and one `expect-fail: <check-id>
 * /<regex>/` line per check that must fail with a message matching the
 * pattern. Each `--- solution` block must match exactly one run of whole lines
 * of the solution (white space included; trailing blank lines of a block are
 * ignored); it is replaced by the `+++ mistake` lines that follow (none: the
 * lines are deleted). Blocks may not overlap.
 *
 * @module
 */

/** One check a mistake must fail, and the words its message must contain. */
export interface Expectation {
  /** The check's id. */
  id: string;
  /** What its message (or expected/observed/mistake/notes) must match. */
  pattern: RegExp;
}

/** A parsed `.mistake` file. */
export interface Mistake {
  /** The file's name without `.mistake`. */
  name: string;
  /** What the mistake is, in words (the lines above the first block). */
  description: string;
  /** The checks that must fail, and how. */
  expects: Expectation[];
  /** Solution lines, and what replaces them. */
  blocks: { solution: string[]; mistake: string[] }[];
}

/** Thrown when a mistake no longer fits the solution. */
export class MistakeError extends Error {}

function trimEnd(lines: string[]): string[] {
  let end = lines.length;
  while (end > 0 && lines[end - 1].trim() === "") end--;
  return lines.slice(0, end);
}

/**
 * Parses the text of a `.mistake` file.
 *
 * @example
 * ```ts
 * const m = parseMistake("x", "Off by one.\nexpect-fail: c /one/\n--- solution\na\n+++ mistake\nb\n");
 * console.log(m.expects[0].id, m.blocks[0].mistake); // c [ "b" ]
 * ```
 */
export function parseMistake(name: string, text: string): Mistake {
  const lines = text.replace(/\r\n/g, "\n").replace(/\n$/, "").split("\n");
  const first = lines.indexOf("--- solution");
  const header = first === -1 ? lines : lines.slice(0, first);
  const expects: Expectation[] = [];
  const description: string[] = [];
  for (const line of header) {
    const m = /^expect-fail: (\S+) \/(.+)\/([a-z]*)$/.exec(line);
    if (m) expects.push({ id: m[1], pattern: new RegExp(m[2], m[3]) });
    else description.push(line);
  }
  const blocks: Mistake["blocks"] = [];
  let at = first;
  while (at !== -1 && at < lines.length) {
    const plus = lines.indexOf("+++ mistake", at + 1);
    const nextSolution = lines.indexOf("--- solution", at + 1);
    if (plus === -1 || (nextSolution !== -1 && nextSolution < plus)) {
      throw new MistakeError(`${name}: a "--- solution" block has no "+++ mistake"`);
    }
    const next = lines.indexOf("--- solution", plus + 1);
    const end = next === -1 ? lines.length : next;
    blocks.push({
      solution: trimEnd(lines.slice(at + 1, plus)),
      mistake: trimEnd(lines.slice(plus + 1, end)),
    });
    at = next;
  }
  return { name, description: description.join("\n").trim(), expects, blocks };
}

/**
 * The solution's text with the mistake's blocks applied. Throws
 * {@link MistakeError} when a block matches the solution nowhere, more than
 * once, or overlaps another: the solution changed under it.
 *
 * @example
 * ```ts
 * const m = parseMistake("x", "expect-fail: c /x/\n--- solution\nb\n+++ mistake\nB\n");
 * console.log(applyMistake("a\nb\nc\n", m)); // "a\nB\nc\n"
 * ```
 */
export function applyMistake(solution: string, mistake: Mistake): string {
  const lines = solution.replace(/\r\n/g, "\n").split("\n");
  const spans = mistake.blocks.map((block, index) => {
    if (block.solution.length === 0) {
      throw new MistakeError(`${mistake.name}: block ${index + 1} has no solution lines`);
    }
    const starts: number[] = [];
    for (let i = 0; i + block.solution.length <= lines.length; i++) {
      if (block.solution.every((line, k) => lines[i + k] === line)) starts.push(i);
    }
    if (starts.length !== 1) {
      throw new MistakeError(
        `${mistake.name}: block ${index + 1} (${JSON.stringify(block.solution[0])}) matches ` +
          `${starts.length === 0 ? "no lines" : `${starts.length} places`} of the solution`,
      );
    }
    return { start: starts[0], end: starts[0] + block.solution.length, lines: block.mistake };
  }).sort((a, b) => a.start - b.start);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i].start < spans[i - 1].end) {
      throw new MistakeError(`${mistake.name}: two blocks overlap`);
    }
  }
  for (const span of spans.reverse()) {
    lines.splice(span.start, span.end - span.start, ...span.lines);
  }
  return lines.join("\n");
}

/**
 * Formats a mistake as the text of its file (the inverse of
 * {@link parseMistake}).
 *
 * @example
 * ```ts
 * const m = parseMistake("x", "Why.\nexpect-fail: c /x/\n--- solution\nb\n+++ mistake\nB\n");
 * console.log(formatMistake(m) === "Why.\nexpect-fail: c /x/\n\n--- solution\nb\n+++ mistake\nB\n"); // true
 * ```
 */
export function formatMistake(mistake: Mistake): string {
  let text = mistake.description ? `${mistake.description}\n` : "";
  for (const e of mistake.expects) {
    text += `expect-fail: ${e.id} /${e.pattern.source}/${e.pattern.flags}\n`;
  }
  for (const block of mistake.blocks) {
    text += `\n--- solution\n${block.solution.map((l) => `${l}\n`).join("")}+++ mistake\n`;
    text += block.mistake.map((l) => `${l}\n`).join("");
  }
  return text;
}

/** A lab's mistake, ready to grade: parsed, and written out as a module on demand. */
export interface LabMistake extends Mistake {
  /** The file's name (`off_by_one.mistake`). */
  file: string;
  /**
   * Writes the solution with the mistake applied to
   * `<root>/.mmap-lab/wrong/<lab>__<name>.ts` (two levels down, like
   * `solutions/NN/`) and returns that path. Throws {@link MistakeError} when
   * the mistake no longer fits the solution.
   */
  materialize(): string;
}

/**
 * Every `.mistake` of a lab, by name: `tests/wrong/<labId>/*.mistake` under
 * `root`, applied to `solution` (the reference solution's path).
 */
export function labMistakes(root: string, labId: string, solution: string): LabMistake[] {
  const dir = `${root}/tests/wrong/${labId}`;
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch {
    return [];
  }
  return entries.filter((e) => e.isFile && e.name.endsWith(".mistake"))
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((e) => {
      const mistake = parseMistake(
        e.name.replace(/\.mistake$/, ""),
        Deno.readTextFileSync(`${dir}/${e.name}`),
      );
      const materialize = () => {
        const source = applyMistake(Deno.readTextFileSync(solution), mistake);
        const out = `${root}/.mmap-lab/wrong`;
        Deno.mkdirSync(out, { recursive: true });
        const path = `${out}/${labId}__${mistake.name}.ts`;
        Deno.writeTextFileSync(path, source);
        return path;
      };
      return { ...mistake, file: e.name, materialize };
    });
}

/** One check's result, as much of it as {@link judge} reads. */
export interface JudgedCheck {
  id: string;
  status: "passed" | "failed" | "skipped";
  message: string;
  details: { expected?: string; observed?: string; mistake?: string };
  notes: string[];
  internalError?: boolean;
}

/** How one expectation of a mistake fared in one graded run. */
export interface Verdict {
  /** The check's id. */
  id: string;
  /** The check exists in the lab's result. */
  found: boolean;
  /** It failed, and not by a checker error. */
  failed: boolean;
  /** Its failure (message, expected, observed, mistake, notes) matched the pattern. */
  matched: boolean;
}

/** The text an `expect-fail` pattern is matched against: message, details and notes. */
export function failureText(check: JudgedCheck): string {
  return [
    check.message,
    check.details.expected,
    check.details.observed,
    check.details.mistake,
    ...check.notes,
  ].join("\n");
}

/**
 * How a graded run fared against a mistake's expectations: one verdict per
 * `expect-fail` line. The mistake is caught when every verdict is failed and
 * matched.
 *
 * @example
 * ```ts
 * const check = { id: "c", status: "failed" as const, message: "off by one", details: {}, notes: [] };
 * console.log(judge([check], [{ id: "c", pattern: /one/ }])); // [ { id: "c", found: true, failed: true, matched: true } ]
 * ```
 */
export function judge(checks: JudgedCheck[], expects: Expectation[]): Verdict[] {
  return expects.map(({ id, pattern }) => {
    const check = checks.find((c) => c.id === id);
    const failed = check?.status === "failed" && !check.internalError;
    return {
      id,
      found: check !== undefined,
      failed,
      matched: failed && pattern.test(failureText(check!)),
    };
  });
}
