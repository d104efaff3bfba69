/**
 * The student handout (`deno task handout <dir>`): the student edition of the
 * instructor's tree, a working project of its own, ready to push as the
 * course's template repository. It ships the labs (lessons, stubs, visible
 * checks), the library, the runner, the library's and runner's own tests and
 * the README's student parts. It never ships:
 *
 * - `solutions/`, `tests/wrong/*.mistake`, `tests/right/` (answers),
 * - a lab's hidden checks: `checker/hidden.ts` and every `checker/hidden*`
 *   file (a lab whose `check.ts` declares a hidden check inline is refused),
 * - the instructor's tools and documents: `cli/grade*.ts`, `cli/mutants.ts`,
 *   `cli/handout.ts`, `lib/grader/`, `docs/` (grading, writing a lab; but
 *   `docs/img/`, the README's pictures, ships),
 *   `bench/` and `.ci/` (they need the solutions), and the tests that need
 *   the solutions, the mistakes or the grader,
 * - anything else at the top of the tree (`grades/`, `submissions/`, …).
 *
 * Before it commits, it checks what it wrote: its own `deno fmt --check`,
 * `deno lint` and `deno check` pass (so no file imports a file left out), no
 * solution line, no Markdown link to a file left out.
 *
 * @module
 */

import { type Catalog, type LabInfo, loadCatalog, solutionFile } from "../catalog.ts";
import { isHiddenCheckerFile } from "../checker/load.ts";
import { checkerFile } from "../catalog.ts";
import { toFileUrl } from "../paths.ts";
import type { Check } from "../checker/check.ts";

/**
 * Tools of the instructor in `cli/`, left out of the handout: the grader and its sub-commands
 * (`grade.ts`, `grade_*.ts`), `mutants.ts`, `handout.ts`, and `resolve.ts` which only they use.
 */
export const INSTRUCTOR_CLI: RegExp = /^(grade(_[a-z_]+)?|mutants|handout|resolve)\.ts$/;

/**
 * The tests the handout ships: those that need neither the solutions, nor the
 * mistakes, nor the grader (paths relative to the project; a folder ships
 * whole). Every other test stays with the instructor:
 * `labs_test.ts`, `mistakes*.ts`, `kernels_test.ts` and `contradictions*.ts`
 * grade the solutions and mistakes; `runner/cli_test.ts`, `state_test.ts`,
 * `pty_test.ts` (and `helpers/project.ts`, `helpers/tmux.ts`) pass a lab with
 * its solution; `runner/mutants_test.ts`, `grader/` and `bench_test.ts` test
 * tools the handout does not have.
 */
export const STUDENT_TESTS: readonly string[] = [
  "tests/lib",
  "tests/checker",
  "tests/fixtures/project",
  "tests/helpers/scratch.ts",
  "tests/helpers/fuzz.ts",
  "tests/runner/fixtures",
  "tests/runner/runner_test.ts",
  "tests/runner/version_test.ts",
  "tests/runner/wrap_test.ts",
  "tests/layout_test.ts",
  "tests/readme_test.ts",
];

/** Tasks of `deno.json` that are the instructor's (or need what the handout leaves out). */
export const INSTRUCTOR_TASKS: readonly string[] = ["grade", "bench", "mutants", "handout"];

/** README sections (`## ` headings) for instructors and contributors: left out. */
export const INSTRUCTOR_SECTIONS: readonly string[] = [
  "For instructors",
  "Performance",
  "For contributors",
];

/** Thrown when the handout cannot be built, or what was built fails its own checks. */
export class HandoutError extends Error {
  /** What went wrong, one item per problem. */
  readonly problems: string[];
  /**
   * A refusal with its problems.
   *
   * @example
   * ```ts
   * console.log(new HandoutError(["a", "b"]).message); // "a; b"
   * ```
   */
  constructor(problems: string[]) {
    super(problems.join("; "));
    this.name = "HandoutError";
    this.problems = problems;
  }
}

/** One file the handout ships, relative to both trees. */
export interface ShippedFile {
  /** Path relative to the project root (and to the handout's). */
  path: string;
}

/** What {@link planHandout} decided. */
export interface HandoutPlan {
  /** Files copied (README.md and deno.json are rewritten). */
  files: string[];
  /** What is left out, by top-level entry or folder, and why. */
  left: { path: string; why: string }[];
}

