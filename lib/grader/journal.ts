/**
 * The grading journal: what lets `--resume` continue a class after the
 * grader was killed (SIGKILL, a crash, a reboot) without grading again the
 * students it had finished.
 *
 * It is a JSON-lines file next to the grades file (`grades/class.json` →
 * `grades/class.json.journal`). The first line is a {@link JournalHeader}:
 * which class, students, labs and instructor tree (a digest of `lib/`,
 * `labs/labs.json` and each graded lab's folder) on which kernel. Then one
 * line per finished student ({@link FinishedStudent}: the grades, and a digest
 * of the student's lab files), appended and fsynced as each student's last lab
 * is graded. A kill can only tear the line being written; the reader drops it.
 *
 * @module
 */

import { createHash } from "node:crypto";
import type { LabInfo } from "../catalog.ts";
import { syncFolder, writeFileAtomic } from "./atomic.ts";
import type { SubmissionFiles } from "./overlay.ts";
import type { StudentGrade } from "./types.ts";

/** What a journal belongs to: `--resume` refuses a journal whose header differs. */
export interface JournalHeader {
  /** Marks the file. */
  format: "mmap-lab-journal";
  /** The format's version. */
  version: 1;
  /** The class folder. */
  submissions: string;
  /** Every entry of the class folder being graded (after `--student`), by name. */
  students: string[];
  /** The labs graded, by id. */
  labs: string[];
  /** Whether the run merges into an existing grades file (`--update`). */
  update: boolean;
  /** Digest of the instructor's tree as graded ({@link instructorDigest}). */
  instructor: string;
  /** The kernel that grades (`kernelLabel`): facts differ between kernels. */
  kernel: string;
  /** When the grading started (ISO 8601); not compared. */
  startedAt: string;
}

/** One finished student: a line of the journal. */
export interface FinishedStudent {
  /** The student. */
  name: string;
  /** Digest of the student's lab files ({@link submissionDigest}): changed files are graded again. */
  files: string;
  /** The grades. */
  student: StudentGrade;
}

/**
 * The journal of a grades file: `FILE.journal`.
 *
 * @example
 * ```ts
 * import { journalPathFor } from "./journal.ts";
 * console.log(journalPathFor("grades/class.json")); // "grades/class.json.journal"
 * ```
 */
export function journalPathFor(output: string): string {
  return `${output}.journal`;
}

function sha256(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

function filesUnder(dir: string, prefix: string, out: string[]): void {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch {
    return;
  }
  for (const e of entries) {
    if (e.name.startsWith(".")) continue; // the overlay does not copy hidden files either
    if (e.isDirectory) filesUnder(`${dir}/${e.name}`, `${prefix}${e.name}/`, out);
    else if (e.isFile) out.push(`${prefix}${e.name}`);
  }
}

/**
 * A digest of what grades depend on in the instructor's tree: every file of
 * `lib/`, `labs/labs.json`, and every file in the graded labs' folders
 * (checkers, drives, stubs).
 *
 * @example
 * ```ts ignore
 * instructorDigest(PROJECT_ROOT, [findLab(catalog, "0")!]); // "sha256:3f1c…"
 * ```
 */
export function instructorDigest(root: string, labs: readonly LabInfo[]): string {
  const files: string[] = ["labs/labs.json"];
  filesUnder(`${root}/lib`, "lib/", files);
  for (const lab of labs) filesUnder(`${root}/labs/${lab.id}`, `labs/${lab.id}/`, files);
  const hash = createHash("sha256");
  for (const file of [...new Set(files)].sort()) {
    let content: Uint8Array;
    try {
      content = Deno.readFileSync(`${root}/${file}`);
    } catch {
      content = new TextEncoder().encode("\u0000missing");
    }
    hash.update(`${file}\u0000${content.length}\u0000`).update(content);
  }
  return `sha256:${hash.digest("hex")}`;
}

/**
 * A digest of a student's lab files as found (path and content of each), and
 * of the files rejected (and why): equal digests, equal grading input.
 *
 * @example
 * ```ts ignore
 * submissionDigest(findSubmissionFiles("submissions/ada", labs)); // "sha256:…"
 * ```
 */
export function submissionDigest(files: SubmissionFiles): string {
  const parts: string[] = [];
  for (const [id, file] of [...files.found].sort(([a], [b]) => a.localeCompare(b))) {
    let content = "unreadable";
    try {
      content = sha256(Deno.readFileSync(file.path));
    } catch { /* graded as unreadable too */ }
    parts.push(`found\u0000${id}\u0000${file.relative}\u0000${content}`);
  }
  for (const [id, why] of [...files.rejected].sort(([a], [b]) => a.localeCompare(b))) {
    parts.push(`rejected\u0000${id}\u0000${why}`);
  }
  return `sha256:${sha256(parts.join("\n"))}`;
}

/** What {@link readJournal} found. */
export interface JournalContents {
  /** The header. */
  header: JournalHeader;
  /** The finished students, by name (a later line wins). */
  finished: Map<string, FinishedStudent>;
  /** A last line cut short by a kill, dropped. */
  torn: boolean;
}

/**
 * Reads a journal: `undefined` when there is none; throws when it is not a
 * journal, or a line other than the last is broken.
 *
 * @example
 * ```ts ignore
 * const journal = readJournal("grades/class.json.journal");
 * console.log(journal?.finished.size); // students finished before the kill
 * ```
 */
export function readJournal(path: string): JournalContents | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
  const lines = text.split("\n");
  const last = lines.pop()!; // "" when the file ends with a newline
  const torn = last !== "";
  let header: JournalHeader;
  try {
    header = JSON.parse(lines[0]);
  } catch {
    throw new Error(`${path} is not a grading journal (its first line is not JSON)`);
  }
  if (header?.format !== "mmap-lab-journal" || header.version !== 1) {
    throw new Error(`${path} is not a grading journal of this grader`);
  }
  const finished = new Map<string, FinishedStudent>();
  lines.slice(1).forEach((line, i) => {
    let entry: FinishedStudent;
    try {
      entry = JSON.parse(line);
    } catch {
      throw new Error(`${path}: line ${i + 2} is broken (not JSON): the journal cannot be used`);
    }
    if (typeof entry?.name !== "string" || typeof entry.student?.name !== "string") {
      throw new Error(`${path}: line ${i + 2} is not a finished student`);
    }
    finished.set(entry.name, entry);
  });
  return { header, finished, torn };
}

