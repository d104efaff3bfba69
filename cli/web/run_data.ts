/**
 * The record of a student's last run of a lab, for `deno task lab web`: the
 * pictures the lab's `checker/show.ts` drive took of the mapping (its
 * checkpoints), the libc calls made between them, the faults and smaps
 * numbers of each, the checks' verdict, and the kernel profile's lines about
 * this lab. The runner writes it on every run (`.mmap-lab/web/<lab>.json`,
 * replaced in one rename); the web page's server watches it.
 *
 * @module
 */

import { type Catalog, checkerFile, labFile, type LabInfo } from "../../lib/catalog.ts";
import type { LabResult } from "../../lib/checker/run.ts";
import { describeOutcome, spawnChild } from "../../lib/checker/spawn.ts";
import { formatOutput } from "../../lib/checker/output.ts";
import type { Frame } from "../../lib/checker/drive.ts";
import type { FaultCounts, MappingKind, PageState } from "../../lib/inspect.ts";
import { type CallRecord, formatCall } from "../../lib/trace.ts";
import { type KernelProfile, kernelProfile } from "../../lib/profile.ts";
import { doctorFacts, doctorVerdicts } from "../doctor.ts";
import type { TypeReport } from "../typecheck.ts";
import { labTally } from "../ui.ts";

/**
 * A page as the web page draws it: the kernel's state from pagemap, or one
 * the record names from more evidence: `dirty` and `clean` (a shared file
 * mapping's page, when smaps says so without doubt), `guard` (the mapping is
 * `PROT_NONE`: any access faults).
 */
export type WebPageState = PageState | "dirty" | "clean" | "guard";

/** One picture of the mapping: a checkpoint of the run. */
export interface RunFrame {
  /** What the student is looking at. */
  title: string;
  /** The kind of mapping (private file, shared anonymous, …), when the drive said. */
  kind?: MappingKind;
  /** One state per page. */
  pages: WebPageState[];
  /** A few smaps numbers, bytes. */
  smaps: Frame["smaps"];
  /**
   * Index into {@link RunPicture.calls}: the calls before it were made before
   * this picture (those since the previous frame's index made the change).
   * Absent when the drive did not say (`snapshot` without its context).
   */
  callsBefore?: number;
  /** Faults of the student's thread since the previous picture (absent for the first). */
  faults?: FaultCounts;
  /** What the states above could not say, in words (e.g. dirty pages smaps counts but cannot place). */
  note?: string;
}

/** One libc call, as `deno task lab trace` prints it. */
export interface RunCall {
  /** strace-style text, e.g. `mmap(NULL, 65536, PROT_READ|PROT_WRITE, MAP_PRIVATE, 3, 0) = 0x7f…`. */
  text: string;
  /** The errno name when it failed. */
  error?: string;
}

/** What the show drive recorded. */
export interface RunPicture {
  /** The pictures, in order. */
  frames: RunFrame[];
  /** The calls of the run (the first {@link MAX_CALLS}). */
  calls: RunCall[];
  /** Calls made past {@link MAX_CALLS}, not kept. */
  moreCalls: number;
  /** What the student's code printed (a few lines). */
  printed: string[];
  /** Why there is no picture: the student's code failed (message as the runner shows it). */
  failure?: string;
  /** Bytes per page. */
  pageSize: number;
}

/** One check's verdict. */
export interface RunCheck {
  /** The check's id. */
  id: string;
  /** Its title. */
  title: string;
  /** passed, failed or skipped. */
  status: "passed" | "failed" | "skipped";
  /** Points earned. */
  score: number;
  /** Points possible. */
  maxScore: number;
  /** Why it failed. */
  message: string;
  /** The calls the student's code made in this check (the first {@link MAX_CALLS}). */
  calls: RunCall[];
  /** Another check whose run this one looked at (its calls are listed there). */
  sharedWith?: string;
}

/** The checks' verdict of the run. */
export interface RunVerdict {
  /** Points earned. */
  score: number;
  /** Points possible. */
  maxScore: number;
  /** Every check passed (and the file type-checks). */
  passed: boolean;
  /** e.g. "5/7 checks passed". */
  tally: string;
  /** A problem running the lab (missing file, checker error). */
  error?: string;
  /** The first type error, when the file does not type-check (the checks are held back). */
  typeError?: string;
  /** Every check. */
  checks: RunCheck[];
}