function isDir(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** Every regular file under `dir` (relative to `root`), hidden entries aside, sorted. */
function filesUnder(root: string, dir: string, skip: (rel: string) => boolean = () => false) {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of Deno.readDirSync(`${root}/${rel}`)) {
      if (e.name.startsWith(".")) continue;
      const child = `${rel}/${e.name}`;
      if (skip(child)) continue;
      if (e.isDirectory) walk(child);
      else if (e.isFile) out.push(child);
      // symbolic links are not shipped: a template repository holds files
    }
  };
  if (isDir(`${root}/${dir}`)) walk(dir);
  return out.sort();
}

/**
 * Decides what the handout of the tree at `root` holds.
 *
 * @example
 * ```ts ignore
 * const plan = planHandout(PROJECT_ROOT);
 * console.log(plan.files.includes("solutions/00_hello_mapping/hello.ts")); // false
 * ```
 */
export function planHandout(root: string): HandoutPlan {
  const files: string[] = [];
  const left: HandoutPlan["left"] = [];
  for (const top of ["README.md", "deno.json", "deno.lock", ".gitignore"]) {
    if (isFile(`${root}/${top}`)) files.push(top);
  }
  files.push(
    ...filesUnder(root, "cli", (rel) => {
      const drop = INSTRUCTOR_CLI.test(rel.slice("cli/".length));
      if (drop) left.push({ path: rel, why: "an instructor's tool" });
      return drop;
    }),
  );
  files.push(
    ...filesUnder(root, "lib", (rel) => {
      const drop = rel === "lib/grader";
      if (drop) left.push({ path: "lib/grader/", why: "the grader" });
      return drop;
    }),
  );
  files.push(
    ...filesUnder(root, "labs", (rel) => {
      const parts = rel.split("/");
      const drop = parts.length === 4 && parts[2] === "checker" && isHiddenCheckerFile(parts[3]);
      if (drop) left.push({ path: rel, why: "hidden checks (grading only)" });
      return drop;
    }),
  );
  for (const test of STUDENT_TESTS) {
    if (isDir(`${root}/${test}`)) files.push(...filesUnder(root, test));
    else if (isFile(`${root}/${test}`)) files.push(test);
  }
  // The README's pictures (its students' sections show them); the rest of docs/ stays out.
  if (isDir(`${root}/docs/img`)) files.push(...filesUnder(root, "docs/img"));
  const shippedTop = new Set(["README.md", "deno.json", "deno.lock", ".gitignore", "cli", "lib"]);
  for (const e of Deno.readDirSync(root)) {
    if (shippedTop.has(e.name) || e.name === "labs" || e.name === ".git") continue;
    const why: Record<string, string> = {
      solutions: "the reference solutions",
      docs: "instructors' and contributors' documents (grading, writing a lab); docs/img/, " +
        "the README's pictures, ships",
      bench: "the benchmarks (they need the solutions)",
      ".ci": "CI (it runs the solutions)",
      ".mmap-lab": "scratch files",
      grades: "grades (personal data)",
      submissions: "students' submissions (personal data)",
    };
    if (e.name === "tests") {
      left.push({
        path: "tests/",
        why:
          `all but ${STUDENT_TESTS.length} entries (the tests that need solutions, mistakes or the grader, and tests/wrong/ with the mistakes)`,
      });
    } else {
      left.push({
        path: e.isDirectory ? `${e.name}/` : e.name,
        why: why[e.name] ?? "not part of the student edition",
      });
    }
  }
  return { files: [...new Set(files)].sort(), left };
}

/**
 * The README for students: the instructors', performance and contributors'
 * sections left out, a note on where solutions come from, and the
 * `lab solution` row saying so.
 *
 * @example
 * ```ts
 * const text = studentReadme("# x\n\nIntro.\n\n## For students\n\nHi.\n\n## For instructors\n\nGrade.\n");
 * console.log(text.includes("Grade."), text.includes("Hi.")); // false true
 * ```
 */
