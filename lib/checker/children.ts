/**
 * The live children of this process: every child the checker started, so
 * that SIGINT/SIGTERM or a runner's clean-up can kill them all, and the
 * orphans they leave (adopted while this process is a child subreaper), so
 * that nothing a child started outlives it.
 *
 * One registry per process, shared by every copy of this module (the grader
 * loads one per overlay).
 *
 * @module
 */

import * as sys from "../sys.ts";
import { PR, W } from "../ffi/constants.ts";
import { groupMembers, listPids, ownChildren, statOf } from "./proctable.ts";

/** A child in the registry: its pid, and how to kill it with its process group. */
export interface Killable {
  /** The child's process id. */
  pid: number;
  /** Sends `signal` to the child and its process group. */
  killGroup(signal: Deno.Signal): void;
}

interface LiveRegistry {
  children: Set<Killable>;
  listening: boolean;
  onSignal: Record<"SIGINT" | "SIGTERM", () => void>;
  /** How many callers asked for {@link adoptOrphans}. */
  adopting: number;
}

/** One registry per process, shared by every copy of this module (the grader loads one per overlay). */
function registry(): LiveRegistry {
  const key = Symbol.for("mmap-lab.checker.live-children");
  const g = globalThis as unknown as Record<symbol, LiveRegistry | undefined>;
  let r = g[key];
  if (!r) {
    const children = new Set<Killable>();
    const stop = (code: number) => () => {
      for (const child of children) child.killGroup("SIGKILL");
      Deno.exit(code);
    };
    r = g[key] = {
      children,
      listening: false,
      onSignal: { SIGINT: stop(130), SIGTERM: stop(143) },
      adopting: 0,
    };
  }
  return r;
}

/**
 * Adds a running child to the registry: SIGINT or SIGTERM to this process
 * now kills its group before this process exits.
 *
 * @example
 * ```ts ignore
 * const killable = { pid: child.pid, killGroup: (signal) => child.kill(signal) };
 * track(killable);
 * ```
 */
export function track(child: Killable): void {
  const r = registry();
  r.children.add(child);
  if (!r.listening) {
    r.listening = true;
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      try {
        Deno.addSignalListener(signal, r.onSignal[signal]);
      } catch { /* not supported here */ }
    }
  }
}

/**
 * Takes an ended child out of the registry (see {@link track}).
 *
 * @example
 * ```ts ignore
 * untrack(killable);
 * ```
 */
export function untrack(child: Killable): void {
  const r = registry();
  r.children.delete(child);
  if (r.children.size === 0 && r.listening) {
    r.listening = false;
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      try {
        Deno.removeSignalListener(signal, r.onSignal[signal]);
      } catch { /* not supported here */ }
    }
  }
}

function reap(pid: number): void {
  try {
    sys.waitpid(pid, W.NOHANG);
  } catch { /* not ours, or gone */ }
}

/**
 * Makes this process a "child subreaper" (Linux `prctl(PR_SET_CHILD_SUBREAPER)`)
 * while `on` calls outnumber `off` calls: a process a child started and then
 * orphaned (a daemon that called `setsid()`, a double fork) is re-parented
 * to this process instead of init, and is killed when any child ends. Needs
 * FFI permission; returns whether adoption is on.
 *
 * @example
 * ```ts ignore
 * adoptOrphans(true);
 * try { await gradeEverything(); } finally { adoptOrphans(false); }
 * ```
 */
export function adoptOrphans(on: boolean): boolean {
  const r = registry();
  const before = r.adopting;
  r.adopting = Math.max(0, r.adopting + (on ? 1 : -1));
  if ((before === 0) !== (r.adopting === 0)) {
    try {
      sys.prctl(PR.SET_CHILD_SUBREAPER, r.adopting ? 1 : 0);
    } catch {
      r.adopting = 0; // no FFI permission, or not Linux
      return false;
    }
  }
  return r.adopting > 0;
}

