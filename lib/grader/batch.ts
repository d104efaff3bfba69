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

import { type Catalog, findLab, type LabInfo, loadCatalog, PROJECT_ROOT } from "../catalog.ts";
import { loadLabChecks } from "../checker/load.ts";
import { kernelLabel, kernelProfile } from "../profile.ts";
import { adoptOrphans, type ChildLimits } from "../checker/spawn.ts";
import type { ChildUser } from "../checker/identity.ts";
import type { LabResult } from "../checker/run.ts";
import { toFileUrl } from "../paths.ts";
import {
  createOverlay,
  findSubmissionFiles,
  type Overlay,
  type SubmissionFiles,
} from "./overlay.ts";
import { cleanLeftoverRuns, createRunDir } from "./runs.ts";
import { stubChecker } from "./attempts.ts";
import { type FinishedStudent, submissionDigest } from "./journal.ts";
import { type Isolation, startIsolation } from "./isolation.ts";
import { warmModuleCache } from "./module_cache.ts";
import type { CheckGrade, GradeReport, LabGrade, LabMeta, StudentGrade } from "./types.ts";

type RunModule = typeof import("../checker/run.ts");
type CatalogModule = typeof import("../catalog.ts");

/** One entry of a class folder: a student's submission, or why it is not one. */
export interface Submission {
  /** The student (the entry's name; for two spellings of one name, its NFC form). */
  name: string;
  /** The folder. */
  dir: string;
  /** Why it is not graded (a file, a link, a hidden folder…): it gets a row with this reason. */
  rejected?: string;
}

/** Entries of a class folder that tools and archives leave: not students, ignored. */
export const LITTER: readonly string[] = [
  ".git",
  ".DS_Store",
  "__MACOSX",
  "Thumbs.db",
  "desktop.ini",
];

function entryRejection(entry: Deno.DirEntry, path: string): string | undefined {
  if (entry.isSymlink) {
    let target = "";
    try {
      target = ` to ${Deno.readLinkSync(path)}`;
    } catch { /* unreadable */ }
    return `a symbolic link${target}, not a folder: only real folders are graded (a link can point at another student's work); copy the submission here`;
  }
  if (entry.isFile) {
    return "a file, not a folder: each submission is a folder (unpack an archive into one)";
  }
  if (!entry.isDirectory) return "not a folder";
  if (entry.name.startsWith(".")) {
    return "a hidden folder (its name starts with a dot): not graded; rename it if it is a student's";
  }
  return undefined;
}

/**
 * Every entry of a class folder, by name: each sub-folder is a student's
 * submission; every other entry (a file, a symbolic link, a hidden folder
 * such as `..x` or `...`) comes with the reason it is not graded, so that it
 * gets a row too. Names that differ only in Unicode normalization (NFC `é`,
 * NFD `e` + accent) are one student with two folders: one rejected row.
 * Tool and archive litter ({@link LITTER}) is ignored.
 *
 * @example
 * ```ts ignore
 * listSubmissions("submissions");
 * // [{ name: "alice", dir: "submissions/alice" },
 * //  { name: "bob.zip", dir: "submissions/bob.zip", rejected: "a file, not a folder: …" }]
 * ```
 */
