/**
 * Grading as root (Gradescope's and Autolab's containers run the grader as
 * root): the students' code runs as users of its own, never as root.
 *
 * - Each student gets a group of its own, and each lab run of that student a
 *   user of its own in that group (ids from a range, default 60000 on, that
 *   no account, group or live process has). The harness switches to that
 *   user before the student's module loads (`becomeUser` in
 *   `lib/checker/identity.ts`), so the process limit (RLIMIT_NPROC) counts
 *   that lab run's processes alone, and no other child's process can be
 *   signalled, traced or read.
 * - The student's overlay is `root:<group> 0750`: its children read it
 *   (the library, the checker's drive, their own file) but cannot change it,
 *   and other students' children cannot enter it. Each run folder is `0711`.
 *   The lab run's scratch folder is the lab user's, mode 0700.
 * - Everything else the instructor has where children could look is closed
 *   to "others" while grading: in the instructor's tree and each student's
 *   submission folder, every entry that is not on the way to the grading
 *   folder loses its permission bits for others (`o-rwx`: `solutions/`,
 *   `tests/`, `grades/`, `.git/`, `lib/`, `labs/`, …), and the folders on the
 *   way keep only `o+x`. The modes are put back when grading ends; those a
 *   grader killed with SIGKILL left closed, by the next grading's clean-up
 *   of its run folder (they are listed there, in `closed-modes.json`).
 * - Before any submission runs, a probe child runs as such a user and tries
 *   to read and write what it must not; if it can, or cannot switch users,
 *   the grader refuses to grade.
 *
 * @module
 */

import * as sys from "../sys.ts";
import { STATX } from "../ffi/constants.ts";
import { type ChildUser, handOver } from "../checker/identity.ts";
import { idsInUse, processesOfUser } from "../checker/proctable.ts";
import { spawnChild } from "../checker/spawn.ts";
import { writeFileAtomic } from "./atomic.ts";

/** The first id of the range the children's users and groups are taken from, by default. */
export const DEFAULT_CHILD_ID_BASE = 60000;
/** How many ids the range holds. */
export const CHILD_ID_RANGE = 5000;

/** Grading as root cannot isolate the students' code: the grader refuses to grade. */
export class IsolationUnavailableError extends Error {
  /**
   * The refusal, with what failed.
   *
   * @example
   * ```ts
   * console.log(new IsolationUnavailableError("setresuid: EINVAL").message);
   * ```
   */
  constructor(problem: string) {
    super(
      `refusing to run students' code as root: ${problem}. The children run as users of their ` +
        "own when the grader runs as root (see docs/grading.md, Isolation); --child-uid picks " +
        "another id range, and --unsafe-as-root runs them as root (only inside a throw-away " +
        "container that holds nothing else)",
    );
    this.name = "IsolationUnavailableError";
  }
}

/** Options for {@link startIsolation}. */
export interface IsolationOptions {
  /** The instructor's tree. */
  root: string;
  /** Where the overlays go: children must reach it. */
  gradingRoot: string;
  /** This grading's run folder (under `gradingRoot`). */
  runDir: string;
  /** Scratch folders' parent when it is outside the overlays (a project on tmpfs). */
  scratchRoot?: string;
  /** Folders children must not read: the submissions. */
  protect: string[];
  /** The first id of the range (default {@link DEFAULT_CHILD_ID_BASE}). */
  base?: number;
}

interface ModeChange {
  path: string;
  from: number;
  to: number;
}

/** Whether `path` is `dir` or inside it. */
function within(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir === "/" ? "/" : `${dir}/`);
}

function realPath(path: string): string | undefined {
  try {
    return Deno.realPathSync(path);
  } catch {
    return undefined;
  }
}

/** Sets a folder's or file's permission bits, through a descriptor (never following a link). */
function setMode(path: string, mode: number): void {
  const fd = sys.openNoFollow(STATX.AT_FDCWD, path);
  try {
    sys.fchmod(fd, mode);
  } finally {
    sys.close(fd);
  }
}

/**
 * Closes `protect` to others but for the way to each of `keep` (see the
 * module's description). Returns what it changed.
 */