export function studentReadme(text: string): string {
  const lines = text.split("\n");
  const out: string[] = [];
  let dropping = false;
  let inFence = false;
  let noted = false;
  for (const line of lines) {
    if (/^(```|~~~)/.test(line)) inFence = !inFence;
    const heading = !inFence && /^## (.+)$/.exec(line);
    if (heading) {
      dropping = INSTRUCTOR_SECTIONS.includes(heading[1].trim());
      if (!noted) {
        out.push(
          "This is the **student edition** of mmap-lab: the labs, the library and the runner. The",
          "reference solutions are not part of it; they come from your instructor (after the deadline,",
          "perhaps), and `deno task lab solution <lab>` shows them once they are in `solutions/`.",
          "",
        );
        noted = true;
      }
    }
    if (dropping) continue;
    if (line.startsWith("| `deno task lab solution")) {
      const cells = line.split("|");
      if (cells.length >= 4) {
        cells[2] = " the reference solution, once the lab passes and `solutions/` has it ";
        out.push(cells.join("|"));
        continue;
      }
    }
    out.push(line);
  }
  while (out.length && out[out.length - 1] === "") out.pop();
  return out.join("\n") + "\n";
}

/**
 * The handout's `deno.json`: the instructor's tasks and their permission sets left out.
 *
 * @example
 * ```ts
 * const json = studentDenoJson('{"tasks": {"lab": "x", "grade": "y"}, "permissions": {"grade": {}}}');
 * console.log(JSON.parse(json).tasks); // { lab: "x" }
 * ```
 */
export function studentDenoJson(text: string): string {
  const config = JSON.parse(text);
  for (const task of INSTRUCTOR_TASKS) {
    delete config.tasks?.[task];
    delete config.permissions?.[task];
  }
  // Arrays of strings on one line, as the project writes them.
  return JSON.stringify(config, null, 2).replace(
    /\[\s+("(?:[^"\\]|\\.)*"(?:,\s+"(?:[^"\\]|\\.)*")*)\s+\]/g,
    (_, items: string) => `[${items.split(/,\s+(?=")/).join(", ")}]`,
  ) + "\n";
}

