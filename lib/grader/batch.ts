/**
 * Grading a class: every selected lab of every submission, each in its own
 * overlay (a clean copy of the instructor's tree with only the student's lab
 * files laid over it), `jobs` labs at a time, under an optional time budget.
 * One failing submission never stops the batch; every lab of every student
 * gets a grade, and every grading problem (not a student's mistake) is listed
 * in the report's `problems`.
 *
 * @module
 */

import {
  type Catalog,
  checkerFile,
  findLab,
  type LabInfo,
  loadCatalog,
  PROJECT_ROOT,
} from "../catalog.ts";
import type { Check } from "../checker/check.ts";
import { kernelLabel, kernelProfile } from "../profile.ts";
import { adoptOrphans, type ChildLimits } from "../checker/spawn.ts";
import type { LabResult } from "../checker/run.ts";
import { toFileUrl } from "../paths.ts";
import {
  createOverlay,
  findSubmissionFiles,
  type Overlay,
  type SubmissionFiles,
} from "./overlay.ts";
import type { CheckGrade, GradeReport, LabGrade, LabMeta, StudentGrade } from "./types.ts";

type RunModule = typeof import("../checker/run.ts");
type CatalogModule = typeof import("../catalog.ts");

/** One student's submission folder. */
export interface Submission {
  /** The student (the folder's name). */
  name: string;
  /** The folder. */
  dir: string;
}

/**
 * The sub-folders of `dir`, one per student, by name (hidden ones skipped).
 *
 * @example
 * ```ts ignore
 * listSubmissions("submissions"); // [{ name: "alice", dir: "submissions/alice" }, …]
 * ```
 */