/** One fact of the kernel profile (`deno task lab doctor`) that matters to this lab. */
export interface KernelLine {
  /** What was measured. */
  what: string;
  /** What this machine does. */
  here: string;
  /** The textbook's answer, where this machine differs. */
  textbook?: string;
  /** What it means for the labs. */
  means: string;
}

/** The whole record: `.mmap-lab/web/<lab>.json`. */
export interface RunRecord {
  /** Marks the file. */
  format: "mmap-lab-run";
  /** Its version. */
  version: 1;
  /** The lab. */
  lab: { id: string; number: string; title: string; goal: string; file: string };
  /** When the run finished (ISO 8601). */
  recordedAt: string;
  /** Digest of the student's file when the run started (`fileDigest`). */
  fileDigest?: string;
  /** The checks' verdict (absent when only the picture was taken). */
  verdict?: RunVerdict;
  /** The pictures (absent: the lab has none). */
  picture?: RunPicture;
  /** The kernel facts that matter to this lab. */
  kernel: KernelLine[];
}

/** Calls kept per picture or check. */
export const MAX_CALLS = 400;

/**
 * Where the record of a lab's last run is kept.
 *
 * @example
 * ```ts
 * console.log(runRecordPath("/home/me/mmap-lab", "03_private_cow"));
 * // "/home/me/mmap-lab/.mmap-lab/web/03_private_cow.json"
 * ```
 */
export function runRecordPath(root: string, labId: string): string {
  return `${runRecordDir(root)}/${labId}.json`;
}

/**
 * The folder of the run records (watched by the web page's server).
 *
 * @example
 * ```ts
 * console.log(runRecordDir("/p")); // "/p/.mmap-lab/web"
 * ```
 */
export function runRecordDir(root: string): string {
  return `${root}/.mmap-lab/web`;
}

/**
 * Writes a record: a temporary file of this process's own, then one rename,
 * so a reader (the server) never sees half a file.
 *
 * @example
 * ```ts ignore
 * saveRunRecord(catalog.root, record);
 * ```
 */
export function saveRunRecord(root: string, record: RunRecord): void {
  const dir = runRecordDir(root);
  Deno.mkdirSync(dir, { recursive: true });
  const path = runRecordPath(root, record.lab.id);
  const tmp = `${dir}/.${record.lab.id}.json.${Deno.pid}.tmp`;
  Deno.writeTextFileSync(tmp, JSON.stringify(record) + "\n");
  Deno.renameSync(tmp, path);
}

/**
 * The record of a lab's last run, or `undefined` when there is none (or it
 * cannot be read, or is of another format).
 *
 * @example
 * ```ts ignore
 * const last = loadRunRecord(catalog.root, "03_private_cow");
 * ```
 */
export function loadRunRecord(root: string, labId: string): RunRecord | undefined {
  try {
    const data = JSON.parse(Deno.readTextFileSync(runRecordPath(root, labId)));
    return data?.format === "mmap-lab-run" && data.version === 1 ? data as RunRecord : undefined;
  } catch {
    return undefined;
  }
}

/** The first {@link MAX_CALLS} calls as text; `scratch` (the run's folder) is shown as `<scratch>`. */
const callsOf = (calls: readonly CallRecord[], scratch?: string): RunCall[] =>
  calls.slice(0, MAX_CALLS).map((c) => ({
    text: scratch ? formatCall(c).replaceAll(scratch, "<scratch>") : formatCall(c),
    ...(c.error ? { error: c.error } : {}),
  }));

const minus = (a: FaultCounts, b: FaultCounts): FaultCounts => ({
  minor: Math.max(0, a.minor - b.minor),
  major: Math.max(0, a.major - b.major),
});

/**
 * The show drive's frames as the web page draws them: a `PROT_NONE` mapping's
 * pages are `guard`; a shared file mapping's present pages are `dirty` when
 * smaps counts every one of them dirty, and `clean` when it counts none
 * though the previous picture of the same mapping had them dirty (written
 * back: `msync`). In between, smaps does not say which pages are dirty: the
 * pages stay `file`, and a note gives the count.
 *
 * @example
 * ```ts
 * const smaps = { rss: 4096, privateDirty: 4096, privateClean: 0, sharedDirty: 0, anonymous: 0 };
 * const [f] = webFrames([{ title: "t", pages: ["file"], smaps, kind: "file-shared" }], 4096);
 * console.log(f.pages); // ["dirty"]
 * ```
 */