function resolveRelative(from: string, specifier: string): string {
  const parts = from.split("/").slice(0, -1);
  for (const part of specifier.split("/")) {
    if (part === "." || part === "") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return parts.join("/");
}

/** Markdown links of a file to relative paths that the handout does not have. */
export function danglingLinks(
  file: string,
  text: string,
  exists: (path: string) => boolean,
): string[] {
  const problems: string[] = [];
  for (const m of text.matchAll(/\]\(([^)\s#]+)(?:#[^)]*)?\)/g)) {
    const target = m[1];
    if (/^[a-z]+:/i.test(target) || target.startsWith("/")) continue;
    const path = resolveRelative(file, target.replace(/\/$/, ""));
    if (!exists(path)) problems.push(`${file} links to ${target}, which the handout leaves out`);
  }
  return problems;
}

/** Whether a trimmed line of a solution says nothing about the answer. */
function trivialLine(line: string): boolean {
  return line.length < 16 || !/[A-Za-z]{2}/.test(line);
}

function lines(text: string): string[] {
  return text.replace(/\r\n/g, "\n").split("\n").map((l) => l.trim()).filter((l) => l !== "");
}

/** Reads a file as it is in git's HEAD (undefined outside a git checkout, or when absent). */
function committed(root: string, path: string): string | undefined {
  try {
    const out = new Deno.Command("git", {
      args: ["-C", root, "show", `HEAD:${path}`],
      stdout: "piped",
      stderr: "null",
    }).outputSync();
    return out.success ? new TextDecoder().decode(out.stdout) : undefined;
  } catch {
    return undefined; // no git
  }
}

/** Whether a file of the plan is code the handout ships by design (not a stub or a lesson). */
function byDesign(file: string): boolean {
  return file.endsWith(".ts") &&
    (file.startsWith("lib/") || file.startsWith("cli/") || file.startsWith("tests/") ||
      /^labs\/[^/]+\/checker\//.test(file));
}

/**
 * The lines of each lab's reference solution that would give its answer
 * away: the solution's lines (trimmed) that are not in the lab's stub (as
 * committed in git when `root` is a checkout, else as it is on disk), minus
 * trivial lines (under 16 characters, or no word in them) and minus lines of
 * the code the handout ships by design, the same in every copy of the labs:
 * `lib/`, `cli/`, the shipped tests, the labs' visible checkers (a drive may
 * well compute the expected answer the way a solution does), and the other
 * labs' stubs. What is
 * left must appear nowhere in the handout: not in a stub, a lesson, the
 * README, nor in any file that should have been left out.
 *
 * @example
 * ```ts ignore
 * const answers = solutionLines(PROJECT_ROOT);
 * console.log(answers.get("00_hello_mapping")?.size);
 * ```
 */
export function solutionLines(
  root: string,
  catalog: Catalog = loadCatalog(root),
): Map<string, Set<string>> {
  const files = planHandout(root).files;
  const shipped = new Set<string>();
  for (const file of files.filter(byDesign)) {
    for (const l of lines(Deno.readTextFileSync(`${root}/${file}`))) shipped.add(l);
  }
  const out = new Map<string, Set<string>>();
  for (const lab of catalog.labs) {
    let solution: string;
    try {
      solution = Deno.readTextFileSync(solutionFile(root, lab));
    } catch {
      continue; // no solution: nothing to give away
    }
    const stubPath = `labs/${lab.id}/${lab.file}`;
    const stub = committed(root, stubPath) ?? Deno.readTextFileSync(`${root}/${stubPath}`);
    const stubLines = new Set(lines(stub));
    // The other labs' stubs are given to every student too (lab 02's hands out a helper that
    // lab 01 asks for).
    const others = new Set<string>();
    for (const file of files) {
      if (file.endsWith(".ts") && file.startsWith("labs/") && !file.startsWith(`labs/${lab.id}/`)) {
        for (const l of lines(Deno.readTextFileSync(`${root}/${file}`))) others.add(l);
      }
    }
    out.set(
      lab.id,
      new Set(
        lines(solution).filter((l) =>
          !stubLines.has(l) && !trivialLine(l) && !shipped.has(l) && !others.has(l)
        ),
      ),
    );
  }
  return out;
}

/** A solution line found in a shipped file. */
export interface Leak {
  /** The shipped file, relative to the handout. */
  file: string;
  /** The lab whose solution the line is from. */
  lab: string;
  /** The line, trimmed. */
  line: string;
}

/**
 * Every line of `answers` ({@link solutionLines}) found in a file of the
 * handout at `dir` (text files; `.git` aside).
 */
export function findLeaks(dir: string, answers: Map<string, Set<string>>): Leak[] {
  const leaks: Leak[] = [];
  const walk = (rel: string) => {
    for (const e of Deno.readDirSync(rel ? `${dir}/${rel}` : dir)) {
      if (e.name === ".git") continue;
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) walk(child);
      else if (e.isFile) {
        let text: string;
        try {
          text = new TextDecoder("utf-8", { fatal: true }).decode(
            Deno.readFileSync(`${dir}/${child}`),
          );
        } catch {
          continue; // not text
        }
        const present = new Set(lines(text));
        for (const [lab, set] of answers) {
          for (const line of set) if (present.has(line)) leaks.push({ file: child, lab, line });
        }
      }
    }
  };
  walk("");
  return leaks;
}

/** Ids of the checks a lab's `check.ts` declares `hidden: true` inline (they would ship). */
export async function inlineHiddenChecks(root: string, lab: LabInfo): Promise<string[]> {
  const checks: Check[] = (await import(toFileUrl(checkerFile(root, lab, "check.ts")))).default;
  return Array.isArray(checks) ? checks.filter((c) => c.hidden).map((c) => c.id) : [];
}

/** Options for {@link buildHandout}. */
export interface HandoutOptions {
  /** The instructor's tree. */
  root: string;
  /** Where the handout goes: a folder that does not exist yet, or is empty. */
  dest: string;
  /** Run `git init` and commit (default true). */
  git?: boolean;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** What {@link buildHandout} made. */
export interface HandoutReport {
  /** The handout's folder. */
  dest: string;
  /** Files written. */
  files: string[];
  /** What was left out, and why. */
  left: { path: string; why: string }[];
  /** The commit made (abbreviated hash), when `git`. */
  commit?: string;
}

function run(cmd: string, args: string[], cwd: string): { ok: boolean; out: string } {
  const r = new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped", stdin: "null" })
    .outputSync();
  const d = new TextDecoder();
  return { ok: r.success, out: (d.decode(r.stdout) + d.decode(r.stderr)).trim() };
}

function checkDest(root: string, dest: string): void {
  const r = root.replace(/\/+$/, "");
  if (dest === r || dest.startsWith(`${r}/`)) {
    throw new HandoutError([
      `${dest} is inside the instructor's tree: put the handout outside it (e.g. ../mmap-lab-student)`,
    ]);
  }
  if (r.startsWith(`${dest}/`)) {
    throw new HandoutError([`${dest} holds the instructor's tree: choose a new folder`]);
  }
  try {
    const info = Deno.statSync(dest);
    if (!info.isDirectory) throw new HandoutError([`${dest} exists and is not a folder`]);
    if ([...Deno.readDirSync(dest)].length) {
      throw new HandoutError([`${dest} is not empty: the handout goes into a new or empty folder`]);
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}

/**
 * Builds the handout of `options.root` in `options.dest`, checks it, and
 * commits it as a fresh git repository. Throws {@link HandoutError} (and
 * removes what it wrote) when a lab declares hidden checks inline, or the
 * handout would hold a solution line, a dangling import or link.
 *
 * @example
 * ```ts ignore
 * const report = await buildHandout({ root: PROJECT_ROOT, dest: "/tmp/mmap-lab-student" });
 * console.log(report.files.length, report.commit);
 * ```
 */
export async function buildHandout(options: HandoutOptions): Promise<HandoutReport> {
  const { root, dest } = options;
  const log = options.log ?? (() => {});
  checkDest(root, dest);
  const catalog = loadCatalog(root);
  const inline: string[] = [];
  for (const lab of catalog.labs) {
    const ids = await inlineHiddenChecks(root, lab);
    if (ids.length) {
      inline.push(
        `labs/${lab.id}/checker/check.ts declares hidden checks inline (${
          ids.join(", ")
        }): their code would ship to the students; move them to labs/${lab.id}/checker/hidden.ts (defineHiddenChecks), which the handout leaves out`,
      );
    }
  }
  if (inline.length) throw new HandoutError(inline);

  const plan = planHandout(root);
  const made = !isDir(dest);
  Deno.mkdirSync(dest, { recursive: true });
  try {
    for (const file of plan.files) {
      const target = `${dest}/${file}`;
      Deno.mkdirSync(target.slice(0, target.lastIndexOf("/")), { recursive: true });
      if (file === "README.md") {
        Deno.writeTextFileSync(target, studentReadme(Deno.readTextFileSync(`${root}/${file}`)));
      } else if (file === "deno.json") {
        Deno.writeTextFileSync(target, studentDenoJson(Deno.readTextFileSync(`${root}/${file}`)));
      } else {
        Deno.copyFileSync(`${root}/${file}`, target);
      }
    }
    // The rewritten files in the project's own format, so that `deno task check` passes there.
    const rewritten = ["README.md", "deno.json"].filter((f) => plan.files.includes(f));
    const fmt = rewritten.length
      ? run(Deno.execPath(), ["fmt", "-q", ...rewritten], dest)
      : { ok: true, out: "" };
    if (!fmt.ok) throw new HandoutError([`deno fmt of the handout failed: ${fmt.out}`]);
    log(`wrote ${plan.files.length} files`);

    const problems: string[] = [];
    const read = (path: string) => Deno.readTextFileSync(`${dest}/${path}`);
    // Its own `deno task check`: formatting, lint, and a type check that also finds any import
    // of a file left out.
    for (const args of [["fmt", "--check", "-q"], ["lint", "-q"], ["check", "-q"]]) {
      const r = run(Deno.execPath(), args, dest);
      if (!r.ok) {
        problems.push(
          `\`deno ${args[0]}\` fails in the handout: ${r.out.split("\n").slice(0, 12).join("\n")}`,
        );
        break;
      }
    }
    for (const file of plan.files.filter((f) => f.endsWith(".md"))) {
      problems.push(
        ...danglingLinks(file, read(file), (p) => plan.files.includes(p) || isDir(`${dest}/${p}`)),
      );
    }
    const leaks = findLeaks(dest, solutionLines(root, catalog));
    for (const leak of leaks.slice(0, 10)) {
      problems.push(
        `${leak.file} holds a line of the solution of ${leak.lab}: ${JSON.stringify(leak.line)}`,
      );
    }
    if (leaks.length > 10) problems.push(`… and ${leaks.length - 10} more solution lines`);
    if (problems.length) throw new HandoutError(problems);
    log("checked: no solution line, no hidden check, no import or link to a file left out");

    let commit: string | undefined;
    if (options.git ?? true) {
      const source = run("git", ["-C", root, "rev-parse", "--short", "HEAD"], root);
      const message = `mmap-lab, student edition${source.ok ? ` (from ${source.out})` : ""}`;
      const steps: string[][] = [
        ["-c", "init.defaultBranch=main", "init", "-q"],
        ["add", "-A"],
      ];
      for (const args of steps) {
        const r = run("git", args, dest);
        if (!r.ok) throw new HandoutError([`git ${args.join(" ")} failed: ${r.out}`]);
      }
      const identity = run("git", ["config", "user.email"], dest).ok
        ? []
        : ["-c", "user.name=mmap-lab handout", "-c", "user.email=handout@mmap-lab.invalid"];
      const c = run("git", [...identity, "commit", "-q", "-m", message], dest);
      if (!c.ok) throw new HandoutError([`git commit failed: ${c.out}`]);
      commit = run("git", ["rev-parse", "--short", "HEAD"], dest).out;
      log(`committed ${commit}: ${message}`);
    }
    return { dest, files: plan.files, left: plan.left, commit };
  } catch (err) {
    // Leave nothing half-made behind: a folder we made goes, an empty one given is emptied.
    try {
      if (made) Deno.removeSync(dest, { recursive: true });
      else {for (const e of Deno.readDirSync(dest)) {
          Deno.removeSync(`${dest}/${e.name}`, { recursive: true });
        }}
    } catch { /* best effort */ }
    throw err;
  }
}