export function listSubmissions(dir: string): Submission[] {
  return [...Deno.readDirSync(dir)]
    .filter((e) => e.isDirectory && !e.name.startsWith("."))
    .map((e) => ({ name: e.name, dir: `${dir}/${e.name}` }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** A grading progress event. */
export interface ProgressEvent {
  /** `start`: a lab of a student began; `done`: it has its grade. */
  kind: "start" | "done";
  /** The student. */
  student: string;
  /** The lab's id. */
  lab: string;
  /** Labs graded so far. */
  done: number;
  /** Labs to grade in all. */
  total: number;
  /** The grade, when `done`. */
  grade?: LabGrade;
}

/** Options for {@link gradeSubmissions}. */
export interface GradeOptions {
  /** The instructor's tree (default: this project). */
  root?: string;
  /** The submissions to grade. */
  submissions: Submission[];
  /** Only these labs (id, number or slug); default all in labs.json. */
  labs?: string[];
  /** Labs graded at once (default: the number of cores). */
  jobs?: number;
  /** Stop grading after this many ms: what is left is "not graded", a grading problem. */
  budgetMs?: number;
  /** Stops grading when aborted, like the budget. */
  signal?: AbortSignal;
  /** Where overlays go (default `<root>/.mmap-lab/grading`); must be disk-backed. */
  gradingRoot?: string;
  /** Keep the overlays and their scratch folders (for debugging a checker). */
  keep?: boolean;
  /** Resource limits of the children. */
  limits?: ChildLimits;
  /** Called as labs start and finish. */
  onProgress?: (event: ProgressEvent) => void;
}

/** The labs `names` select in `catalog` (all when empty); throws on an unknown one. */
export function selectLabs(catalog: Catalog, names?: readonly string[]): LabInfo[] {
  if (!names?.length) return catalog.labs;
  const wanted = new Set<string>();
  for (const name of names) {
    const lab = findLab(catalog, name);
    if (!lab) {
      throw new Error(
        `no lab ${JSON.stringify(name)}: labs are ${catalog.labs.map((l) => l.id).join(", ")}`,
      );
    }
    wanted.add(lab.id);
  }
  return catalog.labs.filter((l) => wanted.has(l.id));
}

/**
 * Reads each lab's checks (ids, titles, points, hidden) from the instructor's
 * checkers; a checker that does not load gives a {@link LabMeta} with `error`.
 */
export async function loadLabMeta(root: string, labs: readonly LabInfo[]): Promise<LabMeta[]> {
  const metas: LabMeta[] = [];
  for (const lab of labs) {
    const meta: LabMeta = { id: lab.id, title: lab.title, file: lab.file, maxScore: 0, checks: [] };
    try {
      const checks: Check[] = (await import(toFileUrl(checkerFile(root, lab, "check.ts"))))
        .default;
      if (!Array.isArray(checks)) throw new Error("check.ts has no default export of checks");
      meta.checks = checks.map((c) => ({
        id: c.id,
        title: c.title,
        points: c.points,
        hidden: c.hidden ?? false,
      }));
      meta.maxScore = meta.checks.reduce((sum, c) => sum + c.points, 0);
    } catch (err) {
      meta.error = `could not load the checker of ${lab.id}: ${
        err instanceof Error ? err.message : String(err)
      }`;
    }
    metas.push(meta);
  }
  return metas;
}

/** A lab grade in which every check failed with `message` (nothing ran). */
function unrun(
  meta: LabMeta,
  status: LabGrade["status"],
  message: string,
  internal: boolean,
): LabGrade {
  return {
    id: meta.id,
    status,
    score: 0,
    maxScore: meta.maxScore,
    checks: meta.checks.map((c) => ({
      id: c.id,
      title: c.title,
      score: 0,
      maxScore: c.points,
      status: "failed",
      message,
      hidden: c.hidden,
      ...(internal ? { internalError: true } : {}),
    })),
    ...(status === "error" ? { error: message } : {}),
    durationMs: 0,
  };
}

function fromLabResult(result: LabResult, file: string): LabGrade {
  const checks: CheckGrade[] = result.checks.map((c) => {
    const details = Object.fromEntries(
      Object.entries(c.details ?? {}).filter(([, v]) => v !== undefined && v !== ""),
    );
    return {
      id: c.id,
      title: c.title,
      score: c.score,
      maxScore: c.maxScore,
      status: c.status,
      message: c.message,
      ...(Object.keys(details).length ? { details } : {}),
      ...(c.notes.length ? { notes: [...c.notes] } : {}),
      ...(c.hint ? { hint: c.hint } : {}),
      ...(c.output ? { output: { ...c.output } } : {}),
      hidden: c.hidden,
      ...(c.internalError ? { internalError: true } : {}),
    };
  });
  return {
    id: result.id,
    status: result.error ? "error" : "graded",
    score: result.score,
    maxScore: result.maxScore,
    file,
    checks,
    ...(result.error ? { error: result.error } : {}),
    durationMs: Math.round(result.durationMs),
  };
}

/** Run folders of gradings in progress in this process (removed by {@link abandonRuns}). */
const activeRuns = new Set<string>();

/**
 * Deletes the overlays of every grading still in progress in this process:
 * for a Ctrl-C handler, after the children are killed (`killAllChildren`).
 */
export function abandonRuns(): void {
  for (const dir of activeRuns) {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch { /* already gone, or kept */ }
  }
  activeRuns.clear();
}

interface StudentState {
  submission: Submission;
  files: SubmissionFiles;
  overlay?: Overlay;
  modules?: Promise<{ run: RunModule; catalog: Catalog }>;
  pending: number;
  grades: Map<string, LabGrade>;
}

/**
 * Grades every selected lab of every submission and returns the report.
 * Throws only for a bad option (an unknown lab); everything a submission
 * does ends up in the report.
 *
 * @example
 * ```ts ignore
 * const report = await gradeSubmissions({ submissions: listSubmissions("subs"), labs: ["0"] });
 * console.log(report.students.map((s) => `${s.name} ${s.score}/${s.maxScore}`));
 * ```
 */
export async function gradeSubmissions(options: GradeOptions): Promise<GradeReport> {
  const start = performance.now();
  const root = options.root ?? PROJECT_ROOT;
  const catalog = loadCatalog(root);
  // One profile for the whole run, in every grade it produces: kernels differ in what the
  // checks observe, and an instructor must be able to see which kernel graded what.
  const kernel = kernelProfile(root);
  const kernelText = kernelLabel(kernel);
  const labs = selectLabs(catalog, options.labs);
  const metas = await loadLabMeta(root, labs);
  const metaOf = new Map(metas.map((m) => [m.id, m]));
  const problems: string[] = metas.filter((m) => m.error).map((m) => m.error!);
  const jobs = Math.max(1, options.jobs ?? navigator.hardwareConcurrency ?? 1);

  const controller = new AbortController();
  const budget = options.budgetMs;
  const timer = budget
    ? setTimeout(
      () => controller.abort(`the grading time budget (${Math.round(budget / 1000)} s) ran out`),
      budget,
    )
    : undefined;
  const onOuterAbort = () => controller.abort(options.signal?.reason ?? "grading was stopped");
  options.signal?.addEventListener("abort", onOuterAbort);
  if (options.signal?.aborted) onOuterAbort();

  const gradingRoot = options.gradingRoot ?? `${root}/.mmap-lab/grading`;
  Deno.mkdirSync(gradingRoot, { recursive: true });
  const runDir = Deno.makeTempDirSync({ dir: gradingRoot, prefix: "run-" });
  if (!options.keep) activeRuns.add(runDir);

  const students: StudentState[] = options.submissions.map((submission) => ({
    submission,
    files: findSubmissionFiles(submission.dir, labs),
    pending: labs.length,
    grades: new Map(),
  }));
  const tasks = students.flatMap((student) => labs.map((lab) => ({ student, lab })));
  let done = 0;

  const modulesFor = (student: StudentState) => {
    if (!student.modules) {
      student.overlay = createOverlay(
        root,
        runDir,
        student.submission.name,
        student.files.found,
        labs,
      );
      const overlayRoot = student.overlay.root;
      student.modules = (async () => {
        const run: RunModule = await import(toFileUrl(`${overlayRoot}/lib/checker/run.ts`));
        const catalogModule: CatalogModule = await import(
          toFileUrl(`${overlayRoot}/lib/catalog.ts`)
        );
        return { run, catalog: catalogModule.loadCatalog(overlayRoot) };
      })();
    }
    return student.modules;
  };

  const gradeOne = async (student: StudentState, lab: LabInfo): Promise<LabGrade> => {
    const meta = metaOf.get(lab.id)!;
    const name = student.submission.name;
    const rejected = student.files.rejected.get(lab.id);
    const file = student.files.found.get(lab.id);
    if (meta.error) return unrun(meta, "error", `not graded: ${meta.error}`, true);
    if (!file) {
      const why = rejected ??
        `${lab.file} was not found in the submission (looked for labs/${lab.id}/${lab.file}, ${lab.id}/${lab.file} and ${lab.file})`;
      return unrun(meta, "missing", `not submitted: ${why}`, false);
    }
    if (controller.signal.aborted) {
      const reason = String(controller.signal.reason);
      problems.push(`${name} ${lab.id}: not graded: ${reason}`);
      return unrun(meta, "error", `not graded: ${reason}`, true);
    }
    try {
      const { run, catalog: overlayCatalog } = await modulesFor(student);
      const overlayLab = overlayCatalog.labs.find((l) => l.id === lab.id);
      if (!overlayLab) throw new Error(`${lab.id} is missing from the overlay's labs.json`);
      const result = await run.runLab(overlayCatalog, overlayLab, {
        includeHidden: true,
        // The overlay's own directory, unless msync cleans no page there (the project on tmpfs).
        scratchRoot: kernel.scratch.reason
          ? kernel.scratch.dir
          : `${overlayCatalog.root}/.mmap-lab/scratch`,
        kernel,
        signal: controller.signal,
        limits: options.limits,
        keepScratch: options.keep,
      });
      const grade = { ...fromLabResult(result, file.relative), kernel: kernelText };
      if (grade.error) problems.push(`${name} ${lab.id}: ${grade.error}`);
      for (const c of grade.checks) {
        if (c.internalError) problems.push(`${name} ${lab.id} ${c.id}: ${c.message}`);
      }
      if (!grade.error && grade.maxScore !== meta.maxScore) {
        problems.push(
          `${name} ${lab.id}: ${grade.maxScore} points possible, but the checker declares ${meta.maxScore}`,
        );
      }
      return grade;
    } catch (err) {
      const message = `the grader failed: ${err instanceof Error ? err.message : String(err)}`;
      problems.push(`${name} ${lab.id}: ${message}`);
      return unrun(meta, "error", message, true);
    }
  };

  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const { student, lab } = tasks[next++];
      const name = student.submission.name;
      options.onProgress?.({
        kind: "start",
        student: name,
        lab: lab.id,
        done,
        total: tasks.length,
      });
      const t0 = performance.now();
      const grade = await gradeOne(student, lab);
      if (!grade.durationMs) grade.durationMs = Math.round(performance.now() - t0);
      student.grades.set(lab.id, grade);
      if (--student.pending === 0 && student.overlay && !options.keep) {
        try {
          student.overlay.remove();
        } catch (err) {
          problems.push(`${name}: could not remove its overlay: ${err}`);
        }
      }
      done++;
      options.onProgress?.({
        kind: "done",
        student: name,
        lab: lab.id,
        done,
        total: tasks.length,
        grade,
      });
    }
  };
  // Processes a student's code starts and orphans (setsid, double fork) come
  // back to this process, and die when the child that made them ends.
  adoptOrphans(true);
  try {
    await Promise.all(Array.from({ length: Math.min(jobs, Math.max(tasks.length, 1)) }, worker));
  } finally {
    adoptOrphans(false);
    activeRuns.delete(runDir);
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onOuterAbort);
    if (!options.keep) {
      try {
        Deno.removeSync(runDir, { recursive: true });
      } catch { /* a child left something unremovable; harmless */ }
    }
  }

  const result: StudentGrade[] = students.map((student) => {
    const gradesList = labs.map((lab) => student.grades.get(lab.id)!);
    return {
      name: student.submission.name,
      submission: student.submission.dir,
      labs: gradesList,
      score: gradesList.reduce((sum, g) => sum + g.score, 0),
      maxScore: gradesList.reduce((sum, g) => sum + g.maxScore, 0),
      notes: [...student.files.rejected.values()],
    };
  });
  return {
    format: "mmap-lab-grades",
    version: 1,
    gradedAt: new Date().toISOString(),
    labs: metas,
    students: result,
    problems: [...new Set(problems)],
    durationMs: Math.round(performance.now() - start),
    kernel,
  };
}

