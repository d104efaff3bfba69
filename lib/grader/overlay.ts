/**
 * The overlay: for each submission, a clean copy of the instructor's tree
 * (`lib/` and `labs/`: each lab's `checker/` folder, stubs, metadata; never
 * `solutions/` or `tests/`) with only the student's lab files laid over it.
 * Whatever else the submission holds (its own checkers, lib/, labs.json) is
 * never read.
 *
 * A submission may be a copy of the repository, just its `labs/` folder, a
 * folder of `<lab id>/<file>` folders, or the lab files side by side; any of
 * these may sit one or two folders deep (a zip's wrapper folder).
 *
 * @module
 */

import type { LabInfo } from "../catalog.ts";

/** The largest student file accepted (bytes). */
export const MAX_STUDENT_FILE = 1024 * 1024;

/** Where a submission's file for one lab was found. */
export interface FoundFile {
  /** Absolute path in the submission. */
  path: string;
  /** Path relative to the submission folder, for reports. */
  relative: string;
}

/** The lab files found in a submission. */
export interface SubmissionFiles {
  /** Lab id → file, for the labs whose file was found. */
  found: Map<string, FoundFile>;
  /** Lab id → why a file that was there is not used (a symlink, too large). */
  rejected: Map<string, string>;
}

function lstat(path: string): Deno.FileInfo | undefined {
  try {
    return Deno.lstatSync(path);
  } catch {
    return undefined;
  }
}

function candidates(lab: LabInfo): string[] {
  return [`labs/${lab.id}/${lab.file}`, `${lab.id}/${lab.file}`, lab.file];
}

function findIn(base: string, lab: LabInfo): { relative: string; info: Deno.FileInfo } | undefined {
  for (const relative of candidates(lab)) {
    const info = lstat(`${base}/${relative}`);
    if (info) return { relative, info };
  }
  return undefined;
}

function inside(realDir: string, path: string): boolean {
  try {
    return Deno.realPathSync(path).startsWith(realDir + "/");
  } catch {
    return false;
  }
}

/** Folders inside `dir` that may wrap a submission (hidden ones and `__MACOSX` aside). */
function onlySubfolder(dir: string): string | undefined {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)].filter((e) =>
      !e.name.startsWith(".") && e.name !== "__MACOSX"
    );
  } catch {
    return undefined;
  }
  const dirs = entries.filter((e) => e.isDirectory);
  return dirs.length === 1 && entries.length === 1 ? `${dir}/${dirs[0].name}` : undefined;
}

/**
 * Finds each lab's file in a submission folder. Looks for
 * `labs/<id>/<file>`, `<id>/<file>` and `<file>`, in that order, in the
 * folder and, when it holds a single folder and nothing else, in that one
 * (twice at most). Symbolic links and files over {@link MAX_STUDENT_FILE}
 * are rejected (a link could point at another student's work).
 *
 * @example
 * ```ts ignore
 * const { found } = findSubmissionFiles("submissions/alice", catalog.labs);
 * console.log(found.get("00_hello_mapping")?.relative); // "labs/00_hello_mapping/hello.ts"
 * ```
 */
export function findSubmissionFiles(dir: string, labs: readonly LabInfo[]): SubmissionFiles {
  let base = dir;
  let prefix = "";
  for (let depth = 0; depth < 2; depth++) {
    if (labs.some((lab) => findIn(base, lab))) break;
    const inner = onlySubfolder(base);
    if (!inner) break;
    prefix += inner.slice(base.length + 1) + "/";
    base = inner;
  }
  const found = new Map<string, FoundFile>();
  const rejected = new Map<string, string>();
  let realDir: string;
  try {
    realDir = Deno.realPathSync(dir);
  } catch {
    return { found, rejected };
  }
  for (const lab of labs) {
    const hit = findIn(base, lab);
    if (!hit) continue;
    const relative = prefix + hit.relative;
    if (hit.info.isSymlink) {
      rejected.set(lab.id, `${relative} is a symbolic link: only regular files are graded`);
    } else if (!hit.info.isFile) {
      rejected.set(lab.id, `${relative} is not a regular file`);
    } else if (!inside(realDir, `${base}/${hit.relative}`)) {
      rejected.set(lab.id, `${relative} lies outside the submission (through a linked folder)`);
    } else if (hit.info.size > MAX_STUDENT_FILE) {
      rejected.set(lab.id, `${relative} is larger than ${MAX_STUDENT_FILE / 1024} KiB`);
    } else {
      found.set(lab.id, { path: `${base}/${hit.relative}`, relative });
    }
  }
  return { found, rejected };
}

/** Copies a folder tree: regular files and folders only (links and the rest are skipped). */
function copyTree(from: string, to: string, skip: (name: string) => boolean = () => false): void {
  Deno.mkdirSync(to, { recursive: true });
  for (const entry of Deno.readDirSync(from)) {
    if (skip(entry.name)) continue;
    if (entry.isDirectory) copyTree(`${from}/${entry.name}`, `${to}/${entry.name}`);
    else if (entry.isFile) Deno.copyFileSync(`${from}/${entry.name}`, `${to}/${entry.name}`);
  }
}

/** A submission's private copy of the instructor's tree. */
export interface Overlay {
  /** Its root: pass it to `loadCatalog` and `runLab`. */
  readonly root: string;
  /** Deletes it. */
  remove(): void;
}

/** A name safe to use in a folder name. */
export function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]+/g, "_").replace(/^\.+/, "_").slice(0, 48) || "_";
}

/**
 * Makes a fresh overlay under `parent`: the instructor's `lib/` and `labs/`
 * (hidden files, `solutions/` and `tests/` are never copied), with each found
 * student file copied over the lab's stub.
 *
 * @example
 * ```ts ignore
 * const overlay = createOverlay(PROJECT_ROOT, ".mmap-lab/grading/run-1", "alice", found);
 * // … runLab(loadCatalog(overlay.root), …)
 * overlay.remove();
 * ```
 */
export function createOverlay(
  instructorRoot: string,
  parent: string,
  name: string,
  files: Map<string, FoundFile>,
  labs: readonly LabInfo[],
): Overlay {
  Deno.mkdirSync(parent, { recursive: true });
  const root = Deno.makeTempDirSync({ dir: parent, prefix: `${safeName(name)}-` });
  const hidden = (n: string) => n.startsWith(".");
  copyTree(`${instructorRoot}/lib`, `${root}/lib`, hidden);
  copyTree(`${instructorRoot}/labs`, `${root}/labs`, hidden);
  for (const lab of labs) {
    const file = files.get(lab.id);
    if (!file) continue;
    const target = `${root}/labs/${lab.id}/${lab.file}`;
    Deno.mkdirSync(target.slice(0, target.lastIndexOf("/")), { recursive: true });
    Deno.writeFileSync(target, Deno.readFileSync(file.path));
  }
  return {
    root,
    remove() {
      try {
        Deno.removeSync(root, { recursive: true });
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      }
    },
  };
}
