/**
 * The grader's test class: the adversarial submissions stored in
 * tests/fixtures/submissions/ (written against lab 00), plus three made at
 * test time so they track the labs as they are now: "perfect" (every lab's
 * reference solution, as a labs/ folder), "untouched" (every stub, as flat
 * files) and "symlinked" (a link to another student's file).
 *
 * @module
 */

import { loadCatalog, solutionFile } from "../../lib/catalog.ts";
import { procStat } from "../../lib/inspect.ts";

/** This project's root. */
export const PROJECT_ROOT: string = decodeURIComponent(new URL("../../", import.meta.url).pathname)
  .replace(/\/$/, "");

/** Where the grader's tests write (inside the test permission set's ./.mmap-lab). */
export const TEST_ROOT = `${PROJECT_ROOT}/.mmap-lab/grader-tests`;

/** The stored adversarial submissions. */
export const FIXTURES = `${PROJECT_ROOT}/tests/fixtures/submissions`;

/**
 * Stored fixtures graded only as root, by tests/grader/privileges_test.ts, with an instructor
 * tree of their own: they write the instructor's files, read the solutions and the grader's
 * environment, and start processes until refused. As root the children run as users of their
 * own and all of it fails; graded by an ordinary user, whose children are that user, it would
 * work (the grader is no container), and change the tree the tests run from.
 */
export const AS_ROOT_ONLY: readonly string[] = [
  "fork-bomb",
  "reads-environment",
  "reads-solutions",
  "writes-instructor-files",
];

/** A fresh folder for one test, under {@link TEST_ROOT}. */
export function freshDir(name: string): string {
  Deno.mkdirSync(TEST_ROOT, { recursive: true });
  return Deno.makeTempDirSync({ dir: TEST_ROOT, prefix: `${name}-` });
}

/** Removes a folder made by {@link freshDir}. */
export function removeDir(dir: string): void {
  if (!dir.startsWith(`${TEST_ROOT}/`)) throw new Error(`refusing to remove ${dir}`);
  try {
    Deno.removeSync(dir, { recursive: true });
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}

/** Copies a folder tree (files, folders and symbolic links as links). */
export function copyTree(from: string, to: string): void {
  Deno.mkdirSync(to, { recursive: true });
  for (const entry of Deno.readDirSync(from)) {
    const src = `${from}/${entry.name}`;
    const dst = `${to}/${entry.name}`;
    if (entry.isDirectory) copyTree(src, dst);
    else if (entry.isSymlink) symlink(Deno.readLinkSync(src), dst);
    else if (entry.isFile) Deno.copyFileSync(src, dst);
  }
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes the "perfect" submission (labs/<id>/<file> from solutions/, for every
 * lab that has one) into `dir`.
 */
export function writePerfect(dir: string): void {
  const catalog = loadCatalog(PROJECT_ROOT);
  for (const lab of catalog.labs) {
    const solution = solutionFile(PROJECT_ROOT, lab);
    if (!exists(solution)) continue;
    Deno.mkdirSync(`${dir}/labs/${lab.id}`, { recursive: true });
    Deno.copyFileSync(solution, `${dir}/labs/${lab.id}/${lab.file}`);
  }
}

/** Writes the "untouched" submission (every stub, side by side) into `dir`. */
export function writeUntouched(dir: string): void {
  const catalog = loadCatalog(PROJECT_ROOT);
  Deno.mkdirSync(dir, { recursive: true });
  for (const lab of catalog.labs) {
    const stub = `${PROJECT_ROOT}/labs/${lab.id}/${lab.file}`;
    if (exists(stub)) Deno.copyFileSync(stub, `${dir}/${lab.file}`);
  }
}

/**
 * Makes the whole test class in `dir` (one sub-folder per student): the
 * stored fixtures, or only those named in `only`, plus the generated ones.
 */
export function buildClass(dir: string, only?: string[]): string[] {
  Deno.mkdirSync(dir, { recursive: true });
  const wanted = (name: string) => only ? only.includes(name) : !AS_ROOT_ONLY.includes(name);
  for (const entry of Deno.readDirSync(FIXTURES)) {
    if (entry.isDirectory && wanted(entry.name)) {
      copyTree(`${FIXTURES}/${entry.name}`, `${dir}/${entry.name}`);
    }
  }
  if (wanted("perfect")) writePerfect(`${dir}/perfect`);
  if (wanted("untouched")) writeUntouched(`${dir}/untouched`);
  if (wanted("symlinked")) {
    Deno.mkdirSync(`${dir}/symlinked`, { recursive: true });
    // Beside the class folder: a file in it would be an entry of the class (a row of its own).
    const target = `${dir.replace(/\/+$/, "")}.symlinked-target.ts`;
    Deno.writeTextFileSync(target, "// another student's work\n");
    symlink(target, `${dir}/symlinked/hello.ts`);
  }
  return [...Deno.readDirSync(dir)].filter((e) => e.isDirectory).map((e) => e.name).sort();
}

/** The stored fixture names (those graded only as root aside: {@link AS_ROOT_ONLY}). */
export function storedFixtures(): string[] {
  return [...Deno.readDirSync(FIXTURES)].filter((e) =>
    e.isDirectory && !AS_ROOT_ONLY.includes(e.name)
  )
    .map((e) => e.name).sort();
}

const LIBC = {
  symlink: { parameters: ["buffer", "buffer"], result: "i32" },
} as const;
let libcSymbols: Deno.DynamicLibrary<typeof LIBC>["symbols"] | undefined;
function libc() {
  return libcSymbols ??= Deno.dlopen("libc.so.6", LIBC).symbols;
}
const cString = (s: string) => new TextEncoder().encode(`${s}\0`);

/**
 * Makes a symbolic link (through libc: Deno's own symlink needs unscoped
 * read and write permission, which the test permission set does not give).
 */
export function symlink(target: string, path: string): void {
  if (libc().symlink(cString(target), cString(path)) !== 0) {
    throw new Error(`symlink ${path} failed`);
  }
}

/**
 * Whether a process is running (a zombie waiting to be reaped is not), from
 * its `/proc/PID/stat` state.
 */
export function alive(pid: number): boolean {
  if (pid <= 0) return false;
  let state: string;
  try {
    state = procStat(pid).state;
  } catch {
    return false; // gone
  }
  return state !== "" && state !== "Z" && state !== "X";
}

/** Every file named `name` under `dir`. */
export function findFiles(dir: string, name: string): string[] {
  const out: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch {
    return out;
  }
  for (const e of entries) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...findFiles(path, name));
    else if (e.name === name || (name.endsWith("*") && e.name.startsWith(name.slice(0, -1)))) {
      out.push(path);
    }
  }
  return out;
}
