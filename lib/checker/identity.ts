/**
 * Who a checker's child runs as. A grader running as root (the Gradescope
 * and Autolab containers do) runs each child as a user of its own: the
 * harness switches to it before any student code loads (every thread of the
 * process: glibc's set*id calls reach them all), and the grader hands the
 * child's scratch folder to it. The kernel then keeps the student's code out
 * of the grader's files, the instructor's tree and other students' children,
 * and counts its processes (RLIMIT_NPROC, from which root is exempt).
 *
 * Every child, root or not, dies with the process that started it
 * (`PR_SET_PDEATHSIG`).
 *
 * @module
 */

import * as sys from "../sys.ts";
import { PR, SIG, STATX } from "../ffi/constants.ts";
import { MmapError } from "../errors.ts";
import { readProcText } from "../inspect.ts";

/** The user and group a child runs as. */
export interface ChildUser {
  /** Its user id (real, effective and saved). */
  uid: number;
  /** Its group id (real, effective and saved); it has no supplementary groups. */
  gid: number;
}

/** The child could not be made to run as its user, or to die with its parent: it must not run student code. */
export class IsolationError extends Error {
  /**
   * An error saying what failed.
   *
   * @example
   * ```ts
   * console.log(new IsolationError("uid 60001: setresuid failed").name); // "IsolationError"
   * ```
   */
  constructor(message: string) {
    super(message);
    this.name = "IsolationError";
  }
}

/** The fields of a `/proc/…/status` file, by name. */
function statusFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return fields;
}

/**
 * What is wrong with this process's identity for `user` (an empty list when
 * nothing): every thread's real, effective, saved and file-system ids must be
 * the user's, with no supplementary group and no capability.
 *
 * @example
 * ```ts ignore
 * console.log(identityProblems({ uid: 60001, gid: 60001 })); // [] once switched
 * ```
 */
export function identityProblems(user: ChildUser): string[] {
  const problems: string[] = [];
  const tasks = sys.listDirectory("/proc/self/task").filter((t) => /^\d+$/.test(t));
  const want = (id: number) => [id, id, id, id].join(" ");
  for (const tid of tasks) {
    let fields: Map<string, string>;
    try {
      fields = statusFields(readProcText(`/proc/self/task/${tid}/status`));
    } catch (err) {
      if (err instanceof MmapError && err.code === "ENOENT") continue; // the thread has ended
      throw err;
    }
    const ids = (name: string) => (fields.get(name) ?? "").split(/\s+/).join(" ");
    if (ids("Uid") !== want(user.uid)) problems.push(`thread ${tid}: Uid ${ids("Uid")}`);
    if (ids("Gid") !== want(user.gid)) problems.push(`thread ${tid}: Gid ${ids("Gid")}`);
    if ((fields.get("Groups") ?? "") !== "") {
      problems.push(`thread ${tid}: Groups ${fields.get("Groups")}`);
    }
    for (const cap of ["CapEff", "CapPrm"]) {
      if (!/^0+$/.test(fields.get(cap) ?? "")) {
        problems.push(`thread ${tid}: ${cap} ${fields.get(cap)}`);
      }
    }
  }
  if (tasks.length === 0) problems.push("no thread listed in /proc/self/task");
  try {
    sys.setAllUids(0);
    problems.push("setresuid(0) succeeded: root can be taken back");
  } catch (err) {
    if (!(err instanceof MmapError && err.code === "EPERM")) {
      problems.push(
        `setresuid(0) failed with ${err instanceof MmapError ? err.code : err}, not EPERM`,
      );
    }
  }
  return problems;
}

/**
 * Switches this whole process (every thread) to `user`, for good: no
 * supplementary groups, then the group, then the user (real, effective and
 * saved ids), then checks every thread and that root cannot be taken back.
 * The process is made dumpable again (a change of user made its `/proc/self`
 * files root's, and the library reads its own pagemap and smaps). Needs root;
 * throws {@link IsolationError}.
 *
 * @example
 * ```ts ignore
 * becomeUser({ uid: 60001, gid: 60000 }); // in the harness, before the student's module loads
 * ```
 */