function closeToOthers(protect: string[], keep: string[]): ModeChange[] {
  const changes: ModeChange[] = [];
  const change = (path: string, others: number) => {
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(path);
    } catch {
      return;
    }
    if (info.isSymlink || (!info.isDirectory && !info.isFile) || info.mode === null) return;
    const from = info.mode & 0o7777;
    const to = (from & ~0o007) | others;
    if (to === from) return;
    setMode(path, to);
    changes.push({ path, from, to });
  };
  const expose = (dir: string, keeps: string[]) => {
    change(dir, 0o001); // others may pass through, not list
    if (keeps.includes(dir)) return; // a folder children use: its content is the grader's
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(dir)];
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = `${dir === "/" ? "" : dir}/${entry.name}`;
      const on = keeps.filter((k) => within(k, path));
      if (on.length && entry.isDirectory) expose(path, on);
      else change(path, 0);
    }
  };
  for (const p of protect) {
    const on = keep.filter((k) => within(k, p));
    if (on.length) expose(p, on);
    else change(p, 0);
  }
  return changes;
}

/** The file in a run folder that lists the modes its grading closed (see {@link reopenLeftover}). */
export const CLOSED_MODES_FILE = "closed-modes.json";

/** Puts back the modes {@link closeToOthers} changed (those still as it left them), last first. */
function reopen(changes: ModeChange[]): void {
  for (const c of [...changes].reverse()) {
    try {
      const mode = (Deno.lstatSync(c.path).mode ?? -1) & 0o7777;
      if (mode === c.to) setMode(c.path, c.from);
    } catch { /* gone */ }
  }
}

/**
 * Puts back the modes a grading killed before its end (SIGKILL) left closed: the list in its run
 * folder's `closed-modes.json`. For the clean-up of leftover run folders, before they go: the
 * next grading closes them again, and its end puts back the instructor's own modes.
 *
 * @example
 * ```ts ignore
 * reopenLeftover(".mmap-lab/grading/run-ab12"); // a run folder whose grader was killed
 * ```
 */
export function reopenLeftover(runDir: string): void {
  let changes: ModeChange[];
  try {
    changes = JSON.parse(Deno.readTextFileSync(`${runDir}/${CLOSED_MODES_FILE}`));
  } catch {
    return; // none: it closed nothing, or did not get that far
  }
  if (!Array.isArray(changes)) return;
  reopen(
    changes.filter((c) =>
      typeof c?.path === "string" && Number.isInteger(c.from) && Number.isInteger(c.to)
    ),
  );
}

/** The probe's drive: self-contained (its own libc), run as a child's user. */
const PROBE_DRIVE =
  `// Written by the grader (lib/grader/isolation.ts): what a child's user can reach.
const libc = Deno.dlopen("libc.so.6", {
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  unlink: { parameters: ["buffer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
}).symbols;
const cString = (s: string) => new TextEncoder().encode(s + "\\0");
function attempt(path: string, flags: number): string {
  const fd = libc.open(cString(path), flags, 0o644);
  if (fd < 0) return "errno " + new Deno.UnsafePointerView(libc.__errno_location()!).getInt32();
  libc.close(fd);
  if (flags & 0o100) libc.unlink(cString(path)); // created: take it away again
  return "ok";
}
export default (ctx: { params: { read: string[]; write: string[]; create: string[] }; scratch: string }) => {
  const result: Record<string, Record<string, string>> = { read: {}, write: {}, create: {} };
  for (const p of ctx.params.read) result.read[p] = attempt(p, 0);
  for (const p of ctx.params.write) result.write[p] = attempt(p, 1);
  for (const p of ctx.params.create) result.create[p] = attempt(p, 0o301);
  result.scratch = { [ctx.scratch]: attempt(ctx.scratch + "/probe.txt", 0o101) };
  return result;
};
`;

/** What the probe found: each path tried, and what happened (`ok` or `errno N`). */
export interface ProbeReport {
  /** Opened for reading (must fail). */
  read: Record<string, string>;
  /** Opened for writing (must fail). */
  write: Record<string, string>;
  /** Created (must fail). */
  create: Record<string, string>;
  /** The scratch folder (a file created there: must work). */
  scratch: Record<string, string>;
}

