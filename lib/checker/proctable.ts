/**
 * The process table, as `/proc` shows it: every process on the machine, this
 * process's children, and who belongs to a process group or session.
 *
 * Deno asks for `--allow-all` to read anything under `/proc`, so `/proc` is
 * read through libc (FFI permission, which every mmap-lab permission set
 * grants). Without it these return `undefined`, and a caller falls back to
 * what it can do without (killing a process group, say).
 *
 * @module
 */

import * as sys from "../sys.ts";
import { type ProcStat, procStat, readProcText } from "../inspect.ts";

/**
 * The pid of every process on the machine, or `undefined` when `/proc`
 * cannot be read.
 *
 * @example
 * ```ts
 * console.log(listPids()?.includes(Deno.pid)); // true
 * ```
 */
export function listPids(): number[] | undefined {
  try {
    return sys.listDirectory("/proc").filter((name) => /^\d+$/.test(name)).map(Number);
  } catch {
    return undefined;
  }
}

/**
 * This process's children, from `/proc/PID/task/TID/children` of each of its
 * threads: a few reads instead of one per process on the machine. `undefined`
 * where the kernel has no such files (CONFIG_PROC_CHILDREN) or `/proc` cannot
 * be read.
 *
 * @example
 * ```ts
 * console.log(ownChildren()); // [] (or undefined): no children yet
 * ```
 */
export function ownChildren(): number[] | undefined {
  const tasks = `/proc/${Deno.pid}/task`;
  try {
    const out: number[] = [];
    for (const tid of sys.listDirectory(tasks)) {
      if (!/^\d+$/.test(tid)) continue;
      let text: string;
      try {
        text = readProcText(`${tasks}/${tid}/children`);
      } catch (err) {
        if (!sys.listDirectory(tasks).includes(tid)) continue; // the thread has ended
        throw err; // no children files on this kernel
      }
      for (const pid of text.split(" ")) if (pid.trim()) out.push(Number(pid));
    }
    return out;
  } catch {
    return undefined;
  }
}

/** A small `/proc` file as text, or `undefined`. */
function readProc(path: string): string | undefined {
  try {
    return readProcText(path);
  } catch {
    return undefined;
  }
}

/**
 * A process's `/proc/PID/stat` (see `procStat` in `lib/inspect.ts`), or
 * `undefined` once it is gone or when `/proc` cannot be read.
 *
 * @example
 * ```ts
 * console.log(statOf(Deno.pid)?.session); // this process's session id
 * ```
 */
export function statOf(pid: number): ProcStat | undefined {
  try {
    return procStat(pid);
  } catch {
    return undefined;
  }
}

/**
 * Live processes (zombies aside) whose process group or session is `leader`,
 * or `undefined` when `/proc` cannot be read (neither read-all nor FFI
 * permission).
 *
 * @example
 * ```ts ignore
 * console.log(groupMembers(child.pid)); // [] once the child and all it started are gone
 * ```
 */
export function groupMembers(leader: number): number[] | undefined {
  const pids = listPids();
  if (!pids) return undefined;
  const members: number[] = [];
  for (const pid of pids) {
    const stat = statOf(pid);
    if (!stat || stat.state === "Z" || stat.state === "X") continue;
    if (stat.processGroup === leader || stat.session === leader) members.push(pid);
  }
  return members;
}

/**
 * How many threads the user running this process has, over all its
 * processes (what RLIMIT_NPROC counts); `null` for root (whom RLIMIT_NPROC
 * does not bind) or when `/proc` cannot be read.
 *
 * @example
 * ```ts
 * console.log(userThreads()); // e.g. 143, or null as root
 * ```
 */
export function userThreads(): number | null {
  const uidOf = (status: string | undefined) => status && /^Uid:\s+(\d+)/m.exec(status)?.[1];
  const uid = uidOf(readProc(`/proc/${Deno.pid}/status`));
  if (!uid || uid === "0") return null;
  let threads = 0;
  for (const pid of listPids() ?? []) {
    const status = readProc(`/proc/${pid}/status`);
    if (uidOf(status) !== uid) continue;
    threads += Number(/^Threads:\s+(\d+)/m.exec(status!)?.[1] ?? 1);
  }
  return threads || null;
}

/** The real, effective, saved and file-system user and group ids of a process, from its status. */
function idsOf(pid: number): { uids: number[]; gids: number[] } | undefined {
  const status = readProc(`/proc/${pid}/status`);
  if (!status) return undefined;
  const ids = (name: string) =>
    (new RegExp(`^${name}:\\s+(.*)$`, "m").exec(status)?.[1] ?? "").trim().split(/\s+/).map(
      Number,
    );
  return { uids: ids("Uid"), gids: ids("Gid") };
}

/**
 * Every user and group id some live process has (real, effective, saved or
 * file-system): ids a grader must not give its children. Empty when `/proc`
 * cannot be read.
 *
 * @example
 * ```ts
 * console.log(idsInUse().has(0)); // true: root runs something
 * ```
 */
export function idsInUse(): Set<number> {
  const used = new Set<number>();
  for (const pid of listPids() ?? []) {
    const ids = idsOf(pid);
    if (!ids) continue;
    for (const id of [...ids.uids, ...ids.gids]) used.add(id);
  }
  return used;
}

/**
 * The live processes (zombies aside) whose real or effective user id is
 * `uid`, or `undefined` when `/proc` cannot be read.
 *
 * @example
 * ```ts
 * console.log(processesOfUser(61234)); // [] (or undefined)
 * ```
 */
export function processesOfUser(uid: number): number[] | undefined {
  const pids = listPids();
  if (!pids) return undefined;
  const out: number[] = [];
  for (const pid of pids) {
    const ids = idsOf(pid);
    if (!ids || (ids.uids[0] !== uid && ids.uids[1] !== uid)) continue;
    const stat = statOf(pid);
    if (stat && stat.state !== "Z" && stat.state !== "X") out.push(pid);
  }
  return out;
}
