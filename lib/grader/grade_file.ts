/**
 * Reading a `--json` grades file back (for `--update`), with every field the
 * merge relies on checked first: a truncated, empty or foreign file is
 * refused with a message that says what is wrong, before anything is graded.
 *
 * @module
 */

import type { GradeReport } from "./types.ts";

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function problemsOf(value: unknown): string[] {
  if (!isObject(value)) return ["it is not a JSON object"];
  const out: string[] = [];
  if (value.format !== "mmap-lab-grades") {
    return [`its "format" is ${JSON.stringify(value.format)}, not "mmap-lab-grades"`];
  }
  if (value.version !== 1) out.push(`its "version" is ${JSON.stringify(value.version)}, not 1`);
  const list = (v: unknown, what: string): unknown[] => {
    if (Array.isArray(v)) return v;
    out.push(`${what} is not a list`);
    return [];
  };
  list(value.labs, `"labs"`).forEach((lab, i) => {
    if (!isObject(lab) || typeof lab.id !== "string" || typeof lab.maxScore !== "number") {
      out.push(`labs[${i}] has no "id" and "maxScore"`);
    } else list(lab.checks, `labs[${i}].checks`);
  });
  list(value.students, `"students"`).forEach((s, i) => {
    if (!isObject(s) || typeof s.name !== "string") {
      out.push(`students[${i}] has no "name"`);
      return;
    }
    const who = `student ${JSON.stringify(s.name)}`;
    if (typeof s.score !== "number" || typeof s.maxScore !== "number") {
      out.push(`${who} has no "score" and "maxScore"`);
    }
    list(s.notes, `${who}'s "notes"`);
    list(s.labs, `${who}'s "labs"`).forEach((g, j) => {
      if (
        !isObject(g) || typeof g.id !== "string" || typeof g.status !== "string" ||
        typeof g.score !== "number" || typeof g.maxScore !== "number" || !Array.isArray(g.checks)
      ) out.push(`${who}'s labs[${j}] is not a lab grade`);
    });
  });
  list(value.problems, `"problems"`);
  return out;
}

/**
 * Parses the text of a grades file, or throws an `Error` naming `path` and
 * what is wrong with it (empty, not JSON, another format, a missing field).
 *
 * @example
 * ```ts
 * import { parseGradeFile } from "./grade_file.ts";
 * try {
 *   parseGradeFile("", "grades/class.json");
 * } catch (err) {
 *   console.log((err as Error).message); // "grades/class.json is empty …"
 * }
 * ```
 */
export function parseGradeFile(text: string, path: string): GradeReport {
  if (!text.trim()) {
    throw new Error(
      `${path} is empty (a grader killed while writing it?): restore it, or grade the class again without --update`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(
      `${path} is not valid JSON (${
        err instanceof Error ? err.message : err
      }): restore it, or grade the class again without --update`,
    );
  }
  const problems = problemsOf(value);
  if (problems.length) {
    throw new Error(
      `${path} is not a grades file of this grader: ${problems.slice(0, 3).join("; ")}${
        problems.length > 3 ? ` (and ${problems.length - 3} more)` : ""
      }`,
    );
  }
  return value as GradeReport;
}

/**
 * Reads a grades file for `--update`: `undefined` when it does not exist yet
 * (the update starts it), the report when it is valid; throws otherwise.
 *
 * @example
 * ```ts ignore
 * const previous = readGradeFile("grades/class.json"); // before grading anything
 * ```
 */
export function readGradeFile(path: string): GradeReport | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw new Error(
      `cannot read ${path} to update it: ${err instanceof Error ? err.message : err}`,
    );
  }
  return parseGradeFile(text, path);
}
