/**
 * The runner's small state file, `.mmap-lab/state.json` (git-ignored):
 * which labs passed when last checked, how many hints were shown, and
 * pristine copies of the stubs for `reset`. It only remembers; the truth is
 * always re-checkable with `deno task lab check`.
 *
 * @module
 */

import { labFile, type LabInfo } from "../lib/catalog.ts";

/** What the runner remembers about one lab. */
export interface LabState {
  /** Passed every check when last checked. */
  passed: boolean;
  /** Points when last checked. */
  score: number;
  /** Points possible. */
  maxScore: number;
  /** Hints shown so far. */
  hintsShown: number;
  /** When last checked (ISO time). */
  checkedAt?: string;
  /** {@link fileDigest} of the student's file when it was last checked. */
  fileDigest?: string;
}

/** The whole state file. */
export interface State {
  /** Per lab id. */
  labs: Record<string, LabState>;
  /** The lab the student is on (moved by `n` in watch mode). */
  current?: string;
}

/** The state directory under the project root. */
export function stateDir(root: string): string {
  return `${root}/.mmap-lab`;
}

/** Reads the state (empty if missing or unreadable). */
export function loadState(root: string): State {
  try {
    const state = JSON.parse(Deno.readTextFileSync(`${stateDir(root)}/state.json`)) as State;
    return { labs: state.labs ?? {}, current: state.current };
  } catch {
    return { labs: {} };
  }
}

/**
 * Writes the state atomically: a temp file of this process's own, then a
 * rename, so a reader never sees half a file. Use {@link updateState} to
 * change it: this overwrites what another runner saved meanwhile.
 */
export function saveState(root: string, state: State): void {
  Deno.mkdirSync(stateDir(root), { recursive: true });
  const tmp = `${stateDir(root)}/state.json.${Deno.pid}.tmp`;
  Deno.writeTextFileSync(tmp, JSON.stringify(state, null, 2) + "\n");
  Deno.renameSync(tmp, `${stateDir(root)}/state.json`);
}

/**
 * Changes the state without losing another runner's progress: under a lock
 * on `.mmap-lab/state.lock`, reads the file as it is now, applies `change`
 * to it, writes it atomically, and makes `state` (this process's copy) that
 * merged state. Two commands at once (watch mode and a `check` in another
 * terminal) each keep what the other saved.
 *
 * @example
 * ```ts ignore
 * updateState(root, state, (s) => labState(s, "00_hello_mapping").hintsShown++);
 * ```
 */
export function updateState(root: string, state: State, change: (fresh: State) => void): void {
  Deno.mkdirSync(stateDir(root), { recursive: true });
  using lock = Deno.openSync(`${stateDir(root)}/state.lock`, {
    read: true,
    write: true,
    create: true,
  });
  lock.lockSync(true);
  try {
    const fresh = loadState(root);
    change(fresh);
    saveState(root, fresh);
    state.labs = fresh.labs;
    state.current = fresh.current;
  } finally {
    lock.unlockSync();
  }
}

/**
 * A digest of the student's file (FNV-1a, 32 bits, hex), or `undefined` when
 * it cannot be read: enough to notice that a checked file has changed since.
 */
export function fileDigest(root: string, lab: LabInfo): string | undefined {
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(labFile(root, lab));
  } catch {
    return undefined;
  }
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return (h >>> 0).toString(16).padStart(8, "0");
}

/**
 * Whether the lab passed when last checked and its file has not changed
 * since (an edit after passing means: check again).
 */
export function passedAsIs(root: string, state: State, lab: LabInfo): boolean {
  const s = state.labs[lab.id];
  if (!s?.passed) return false;
  return s.fileDigest === undefined || s.fileDigest === fileDigest(root, lab);
}

/** The state of one lab, with defaults. */
export function labState(state: State, id: string): LabState {
  return state.labs[id] ??= { passed: false, score: 0, maxScore: 0, hintsShown: 0 };
}

function gitShow(root: string, path: string): string | undefined {
  try {
    const out = new Deno.Command("git", {
      args: ["show", `HEAD:${path}`],
      cwd: root,
      stdout: "piped",
      stderr: "null",
    }).outputSync();
    return out.success ? new TextDecoder().decode(out.stdout) : undefined;
  } catch {
    return undefined;
  }
}

function stubCopyPath(root: string, lab: LabInfo): string {
  return `${stateDir(root)}/stubs/${lab.id}/${lab.file}`;
}

/**
 * Keeps a pristine copy of each stub the first time the runner sees it
 * unchanged from git's HEAD, so `reset` can restore it even after the
 * student commits their work.
 */
export function rememberStubs(root: string, labs: LabInfo[]): void {
  for (const lab of labs) {
    const copy = stubCopyPath(root, lab);
    try {
      Deno.statSync(copy);
      continue;
    } catch { /* not yet */ }
    let current: string;
    try {
      current = Deno.readTextFileSync(labFile(root, lab));
    } catch {
      continue;
    }
    if (gitShow(root, `labs/${lab.id}/${lab.file}`) !== current) continue;
    Deno.mkdirSync(copy.slice(0, copy.lastIndexOf("/")), { recursive: true });
    Deno.writeTextFileSync(copy, current);
  }
}

/** The pristine stub: the remembered copy, else the file as of git's HEAD. */
export function pristineStub(root: string, lab: LabInfo): string | undefined {
  try {
    return Deno.readTextFileSync(stubCopyPath(root, lab));
  } catch {
    return gitShow(root, `labs/${lab.id}/${lab.file}`);
  }
}

/** Copies the student's file to `.mmap-lab/backups/<lab>/<time>-<file>` and returns that path. */
export function backupStudentFile(root: string, lab: LabInfo): string {
  const dir = `${stateDir(root)}/backups/${lab.id}`;
  Deno.mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const path = `${dir}/${stamp}-${lab.file}`;
  Deno.copyFileSync(labFile(root, lab), path);
  return path;
}