/**
 * Kills and reaps the orphans adopted from children: processes whose parent
 * is now this one, that are not children this module started, and that live
 * in another session than this process (a checker's own plain subprocesses
 * share this process's session and are left alone). Returns their pids.
 */
async function killOrphans(): Promise<Set<number>> {
  const killed = new Set<number>();
  const deadline = performance.now() + 2000;
  // Each round kills one generation: a killed daemon's own children come to us next.
  while (performance.now() < deadline) {
    const orphans = findOrphans();
    if (!orphans?.length) break;
    for (const o of orphans) {
      if (o.zombie) {
        reap(o.pid);
        continue;
      }
      try {
        Deno.kill(o.pid, "SIGKILL");
        killed.add(o.pid);
      } catch { /* gone */ }
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
    for (const o of orphans) reap(o.pid);
  }
  return killed;
}

/**
 * Processes adopted from children (see {@link adoptOrphans}): this process's
 * children that it did not start and that live in another session. Empty
 * when not adopting; `undefined` when `/proc` cannot be read.
 */
function findOrphans(): { pid: number; zombie: boolean }[] | undefined {
  const r = registry();
  if (!r.adopting) return [];
  const self = statOf(Deno.pid); // not /proc/self: Deno wants --allow-all for it
  if (!self) return undefined;
  const mySession = self.session;
  const known = new Set([...r.children].map((c) => c.pid));
  // Orphans were re-parented to this process: its children lists name them.
  const pids = ownChildren() ?? listPids();
  if (!pids) return undefined;
  const orphans: { pid: number; zombie: boolean }[] = [];
  for (const pid of pids) {
    if (known.has(pid)) continue;
    const stat = statOf(pid);
    if (!stat || stat.ppid !== Deno.pid || stat.session === mySession) continue;
    orphans.push({ pid, zombie: stat.state === "Z" });
  }
  return orphans;
}

/** Kills the (ended) child's process group, whatever is left in it. */
function killGroup(leader: number): void {
  try {
    Deno.kill(-leader, "SIGKILL");
  } catch { /* no one left in the group */ }
}

/** Kills what the (ended) child left in its group or session; returns how many. */
function killLeftovers(leader: number): number | undefined {
  const members = groupMembers(leader);
  killGroup(leader);
  for (const pid of members ?? []) {
    try {
      Deno.kill(pid, "SIGKILL"); // moved to another group of the session
    } catch { /* gone */ }
  }
  return members?.length;
}

/**
 * After a child (the leader of its own session and process group) has
 * ended: kills whatever it left running in its group or session and, while
 * {@link adoptOrphans} is on, the orphans it left. Returns how many
 * processes that was, or `undefined` when `/proc` could not be read.
 *
 * @example
 * ```ts ignore
 * await child.status;
 * const leftovers = await sweepLeftovers(child.pid);
 * ```
 */
export async function sweepLeftovers(leader: number): Promise<number | undefined> {
  if (registry().adopting) {
    // Whatever the child left running was re-parented to this process
    // when it died: count it among our own children (findOrphans), kill
    // the group at once, then sweep the rest.
    const before = (findOrphans() ?? []).filter((o) => !o.zombie).map((o) => o.pid);
    killGroup(leader);
    return new Set([...before, ...await killOrphans()]).size;
  }
  const grouped = killLeftovers(leader);
  const orphans = await killOrphans();
  return grouped === undefined ? undefined : grouped + orphans.size;
}

/**
 * Kills every live child process (and its process group) this process
 * started; returns how many there were. For a runner's own clean-up.
 *
 * @example
 * ```ts
 * console.log(killAllChildren()); // 0: none running
 * ```
 */
export function killAllChildren(signal: Deno.Signal = "SIGKILL"): number {
  const { children } = registry();
  const n = children.size;
  for (const child of [...children]) child.killGroup(signal);
  return n;
}