export function webFrames(frames: readonly Frame[], pageSize: number): RunFrame[] {
  const out: RunFrame[] = [];
  let previous: { frame: Frame; pages: WebPageState[] } | undefined;
  for (const frame of frames) {
    let pages: WebPageState[] = [...frame.pages];
    let note: string | undefined;
    if (frame.protection === "none") {
      pages = pages.map(() => "guard");
    } else if (frame.kind === "file-shared") {
      const present = pages.filter((p) => p === "file").length;
      const dirty = Math.round((frame.smaps.sharedDirty + frame.smaps.privateDirty) / pageSize);
      const sameMapping = previous && previous.frame.kind === frame.kind &&
        previous.pages.length === pages.length;
      if (present > 0 && dirty >= present) {
        pages = pages.map((p) => p === "file" ? "dirty" : p);
      } else if (present > 0 && dirty === 0) {
        if (sameMapping) {
          pages = pages.map((p, i) =>
            p === "file" && (previous!.pages[i] === "dirty" || previous!.pages[i] === "clean")
              ? "clean"
              : p
          );
        }
      } else if (dirty > 0) {
        note = `${dirty} of the ${present} pages present are dirty (smaps Private_Dirty + ` +
          "Shared_Dirty); the kernel does not tell a user which ones";
      }
    }
    out.push({
      title: frame.title,
      ...(frame.kind ? { kind: frame.kind } : {}),
      pages,
      smaps: frame.smaps,
      ...(frame.calls === undefined ? {} : { callsBefore: frame.calls }),
      ...(previous?.frame.faultsAfter && frame.faults
        ? { faults: minus(frame.faults, previous.frame.faultsAfter) }
        : {}),
      ...(note ? { note } : {}),
    });
    previous = { frame, pages };
  }
  return out;
}

/**
 * Runs the lab's `checker/show.ts` drive on the student's file, as
 * `deno task lab show` does, and keeps what it recorded; `undefined` when the
 * lab has no picture. Never throws for the student's code: a failure is
 * kept in `failure`.
 *
 * @example
 * ```ts ignore
 * const picture = await capturePicture(catalog, lab);
 * ```
 */
export async function capturePicture(
  catalog: Catalog,
  lab: LabInfo,
  profile: KernelProfile = kernelProfile(catalog.root),
): Promise<RunPicture | undefined> {
  const drive = checkerFile(catalog.root, lab, "show.ts");
  try {
    Deno.statSync(drive);
  } catch {
    return undefined;
  }
  const picture: RunPicture = {
    frames: [],
    calls: [],
    moreCalls: 0,
    printed: [],
    pageSize: profile.pageSize,
  };
  let scratch: string | undefined;
  try {
    Deno.mkdirSync(profile.scratch.dir, { recursive: true });
    scratch = Deno.makeTempDirSync({ dir: profile.scratch.dir, prefix: `web-${lab.id}-` });
    const result = await spawnChild({
      drive,
      student: labFile(catalog.root, lab),
      scratch,
      readable: [catalog.root],
      timeoutMs: 10_000,
    }).result();
    picture.printed = formatOutput(
      { stdout: result.stdout, stderr: result.stderr, truncated: result.outputTruncated },
      { maxLines: 8 },
    );
    picture.calls = callsOf(result.calls, scratch);
    picture.moreCalls = Math.max(0, result.calls.length - MAX_CALLS);
    if (result.outcome !== "ok") {
      const first = result.error?.stack?.split("\n").slice(0, 4).join("\n");
      picture.failure = `your code ${describeOutcome(result)}${first ? `\n${first}` : ""}`;
      return picture;
    }
    const { frames } = (result.value ?? {}) as { frames?: Frame[] };
    picture.frames = webFrames(frames ?? [], profile.pageSize);
    return picture;
  } catch (err) {
    picture.failure = `the picture could not be taken: ${err instanceof Error ? err.message : err}`;
    return picture;
  } finally {
    try {
      if (scratch) Deno.removeSync(scratch, { recursive: true });
    } catch { /* already gone */ }
  }
}