export function listSubmissions(dir: string): Submission[] {
  const byName = new Map<string, Submission[]>();
  for (const entry of Deno.readDirSync(dir)) {
    if (LITTER.includes(entry.name)) continue;
    const path = `${dir}/${entry.name}`;
    const rejected = entryRejection(entry, path);
    const key = entry.name.normalize("NFC");
    const list = byName.get(key) ?? [];
    list.push({ name: entry.name, dir: path, ...(rejected ? { rejected } : {}) });
    byName.set(key, list);
  }
  const out: Submission[] = [];
  for (const [key, list] of byName) {
    if (list.length === 1) {
      out.push(list[0]);
      continue;
    }
    const spellings = list.sort((a, b) => Number(b.name === key) - Number(a.name === key)).map((
      s,
    ) =>
      `${JSON.stringify(s.name)} (${
        s.name === key ? "NFC" : s.name === key.normalize("NFD") ? "NFD" : "other"
      }, ${new TextEncoder().encode(s.name).length} bytes)`
    ).join(" and ");
    out.push({
      name: key,
      dir: list[0].dir,
      rejected:
        `${list.length} entries spell this name in different Unicode forms: ${spellings}: one student? Merge them into one folder and grade again`,
    });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The submissions named `names` (compared in Unicode NFC); throws naming those not found.
 *
 * @example
 * ```ts ignore
 * pickSubmissions(listSubmissions("submissions"), ["José"]); // either spelling of the name
 * ```
 */
export function pickSubmissions(
  submissions: readonly Submission[],
  names: readonly string[],
): Submission[] {
  const wanted = new Set(names.map((n) => n.normalize("NFC")));
  const found = submissions.filter((s) => wanted.has(s.name.normalize("NFC")));
  const foundNames = new Set(found.map((s) => s.name.normalize("NFC")));
  const unknown = [...wanted].filter((n) => !foundNames.has(n));
  if (unknown.length) {
    throw new Error(`no submission ${unknown.map((n) => JSON.stringify(n)).join(", ")}`);
  }
  return found;
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
  /** Multiplies every time limit (checks and children), on top of labs.json's `timeScale`. */
  timeScale?: number;
  /** Called as labs start and finish. */
  onProgress?: (event: ProgressEvent) => void;
  /**
   * Students graded before (a journal, on `--resume`), by name: taken as they
   * are, without grading, when the student's lab files are still the same.
   */
  finished?: ReadonlyMap<string, FinishedStudent>;
  /**
   * Called as soon as a student's last lab is graded without a grading
   * problem (for the journal); not for students taken from `finished`.
   */
  onFinished?: (entry: FinishedStudent) => void;
  /**
   * As root, the first id of the range the children's users and groups are
   * taken from (default 60000; see `lib/grader/isolation.ts`).
   */
  childIdBase?: number;
  /**
   * As root, run the students' code as root, without a user of its own
   * (refused otherwise when isolation is impossible). Only inside a
   * throw-away container that holds nothing else.
   */
  unsafeAsRoot?: boolean;
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
      const checks = await loadLabChecks(root, lab, { includeHidden: true });
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
  /** Digest of the lab files (when a journal is kept or read). */
  digest?: string;
  /** Decided before grading (from `finished`, or a rejected entry): not graded. */
  ready?: StudentGrade;
  overlay?: Overlay;
  /** The student's group, when isolating: its overlay is `root:<gid> 0750`. */
  gid?: number;
  /** The module cache filled for the student's children (module_cache.ts). */
  moduleCache?: string;
  modules?: Promise<{ run: RunModule; catalog: Catalog }>;
  pending: number;
  grades: Map<string, LabGrade>;
  /** This student's grading problems. */
  problems: string[];
}

function studentGrade(student: StudentState, labs: readonly LabInfo[]): StudentGrade {
  if (student.ready) return student.ready;
  const gradesList = labs.map((lab) => student.grades.get(lab.id)!);
  return {
    name: student.submission.name,
    submission: student.submission.dir,
    status: "graded",
    labs: gradesList,
    score: gradesList.reduce((sum, g) => sum + g.score, 0),
    maxScore: gradesList.reduce((sum, g) => sum + g.maxScore, 0),
    notes: [...student.files.rejected.values()],
  };
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
  const journaling = Boolean(options.finished?.size || options.onFinished);
  const jobs = Math.max(1, options.jobs ?? navigator.hardwareConcurrency ?? 1);
  const isStub = stubChecker(root);

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
  // Folders of graders killed before they could clean up (SIGKILL, a crash); never a live run's.
  cleanLeftoverRuns(gradingRoot);
  // A real path: the children's users may pass only through the folders on the way to it
  // (a `..` would go through one closed to them).
  const runDir = Deno.realPathSync(createRunDir(gradingRoot, { keep: options.keep ?? false }));
  if (!options.keep) activeRuns.add(runDir);

  // As root: the children run as users of their own (or the grading is refused).
  let isolation: Isolation | undefined;
  if (!options.unsafeAsRoot) {
    try {
      isolation = await startIsolation({
        root,
        gradingRoot,
        runDir,
        scratchRoot: kernel.scratch.reason ? kernel.scratch.dir : undefined,
        // The grader's own tree too, when it grades another instructor tree.
        protect: [
          PROJECT_ROOT,
          ...options.submissions.filter((s) => !s.rejected).map((s) => s.dir),
        ],
        base: options.childIdBase,
      });
    } catch (err) {
      activeRuns.delete(runDir);
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onOuterAbort);
      try {
        Deno.removeSync(runDir, { recursive: true });
      } catch { /* kept or gone */ }
      throw err;
    }
  }

  const students: StudentState[] = options.submissions.map((submission) => {
    // A rejected entry is never read (a link may point anywhere).
    const files = submission.rejected
      ? { found: new Map(), rejected: new Map() }
      : findSubmissionFiles(submission.dir, labs);
    const student: StudentState = {
      submission,
      files,
      pending: labs.length,
      grades: new Map(),
      problems: [],
    };
    if (submission.rejected) {
      const grades = metas.map((m) =>
        unrun(m, "missing", `not graded: ${submission.rejected}`, false)
      );
      student.ready = {
        name: submission.name,
        submission: submission.dir,
        status: "rejected",
        labs: grades,
        score: 0,
        maxScore: grades.reduce((sum, g) => sum + g.maxScore, 0),
        notes: [submission.rejected],
      };
      return student;
    }
    if (journaling) student.digest = submissionDigest(files);
    const before = options.finished?.get(submission.name);
    if (before && before.files === student.digest) student.ready = before.student;
    return student;
  });
  const tasks = students.filter((s) => !s.ready).flatMap((student) =>
    labs.map((lab) => ({ student, lab }))
  );
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
      // One copy of the framework and the checkers for every student: V8 never unloads a
      // module, so importing them from each overlay grew the grader with every student.
      // The children (drives, the harness and the student's module) run from the overlay.
      student.modules = (async () => {
        // Before the gate, which opens up what the children read.
        student.moduleCache = await warmModuleCache(overlayRoot, labs);
        if (isolation) student.gid = isolation.gateOverlay(overlayRoot);
        const run: RunModule = await import(toFileUrl(`${root}/lib/checker/run.ts`));
        const catalogModule: CatalogModule = await import(toFileUrl(`${root}/lib/catalog.ts`));
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
    if (isStub(lab.id, lab.file, file.path)) {
      // Not attempted: no points for what the stub does as handed out, and no children to run.
      return {
        ...unrun(
          meta,
          "graded",
          `not attempted: ${file.relative} is the lab's stub, unchanged`,
          false,
        ),
        file: file.relative,
        unchanged: true,
      };
    }
    if (controller.signal.aborted) {
      const reason = String(controller.signal.reason);
      student.problems.push(`${name} ${lab.id}: not graded: ${reason}`);
      return unrun(meta, "error", `not graded: ${reason}`, true);
    }
    let user: ChildUser | undefined;
    try {
      const { run, catalog: overlayCatalog } = await modulesFor(student);
      if (isolation && student.gid !== undefined) user = isolation.labUser(student.gid);
      const overlayLab = overlayCatalog.labs.find((l) => l.id === lab.id);
      if (!overlayLab) throw new Error(`${lab.id} is missing from the overlay's labs.json`);
      const result = await run.runLab(overlayCatalog, overlayLab, {
        includeHidden: true,
        checkerRoot: root,
        // The overlay's own directory, unless msync cleans no page there (the project on tmpfs).
        scratchRoot: kernel.scratch.reason
          ? kernel.scratch.dir
          : `${overlayCatalog.root}/.mmap-lab/scratch`,
        kernel,
        signal: controller.signal,
        limits: options.limits,
        timeScale: options.timeScale,
        keepScratch: options.keep,
        user,
        moduleCache: student.moduleCache,
        // Every core is kept busy with labs of several students: a child started ahead of its
        // task would only take CPU from them.
        prestart: false,
      });
      const grade: LabGrade = { ...fromLabResult(result, file.relative), kernel: kernelText };
      if (grade.error) student.problems.push(`${name} ${lab.id}: ${grade.error}`);
      for (const c of grade.checks) {
        if (c.internalError) student.problems.push(`${name} ${lab.id} ${c.id}: ${c.message}`);
      }
      if (!grade.error && grade.maxScore !== meta.maxScore) {
        student.problems.push(
          `${name} ${lab.id}: ${grade.maxScore} points possible, but the checker declares ${meta.maxScore}`,
        );
      }
      return grade;
    } catch (err) {
      const message = `the grader failed: ${err instanceof Error ? err.message : String(err)}`;
      student.problems.push(`${name} ${lab.id}: ${message}`);
      return unrun(meta, "error", message, true);
    } finally {
      if (user) isolation?.releaseUser(user);
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
          student.problems.push(`${name}: could not remove its overlay: ${err}`);
        }
      }
      if (student.pending === 0 && student.gid !== undefined) isolation?.releaseGroup(student.gid);
      const clean = !student.problems.length &&
        ![...student.grades.values()].some((g) => g.status === "error");
      if (student.pending === 0 && clean && options.onFinished) {
        options.onFinished({
          name,
          files: student.digest!,
          student: studentGrade(student, labs),
        });
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
    isolation?.end();
    activeRuns.delete(runDir);
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onOuterAbort);
    if (!options.keep) {
      try {
        Deno.removeSync(runDir, { recursive: true });
      } catch { /* a child left something unremovable; harmless */ }
    }
  }

  const result: StudentGrade[] = students.map((student) => studentGrade(student, labs));
  // Grading problems in class order (not the order labs happened to finish in).
  for (const student of students) problems.push(...student.problems);
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
      // A rejected row's notes say why; a graded row's add up over runs (other labs' files).
      notes: old?.status === "rejected" || s.status === "rejected"
        ? s.notes
        : [...new Set([...(old?.notes ?? []), ...s.notes])],
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