/**
 * Merges a re-grade into an earlier report: the labs `update` graded replace
 * those of the same students; everything else of `base` stays.
 *
 * @example
 * ```ts ignore
 * const merged = mergeReports(JSON.parse(Deno.readTextFileSync("grades/class.json")), regrade);
 * ```
 */
export function mergeReports(base: GradeReport, update: GradeReport): GradeReport {
  const labIds = [...new Set([...base.labs, ...update.labs].map((l) => l.id))].sort();
  const labMeta = new Map([...base.labs, ...update.labs].map((l) => [l.id, l]));
  const labs = labIds.map((id) => labMeta.get(id)!);
  const byName = new Map(base.students.map((s) => [s.name, s]));
  for (const s of update.students) {
    const old = byName.get(s.name);
    const grades = new Map([...(old?.labs ?? []), ...s.labs].map((g) => [g.id, g]));
    const list = labIds.flatMap((id) => grades.has(id) ? [grades.get(id)!] : []);
    byName.set(s.name, {
      ...s,
      labs: list,
      score: list.reduce((sum, g) => sum + g.score, 0),
      maxScore: list.reduce((sum, g) => sum + g.maxScore, 0),
      notes: [...new Set([...(old?.notes ?? []), ...s.notes])],
    });
  }
  return {
    ...update,
    labs,
    students: [...byName.values()].sort((a, b) => a.name.localeCompare(b.name)),
    problems: update.problems,
  };
}

/** A report's students as a name → student map (for tests and tools). */
export function studentsByName(report: GradeReport): Map<string, StudentGrade> {
  return new Map(report.students.map((s) => [s.name, s]));
}