/**
 * The lab numbers a sentence names ("lab 04", "labs 01 and 09", "labs 05 and 10").
 *
 * @example
 * ```ts
 * console.log(labsNamed("labs 01 and 09: how many pages appear")); // ["01", "09"]
 * ```
 */
export function labsNamed(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/\blabs? (\d\d(?:(?:, | and |, and )\d\d)*)/g)) {
    out.push(...(m[1].match(/\d\d/g) ?? []));
  }
  return out;
}

/**
 * The kernel profile's facts that matter to a lab: the kernel and the page
 * size always, and every fact (or verdict) whose meaning names the lab.
 *
 * @example
 * ```ts ignore
 * kernelLines(kernelProfile("."), "03").map((l) => l.what);
 * ```
 */
export function kernelLines(profile: KernelProfile, number: string): KernelLine[] {
  const lines: KernelLine[] = doctorFacts(profile)
    .filter((f) =>
      f.what === "kernel" || f.what === "page size" || labsNamed(f.means).includes(number)
    )
    .map((f) => ({
      what: f.what,
      here: f.here,
      ...(f.textbook ? { textbook: f.textbook } : {}),
      means: f.means,
    }));
  for (const v of doctorVerdicts(profile)) {
    if (v.labs.split(/\D+/).includes(number)) {
      lines.push({
        what: v.blocking ? "this lab cannot pass here" : "a check left out here",
        here: v.why,
        means: v.blocking ? "see `deno task lab doctor`" : "the other checks run as usual",
      });
    }
  }
  return lines;
}

/** What a run produced, for {@link buildRunRecord}. */
export interface RunOutcome {
  /** The checks' result (absent: only the picture was taken). */
  result?: LabResult;
  /** The type check of the file. */
  types?: TypeReport;
  /** Digest of the file when the run started. */
  digest?: string;
  /** The show drive's picture. */
  picture?: RunPicture;
}

function verdictOf(result: LabResult, types: TypeReport | undefined): RunVerdict {
  const typeError = types && !types.ok ? types.errors[0] : undefined;
  return {
    score: result.score,
    maxScore: result.maxScore,
    passed: result.passed,
    tally: typeError ? "type error: checks held back" : labTally(result),
    ...(result.error ? { error: result.error } : {}),
    ...(typeError
      ? {
        typeError: [
          typeError.file?.split("/").pop(),
          typeError.line,
          typeError.column,
          ` ${typeError.message.split("\n")[0]}`,
        ].filter((part) => part !== undefined).join(":"),
      }
      : {}),
    checks: result.checks.map((c) => ({
      id: c.id,
      title: c.title,
      status: c.status,
      score: c.score,
      maxScore: c.maxScore,
      message: c.message,
      calls: callsOf(c.calls),
      ...(c.sharedWith ? { sharedWith: c.sharedWith } : {}),
    })),
  };
}

/**
 * The record of one run of a lab.
 *
 * @example
 * ```ts ignore
 * saveRunRecord(root, buildRunRecord(catalog, lab, { result, types, digest, picture }));
 * ```
 */
export function buildRunRecord(
  catalog: Catalog,
  lab: LabInfo,
  run: RunOutcome,
  profile: KernelProfile = kernelProfile(catalog.root),
): RunRecord {
  const number = lab.id.split("_")[0];
  return {
    format: "mmap-lab-run",
    version: 1,
    lab: {
      id: lab.id,
      number,
      title: lab.title,
      goal: lab.goal,
      file: `labs/${lab.id}/${lab.file}`,
    },
    recordedAt: new Date().toISOString(),
    ...(run.digest ? { fileDigest: run.digest } : {}),
    ...(run.result ? { verdict: verdictOf(run.result, run.types) } : {}),
    ...(run.picture ? { picture: run.picture } : {}),
    kernel: kernelLines(profile, number),
  };
}

/**
 * Builds and saves the record of a run; never throws (the runner must not
 * fail because the web page's record could not be written): returns the
 * problem instead, or `undefined`.
 *
 * @example
 * ```ts ignore
 * const problem = recordRun(catalog, lab, { result, types, digest, picture });
 * ```
 */
export function recordRun(catalog: Catalog, lab: LabInfo, run: RunOutcome): string | undefined {
  try {
    saveRunRecord(catalog.root, buildRunRecord(catalog, lab, run));
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
