/**
 * The grader's self-test (`deno task grade selftest`): on the machine at
 * hand, grade every lab's reference solution (it must score full marks,
 * hidden checks included) and every plausible wrong solution
 * (`tests/wrong/<lab>/*.mistake`: it must lose the points of every check its
 * `expect-fail` lines name), through the same grader and overlays as a
 * class, and give a verdict per lab. Run it where the students will be
 * graded (inside the platform's container) before the term: a kernel on
 * which a reference solution loses points says so here, not in a grade
 * appeal.
 *
 * @module
 */

import { type LabInfo, loadCatalog, PROJECT_ROOT, solutionFile } from "../catalog.ts";
import { gradeSubmissions, type ProgressEvent, selectLabs, type Submission } from "./batch.ts";
import { applyMistake, judge, type Mistake, MistakeError, parseMistake } from "./mistakes.ts";
import type { CheckGrade, GradeReport, LabGrade } from "./types.ts";
import type { ChildLimits } from "../checker/spawn.ts";

/** How one graded wrong solution fared. */
export interface MistakeVerdict {
  /** The mistake's name (its file without `.mistake`). */
  name: string;
  /** It lost the points of every check it targets. */
  caught: boolean;
  /** Checks it targets that did not lose their points (passed, skipped or missing), with why. */
  missed: string[];
  /** Targeted checks that failed, but with a message the `expect-fail` pattern does not match. */
  otherMessage: string[];
  /** It could not be graded: it no longer fits the solution, or the grader failed. */
  problem?: string;
}

/** One lab's self-test. */
export interface LabSelfTest {
  /** The lab's id. */
  id: string;
  /** The reference solution's score, or undefined without a solution. */
  solutionScore?: number;
  /** Points possible (hidden checks included). */
  maxScore: number;
  /** Checks the reference solution did not pass: `id: message`. */
  solutionFailures: string[];
  /** Each mistake's verdict. */
  mistakes: MistakeVerdict[];
  /** The lab passes its self-test: full marks for the solution, every mistake caught. */
  ok: boolean;
  /** Why the lab could not be self-tested (no solution, a checker that does not load). */
  problem?: string;
}

/** The whole self-test. */
export interface SelfTestReport {
  /** Per lab, in catalog order. */
  labs: LabSelfTest[];
  /** Every lab passed. */
  ok: boolean;
  /** The kernel it ran on, in one line. */
  kernel?: string;
  /** Wall-clock time, ms. */
  durationMs: number;
}

/** Options for {@link selfTest}. */
export interface SelfTestOptions {
  /** The instructor's tree (default: this project). */
  root?: string;
  /** Only these labs (id, number or slug). */
  labs?: string[];
  /** Labs graded at once (default: the number of cores). */
  jobs?: number;
  /** Resource limits of the children. */
  limits?: ChildLimits;
  /** Where the generated submissions and overlays go (default `<root>/.mmap-lab/selftest`). */
  workDir?: string;
  /** Progress of the grading. */
  onProgress?: (event: ProgressEvent) => void;
}

/** The `.mistake` files of a lab, parsed (none without the folder). */
export function readMistakes(root: string, labId: string): Mistake[] {
  const dir = `${root}/tests/wrong/${labId}`;
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch {
    return [];
  }
  return entries.filter((e) => e.isFile && e.name.endsWith(".mistake"))
    .map((e) => e.name)
    .sort()
    .map((name) =>
      parseMistake(name.replace(/\.mistake$/, ""), Deno.readTextFileSync(`${dir}/${name}`))
    );
}