/** An isolation in force: ids for students and lab runs; {@link Isolation.end} puts the modes back. */
export interface Isolation {
  /** A group for a student's overlay: the overlay becomes `root:<gid> 0750`. */
  gateOverlay(dir: string): number;
  /** Gives a student's group back (its overlay is gone). */
  releaseGroup(gid: number): void;
  /** A user of its own for one lab run of the student whose group is `gid`. */
  labUser(gid: number): ChildUser;
  /** Kills whatever still runs as the lab run's user, and gives the id back. */
  releaseUser(user: ChildUser): void;
  /** What the probe found when the isolation started. */
  readonly probe: ProbeReport;
  /** Puts back the modes changed in the instructor's tree and the submissions. */
  end(): void;
}

/** Makes readable what a child reads in an overlay: folders `0755`, files `0644` at least. */
function openUp(dir: string): void {
  for (const entry of Deno.readDirSync(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isSymlink) continue;
    const mode = (Deno.lstatSync(path).mode ?? 0) & 0o7777;
    const want = mode | (entry.isDirectory ? 0o755 : 0o644);
    if (want !== mode) setMode(path, want);
    if (entry.isDirectory) openUp(path);
  }
}

/**
 * Starts isolating the children of a grading, when this process runs as
 * root; returns `undefined` otherwise (the children run as the grader's own
 * user, as on a student's machine). Throws {@link IsolationUnavailableError}
 * when it cannot (an id range with no free id, a user the kernel will not
 * switch to, a probe that could reach what it must not).
 *
 * @example
 * ```ts ignore
 * const isolation = await startIsolation({ root, gradingRoot, runDir, protect: [submissions] });
 * try { … } finally { isolation?.end(); }
 * ```
 */