function show(list: readonly string[]): string {
  const shown = list.slice(0, 5).map((s) => JSON.stringify(s)).join(", ");
  return list.length > 5 ? `${shown} and ${list.length - 5} more` : shown || "none";
}

/**
 * How a journal's header differs from this run's: one sentence per
 * difference (empty when the journal belongs to this run).
 *
 * @example
 * ```ts ignore
 * journalMismatch(journal.header, header); // ["the labs differ: …"]
 * ```
 */
export function journalMismatch(found: JournalHeader, now: JournalHeader): string[] {
  const out: string[] = [];
  if (found.submissions !== now.submissions) {
    out.push(`it is for the class folder ${found.submissions}, not ${now.submissions}`);
  }
  const gone = found.students.filter((s) => !now.students.includes(s));
  const added = now.students.filter((s) => !found.students.includes(s));
  if (gone.length || added.length) {
    out.push(
      `the students differ (${gone.length ? `no longer here: ${show(gone)}` : ""}${
        gone.length && added.length ? "; " : ""
      }${added.length ? `new: ${show(added)}` : ""})`,
    );
  }
  if (found.labs.join() !== now.labs.join()) {
    out.push(`the labs differ (journal: ${show(found.labs)}; now: ${show(now.labs)})`);
  }
  if (found.update !== now.update) {
    out.push(found.update ? "it was an --update run" : "it was not an --update run");
  }
  if (found.instructor !== now.instructor) {
    out.push("the instructor's tree changed since (lib/, labs.json or a graded lab's folder)");
  }
  if (found.kernel !== now.kernel) {
    out.push(`it was graded on another kernel (${found.kernel})`);
  }
  return out;
}

const encoder = new TextEncoder();

/**
 * An open journal, appended to as students finish.
 *
 * @example
 * ```ts ignore
 * const journal = Journal.start("grades/class.json.journal", header);
 * journal.append({ name: "ada", files: submissionDigest(files), student });
 * journal.remove(); // once grades/class.json is written
 * ```
 */
export class Journal {
  readonly #path: string;
  #file: Deno.FsFile | undefined;
  #failure: string | undefined;

  private constructor(path: string) {
    this.#path = path;
    this.#file = Deno.openSync(path, { append: true });
  }

  /**
   * Starts the journal at `path` with `header` and the students already
   * `finished` (on `--resume`), replacing any journal there in one rename.
   *
   * @example
   * ```ts ignore
   * const journal = Journal.start("grades/class.json.journal", header);
   * journal.append({ name: "ada", files, student });
   * ```
   */
  static start(
    path: string,
    header: JournalHeader,
    finished: Iterable<FinishedStudent> = [],
  ): Journal {
    const lines = [header, ...finished].map((l) => JSON.stringify(l) + "\n").join("");
    writeFileAtomic(path, lines);
    return new Journal(path);
  }

  /** Its path. */
  get path(): string {
    return this.#path;
  }

  /** Why appending stopped (a full disk…), if it did. */
  get failure(): string | undefined {
    return this.#failure;
  }

  /**
   * Appends a finished student and flushes it to disk. After a failed write
   * (the line may be cut short) the journal takes nothing more, and
   * {@link failure} says why; grading goes on.
   */
  append(entry: FinishedStudent): void {
    if (!this.#file) return;
    try {
      const bytes = encoder.encode(JSON.stringify(entry) + "\n");
      let done = 0;
      while (done < bytes.length) done += this.#file.writeSync(bytes.subarray(done));
      this.#file.syncSync();
    } catch (err) {
      this.#failure = err instanceof Error ? err.message : String(err);
      this.close();
    }
  }

  /** Closes the file (the journal stays, for `--resume`). */
  close(): void {
    try {
      this.#file?.close();
    } catch { /* already closed */ }
    this.#file = undefined;
  }

  /** Closes and deletes it: the grades file holds everything now. */
  remove(): void {
    this.close();
    try {
      Deno.removeSync(this.#path);
      syncFolder(this.#path.slice(0, this.#path.lastIndexOf("/")) || "/");
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
}
