/**
 * One watch-mode runner per project: the first takes a lock on
 * `.mmap-lab/runner.lock` (an advisory `flock`, released by the kernel when
 * the process ends, however it ends) and writes there who holds it; a second
 * one reads that and says where the first one is instead of starting.
 *
 * @module
 */

import { stateDir } from "./state.ts";

/** Who holds the runner lock. */
export interface LockHolder {
  /** Its process id. */
  pid: number;
  /** Its terminal (`/dev/pts/3`), when known. */
  terminal?: string;
  /** The lab it watches. */
  lab?: string;
  /** Since when (ISO time). */
  since: string;
}

/** The lock, held until disposed of (or until the process ends). */
export interface RunnerLock extends Disposable {
  /** Records the lab now watched, for a second runner to read. */
  watching(lab: string): void;
}

function lockPath(root: string): string {
  return `${stateDir(root)}/runner.lock`;
}

/**
 * Takes an exclusive flock without waiting for it. `FsFile.tryLockSync` came
 * in Deno 2.7; before it, a blocking `lock()` that has not returned within
 * half a second means that another process holds the lock.
 */
async function tryLock(file: Deno.FsFile): Promise<boolean> {
  const f = file as Deno.FsFile & { tryLockSync?: (exclusive?: boolean) => boolean };
  if (typeof f.tryLockSync === "function") return f.tryLockSync(true);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const gaveUp = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), 500));
  const locked = file.lock(true).then(() => true, () => false);
  const got = await Promise.race([locked, gaveUp]);
  clearTimeout(timer);
  return got;
}

function terminalName(): string | undefined {
  try {
    const out = new Deno.Command("tty", { stdin: "inherit", stdout: "piped", stderr: "null" })
      .outputSync();
    const name = new TextDecoder().decode(out.stdout).trim();
    return out.success && name.startsWith("/") ? name : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Takes the runner lock of the project at `root`, or returns who holds it.
 *
 * @example
 * ```ts ignore
 * const lock = await takeRunnerLock(root);
 * if ("pid" in lock) console.log(`already open: process ${lock.pid}`);
 * ```
 */
export async function takeRunnerLock(root: string): Promise<RunnerLock | LockHolder> {
  Deno.mkdirSync(stateDir(root), { recursive: true });
  const file = Deno.openSync(lockPath(root), { read: true, write: true, create: true });
  if (!(await tryLock(file))) {
    file.close();
    let holder: LockHolder = { pid: 0, since: "" };
    try {
      holder = JSON.parse(Deno.readTextFileSync(lockPath(root)));
    } catch { /* being written: say what is known */ }
    return holder;
  }
  const info: LockHolder = {
    pid: Deno.pid,
    terminal: terminalName(),
    since: new Date().toISOString(),
  };
  const write = () => {
    file.truncateSync(0);
    const bytes = new TextEncoder().encode(JSON.stringify(info) + "\n");
    file.seekSync(0, Deno.SeekMode.Start);
    let done = 0;
    while (done < bytes.length) done += file.writeSync(bytes.subarray(done));
  };
  write();
  return {
    watching(lab: string) {
      info.lab = lab;
      write();
    },
    [Symbol.dispose]() {
      try {
        file.truncateSync(0);
        file.unlockSync();
      } catch { /* closing releases it anyway */ }
      file.close();
    },
  };
}

/**
 * What a second runner says about the first.
 *
 * @example
 * ```ts
 * console.log(describeHolder({ pid: 42, terminal: "/dev/pts/3", lab: "01_first_mapping", since: "" }));
 * ```
 */
export function describeHolder(holder: LockHolder): string {
  const who = [
    holder.pid ? `process ${holder.pid}` : undefined,
    holder.terminal ? `in terminal ${holder.terminal}` : undefined,
    holder.lab ? `watching ${holder.lab}` : undefined,
    holder.since ? `since ${holder.since.slice(11, 16)} UTC` : undefined,
  ].filter(Boolean).join(", ");
  return `a lab runner is already open in this project${who ? ` (${who})` : ""}. ` +
    "Use that one, or quit it with q first. (One-off commands such as `deno task lab check` " +
    "work alongside it.)";
}