export async function startIsolation(options: IsolationOptions): Promise<Isolation | undefined> {
  if (sys.getuid() !== 0) return undefined;
  const base = options.base ?? DEFAULT_CHILD_ID_BASE;
  if (!Number.isInteger(base) || base < 1 || base + CHILD_ID_RANGE > 2 ** 32 - 2) {
    throw new IsolationUnavailableError(`the id range must start at a whole number from 1 on`);
  }
  const taken = new Set<number>();
  const allocate = (): number => {
    const busy = idsInUse();
    for (let id = base; id < base + CHILD_ID_RANGE; id++) {
      if (taken.has(id) || busy.has(id)) continue;
      if (sys.accountExists(id) || sys.groupExists(id)) continue;
      taken.add(id);
      return id;
    }
    throw new IsolationUnavailableError(
      `no free id in ${base}-${base + CHILD_ID_RANGE - 1} (each is an account, a group, or in use)`,
    );
  };
  const killAll = (uid: number) => {
    for (let round = 0; round < 20; round++) {
      const pids = processesOfUser(uid);
      if (!pids?.length) return;
      for (const pid of pids) {
        try {
          Deno.kill(pid, "SIGKILL");
        } catch { /* gone */ }
      }
    }
  };

  const root = realPath(options.root) ?? options.root;
  const gradingRoot = realPath(options.gradingRoot) ?? options.gradingRoot;
  const runDir = realPath(options.runDir) ?? options.runDir;
  const keep = [gradingRoot];
  if (options.scratchRoot) keep.push(realPath(options.scratchRoot) ?? options.scratchRoot);
  const protect = [root, ...options.protect.map((p) => realPath(p) ?? p)]
    .filter((p, i, all) => all.indexOf(p) === i);
  const changes = closeToOthers(protect, keep);
  const end = () => reopen(changes);
  try {
    // For the next grading, should this one be killed before its end.
    writeFileAtomic(`${runDir}/${CLOSED_MODES_FILE}`, JSON.stringify(changes) + "\n");
  } catch (err) {
    end();
    throw err;
  }
  try {
    // Children must reach the grading folder (and the scratch folders, if elsewhere).
    for (const k of keep) {
      for (
        let dir = k;
        dir !== "/" && dir !== "";
        dir = dir.slice(0, dir.lastIndexOf("/")) || "/"
      ) {
        const mode = Deno.statSync(dir).mode ?? 0;
        if ((mode & 0o001) === 0) {
          throw new IsolationUnavailableError(
            `the children's users cannot reach ${k}: ${dir} does not let others pass (mode ${
              (mode & 0o777).toString(8)
            }; chmod o+x ${dir}, or put the project elsewhere)`,
          );
        }
      }
    }
    setMode(runDir, 0o711); // its overlays are named after students: not listed

    const gate = (dir: string, gid: number) => {
      openUp(dir);
      const fd = sys.openNoFollow(STATX.AT_FDCWD, dir, true);
      try {
        sys.fchown(fd, 0, gid);
        sys.fchmod(fd, 0o750);
      } finally {
        sys.close(fd);
      }
    };

    // The probe: a child as a lab user, trying what no child may do.
    const probeGid = allocate();
    const probeUser = { uid: allocate(), gid: probeGid };
    const probeDir = Deno.makeTempDirSync({ dir: runDir, prefix: "probe-" });
    let probe: ProbeReport;
    try {
      Deno.writeTextFileSync(`${probeDir}/drive.ts`, PROBE_DRIVE);
      Deno.writeTextFileSync(`${probeDir}/student.ts`, "export {};\n");
      const scratch = `${probeDir}/scratch`;
      Deno.mkdirSync(scratch);
      gate(probeDir, probeGid);
      handOver(scratch, probeUser);
      const sample = (dir: string) => {
        try {
          return [...Deno.readDirSync(dir)].slice(0, 12).map((e) => `${dir}/${e.name}`)
            .filter((p) => !keep.some((k) => within(k, p)));
        } catch {
          return [];
        }
      };
      const read = [
        ...protect,
        ...sample(root),
        `${root}/labs/labs.json`,
        `${root}/lib/mod.ts`,
        `/proc/${Deno.pid}/environ`,
      ];
      const result = await spawnChild({
        drive: `${probeDir}/drive.ts`,
        student: `${probeDir}/student.ts`,
        scratch,
        readable: [probeDir],
        user: probeUser,
        params: {
          read,
          write: [`${root}/labs/labs.json`, `${probeDir}/drive.ts`],
          create: [`${root}/.mmap-lab-probe`, `${runDir}/.probe`, `${probeDir}/.probe`],
        },
        timeoutMs: 30_000,
      }).result();
      if (result.outcome === "refused") {
        throw new IsolationUnavailableError(result.refused ?? "the probe child refused to run");
      }
      if (result.outcome !== "ok") {
        throw new IsolationUnavailableError(
          `the probe child (uid ${probeUser.uid}) failed: ${result.outcome} ${
            result.error?.message ?? result.signal ?? ""
          } ${result.stderr.trim().slice(0, 400)}`,
        );
      }
      probe = result.value as ProbeReport;
    } finally {
      killAll(probeUser.uid);
      Deno.removeSync(probeDir, { recursive: true });
    }
    const reached = [
      ...Object.entries(probe.read).map(([p, r]) => [`read ${p}`, r]),
      ...Object.entries(probe.write).map(([p, r]) => [`write ${p}`, r]),
      ...Object.entries(probe.create).map(([p, r]) => [`create ${p}`, r]),
    ].filter(([, r]) => r === "ok").map(([what]) => what);
    if (reached.length) {
      throw new IsolationUnavailableError(
        `a probe child as uid ${probeUser.uid} could ${reached.slice(0, 5).join(", ")}`,
      );
    }
    if (Object.values(probe.scratch)[0] !== "ok") {
      throw new IsolationUnavailableError(
        `a probe child as uid ${probeUser.uid} could not write its scratch folder (${
          Object.values(probe.scratch)[0]
        })`,
      );
    }
    taken.delete(probeUser.uid);
    taken.delete(probeGid);

    return {
      probe,
      gateOverlay(dir) {
        const gid = allocate();
        gate(dir, gid);
        return gid;
      },
      releaseGroup(gid) {
        taken.delete(gid);
      },
      labUser(gid) {
        return { uid: allocate(), gid };
      },
      releaseUser(user) {
        killAll(user.uid);
        taken.delete(user.uid);
      },
      end,
    };
  } catch (err) {
    end();
    throw err;
  }
}