function readOrUndefined(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

const SOLUTIONS = "reference-solutions";

function checkLine(c: CheckGrade): string {
  const why = c.status === "skipped" ? `skipped (${c.message})` : c.message || c.status;
  return `${c.id}${c.hidden ? " (hidden)" : ""}: ${why.split("\n")[0]}`;
}

/**
 * The verdict on a graded mistake: caught when every check it targets failed
 * (lost its points) without a checker error.
 *
 * @example
 * ```ts ignore
 * const verdict = judgeMistake(mistake, grade);
 * console.log(verdict.caught, verdict.missed);
 * ```
 */
export function judgeMistake(mistake: Mistake, grade: LabGrade | undefined): MistakeVerdict {
  const verdict: MistakeVerdict = {
    name: mistake.name,
    caught: false,
    missed: [],
    otherMessage: [],
  };
  if (!grade || grade.status !== "graded") {
    verdict.problem = `not graded: ${grade?.error ?? grade?.status ?? "no grade"}`;
    return verdict;
  }
  if (!mistake.expects.length) {
    verdict.problem = 'it has no "expect-fail:" line: nothing says what it must lose';
    return verdict;
  }
  const checks = grade.checks.map((c) => ({
    id: c.id,
    status: c.status,
    message: c.message,
    details: c.details ?? {},
    notes: c.notes ?? [],
    internalError: c.internalError,
  }));
  for (const v of judge(checks, mistake.expects)) {
    const check = grade.checks.find((c) => c.id === v.id);
    if (!v.found) verdict.missed.push(`${v.id}: no such check`);
    else if (check?.internalError) verdict.missed.push(`${v.id}: checker error: ${check.message}`);
    else if (!v.failed) {
      verdict.missed.push(`${v.id}: ${check!.status}, ${check!.score}/${check!.maxScore}`);
    } else if (!v.matched) verdict.otherMessage.push(`${v.id}: ${check!.message.split("\n")[0]}`);
  }
  verdict.caught = verdict.missed.length === 0;
  return verdict;
}

/**
 * Runs the self-test: builds one submission with every reference solution
 * and one per mistake (the solution with the mistake applied), grades them
 * all with the grader, and judges each lab.
 *
 * @example
 * ```ts ignore
 * const report = await selfTest({ labs: ["0"] });
 * console.log(formatSelfTest(report));
 * ```
 */
export async function selfTest(options: SelfTestOptions = {}): Promise<SelfTestReport> {
  const start = performance.now();
  const root = options.root ?? PROJECT_ROOT;
  const labs = selectLabs(loadCatalog(root), options.labs);
  const base = options.workDir ?? `${root}/.mmap-lab/selftest`;
  Deno.mkdirSync(base, { recursive: true });
  const work = Deno.makeTempDirSync({ dir: base, prefix: "run-" });
  try {
    const submissions: Submission[] = [];
    const solutionDir = `${work}/submissions/${SOLUTIONS}`;
    Deno.mkdirSync(solutionDir, { recursive: true });
    const planned = new Map<string, { lab: LabInfo; mistake: Mistake; name: string }[]>();
    const problems = new Map<string, string>();
    const fitProblems = new Map<string, string>(); // submission name → why it was not made
    for (const lab of labs) {
      const solution = readOrUndefined(solutionFile(root, lab));
      if (solution === undefined) {
        problems.set(lab.id, `no reference solution (solutions/${lab.id}/${lab.file})`);
        continue;
      }
      Deno.writeTextFileSync(`${solutionDir}/${lab.file}`, solution);
      const list: { lab: LabInfo; mistake: Mistake; name: string }[] = [];
      let mistakes: Mistake[] = [];
      try {
        mistakes = readMistakes(root, lab.id);
      } catch (err) {
        problems.set(
          lab.id,
          `its mistakes do not parse: ${err instanceof Error ? err.message : err}`,
        );
      }
      for (const mistake of mistakes) {
        const name = `${lab.id}__${mistake.name}`;
        list.push({ lab, mistake, name });
        try {
          const text = applyMistake(solution, mistake);
          const dir = `${work}/submissions/${name}`;
          Deno.mkdirSync(dir, { recursive: true });
          Deno.writeTextFileSync(`${dir}/${lab.file}`, text);
          submissions.push({ name, dir });
        } catch (err) {
          if (!(err instanceof MistakeError)) throw err;
          fitProblems.set(name, `it no longer fits the solution: ${err.message}`);
        }
      }
      planned.set(lab.id, list);
    }
    if (planned.size) submissions.unshift({ name: SOLUTIONS, dir: solutionDir });

    let report: GradeReport | undefined;
    if (submissions.length) {
      report = await gradeSubmissions({
        root,
        submissions,
        labs: labs.map((l) => l.id),
        jobs: options.jobs,
        limits: options.limits,
        gradingRoot: `${work}/grading`,
        onProgress: options.onProgress,
      });
    }
    const gradeOf = (student: string, lab: string) =>
      report?.students.find((s) => s.name === student)?.labs.find((g) => g.id === lab);

    const results: LabSelfTest[] = labs.map((lab) => {
      const meta = report?.labs.find((l) => l.id === lab.id);
      const out: LabSelfTest = {
        id: lab.id,
        maxScore: meta?.maxScore ?? 0,
        solutionFailures: [],
        mistakes: [],
        ok: false,
      };
      if (problems.has(lab.id) && !planned.has(lab.id)) {
        out.problem = problems.get(lab.id);
        return out;
      }
      if (meta?.error) {
        out.problem = meta.error;
        return out;
      }
      const solution = gradeOf(SOLUTIONS, lab.id);
      out.solutionScore = solution?.score ?? 0;
      out.solutionFailures = (solution?.checks ?? []).filter((c) => c.status !== "passed").map(
        checkLine,
      );
      if (solution?.status === "error") {
        out.solutionFailures.unshift(`not graded: ${solution.error}`);
      }
      for (const { mistake, name } of planned.get(lab.id) ?? []) {
        const unfit = fitProblems.get(name);
        out.mistakes.push(
          unfit
            ? { name: mistake.name, caught: false, missed: [], otherMessage: [], problem: unfit }
            : judgeMistake(mistake, gradeOf(name, lab.id)),
        );
      }
      if (problems.has(lab.id)) out.problem = problems.get(lab.id);
      out.ok = !out.problem && solution?.status === "graded" &&
        out.solutionScore === out.maxScore && out.maxScore > 0 &&
        out.mistakes.every((m) => m.caught && !m.problem);
      return out;
    });
    return {
      labs: results,
      ok: results.every((r) => r.ok),
      kernel: report?.students[0]?.labs.find((g) => g.kernel)?.kernel,
      durationMs: Math.round(performance.now() - start),
    };
  } finally {
    try {
      Deno.removeSync(work, { recursive: true });
    } catch { /* a child left something unremovable: harmless */ }
  }
}

/**
 * The self-test as text: one verdict line per lab, and under a failing lab
 * what failed.
 *
 * @example
 * ```ts ignore
 * console.log(formatSelfTest(await selfTest()));
 * ```
 */
export function formatSelfTest(report: SelfTestReport): string {
  const lines: string[] = [];
  const width = Math.max(...report.labs.map((l) => l.id.length), 4);
  for (const lab of report.labs) {
    const caught = lab.mistakes.filter((m) => m.caught && !m.problem).length;
    const summary = lab.problem && lab.solutionScore === undefined
      ? lab.problem
      : `solution ${
        lab.solutionScore ?? 0
      }/${lab.maxScore}; ${caught} of ${lab.mistakes.length} mistake${
        lab.mistakes.length === 1 ? "" : "s"
      } lose their points`;
    lines.push(`${lab.ok ? "ok  " : "FAIL"} ${lab.id.padEnd(width)}  ${summary}`);
    if (lab.problem && lab.solutionScore !== undefined) lines.push(`       ${lab.problem}`);
    for (const f of lab.solutionFailures) lines.push(`       the reference solution fails ${f}`);
    for (const m of lab.mistakes) {
      if (m.problem) lines.push(`       mistake ${m.name}: ${m.problem}`);
      for (const miss of m.missed) {
        lines.push(`       mistake ${m.name} keeps the points of ${miss}`);
      }
      for (const other of m.otherMessage) {
        lines.push(`       (note) mistake ${m.name} fails ${other}, not with the message expected`);
      }
    }
  }
  const failed = report.labs.filter((l) => !l.ok).length;
  const n = report.labs.length;
  const on = report.kernel ? ` on ${report.kernel}` : "";
  lines.push(
    "",
    failed
      ? `${failed} of ${n} lab${n === 1 ? "" : "s"} FAIL${
        failed === 1 ? "S" : ""
      } the self-test${on}: do not grade ${
        failed === 1 ? "it" : "them"
      } on this machine until this is understood`
      : `${n === 1 ? "the lab passes its" : `all ${n} labs pass their`} self-test${on}`,
    `(${(report.durationMs / 1000).toFixed(1)} s)`,
  );
  return lines.join("\n");
}