export function becomeUser(user: ChildUser): void {
  const step = (what: string, fn: () => void) => {
    try {
      fn();
    } catch (err) {
      throw new IsolationError(
        `could not run as uid ${user.uid}, gid ${user.gid}: ${what} failed (${
          err instanceof MmapError ? err.code : String(err)
        })`,
      );
    }
  };
  step("setgroups", () => sys.dropSupplementaryGroups());
  step("setresgid", () => sys.setAllGids(user.gid));
  step("setresuid", () => sys.setAllUids(user.uid));
  step("PR_SET_DUMPABLE", () => sys.prctl(PR.SET_DUMPABLE, 1));
  const problems = identityProblems(user);
  if (problems.length) {
    throw new IsolationError(
      `switched to uid ${user.uid}, but: ${problems.slice(0, 4).join("; ")}`,
    );
  }
}

/**
 * Makes the kernel kill this process (SIGKILL) when the thread that started
 * it ends, then checks that `parent` is still its parent (it may have died
 * before). Call it after {@link becomeUser}: a change of user clears the
 * setting. Throws {@link IsolationError}.
 *
 * @example
 * ```ts ignore
 * dieWithParent(spec.parent);
 * ```
 */
export function dieWithParent(parent: number): void {
  try {
    sys.prctl(PR.SET_PDEATHSIG, SIG.KILL);
  } catch (err) {
    throw new IsolationError(`PR_SET_PDEATHSIG failed: ${err}`);
  }
  if (sys.getppid() !== parent) {
    throw new IsolationError(`the checker (pid ${parent}) has gone`);
  }
}

/** Gives `fd` (a folder or a file) and, for a folder, what it holds, to `user`; see {@link handOver}. */
function handOverFd(fd: number, user: ChildUser, depth: number): void {
  const o = sys.ownership(fd);
  if (o.uid !== 0 && o.uid !== user.uid) return; // neither the checker's nor the child's
  if (o.type === STATX.S_IFDIR) {
    if (o.uid !== user.uid || o.gid !== user.gid) sys.fchown(fd, user.uid, user.gid);
    if (depth > 32) return;
    for (const name of sys.listDirectory(`/proc/self/fd/${fd}`)) {
      if (name === "." || name === "..") continue;
      let child: number;
      try {
        child = sys.openNoFollow(fd, name);
      } catch {
        continue; // a symbolic link (ELOOP), a socket (ENXIO), gone since: left alone
      }
      try {
        handOverFd(child, user, depth + 1);
      } finally {
        sys.close(child);
      }
    }
  } else if (o.type === STATX.S_IFREG && o.links === 1) {
    if (o.uid !== user.uid || o.gid !== user.gid) sys.fchown(fd, user.uid, user.gid);
  }
}

/**
 * Gives a scratch folder to a child's user: the folder (mode 0700: no one
 * else may enter), and every folder and regular file in it that root owns,
 * so the child may write what the checker put there. Through descriptors,
 * never following a symbolic link; a file with another name elsewhere (a hard
 * link a student's process made to a file of the instructor's, say) is left
 * alone. Needs root.
 *
 * @example
 * ```ts ignore
 * handOver(scratch, { uid: 60001, gid: 60000 });
 * ```
 */
export function handOver(dir: string, user: ChildUser): void {
  const fd = sys.openNoFollow(STATX.AT_FDCWD, dir, true);
  try {
    const o = sys.ownership(fd);
    if (o.mode !== 0o700 && (o.uid === 0 || o.uid === user.uid)) sys.fchmod(fd, 0o700);
    handOverFd(fd, user, 0);
  } finally {
    sys.close(fd);
  }
}
