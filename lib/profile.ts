/**
 * The kernel profile: the behaviours the labs depend on, measured on the
 * machine at hand (never inferred from a version number), because kernels
 * differ. Some map the shared zero page on a read fault of fresh anonymous
 * memory and some allocate; fault-around maps 16 pages, or a whole large
 * folio; `/tmp` or the whole project may sit on tmpfs, where `msync` never
 * cleans a page; pages are 4, 16 or 64 KiB; some systems refuse to make
 * anonymous memory executable.
 *
 * {@link measureKernelProfile} measures, in this process, in well under a
 * second; {@link kernelProfile} caches the result in
 * `.mmap-lab/kernel-profile.json`, per kernel release, boot, user and
 * scratch directory. Checks take their expectations from it or from the
 * same run's observation; `deno task lab doctor` prints it.
 *
 * @module
 */

import * as sys from "./sys.ts";
import { assertSupported, FADV, O, RETURN_INSTRUCTION } from "./ffi/constants.ts";
import { MmapError } from "./errors.ts";
import { fileSystemOf, pagemap, readProcText } from "./inspect.ts";
import { mapAnonymous, mapFile, type Mapping } from "./mapping.ts";
import { withoutRecording } from "./trace.ts";

/** Pages one read fault maps or reads in, measured on one file. */
export interface FaultAround {
  /** Pages mapped by one read fault of a cached file written in page-sized pieces. */
  smallWrites: number;
  /** The same on a file written in one large write (large folios, where the file system has them). */
  largeWrite: number;
  /** Pages mapped by one read fault of the cached file after `MADV_RANDOM`. */
  random: number;
}

/** Pages one read fault brings into the page cache from storage (read-around). */
export interface ReadAround {
  /** With no advice (`MADV_NORMAL`); at most `filePages`. */
  normal: number;
  /** After `MADV_RANDOM`. */
  random: number;
  /** After `MADV_SEQUENTIAL`; at most `filePages`. */
  sequential: number;
  /** Pages of the file measured on (a count equal to it means "at least the whole file"). */
  filePages: number;
}

/** The scratch directory where lab runs create their files, and what it can show. */
export interface ScratchInfo {
  /** Absolute path. */
  dir: string;
  /** File system name (`"ext4"`, `"tmpfs"`, `"overlayfs"`, … or the hex magic). */
  fileSystem: string;
  /** `msync(MS_SYNC)` left a written page of a shared file mapping clean (measured). */
  msyncCleans: boolean;
  /** Why this directory and not the project's own `.mmap-lab/scratch`, if it is another. */
  reason?: string;
}

/** Every kernel behaviour a lab depends on, measured on this machine. */
export interface KernelProfile {
  /** Format version of this record. */
  version: 1;
  /** `uname -r` (`/proc/sys/kernel/osrelease`). */
  release: string;
  /** This boot's id: a profile is measured again after a reboot. */
  bootId: string;
  /** `x86_64` or `aarch64`. */
  arch: string;
  /** The user measured as (frame numbers are visible to root only). */
  uid: number;
  /** Running under WSL (`/proc/version` names Microsoft). */
  wsl: boolean;
  /** When it was measured (ISO 8601). */
  measuredAt: string;
  /** What measuring cost, ms. */
  costMs: number;
  /** Bytes per page. */
  pageSize: number;
  /**
   * A read fault of untouched private anonymous memory maps the shared zero
   * page (`true`, the textbook), or allocates a page of the process's own.
   */
  zeroPage: boolean;
  /** Fault-around: pages mapped by one read fault of a cached file. */
  faultAround: FaultAround;
  /** Read-around from storage, or `null` where the file's cache cannot be emptied (tmpfs). */
  readAround: ReadAround | null;
  /** Transparent huge pages: the mode in force (`"always"`, `"madvise"`, `"never"`), or `null`. */
  thp: string | null;
  /** `/proc/PID/pagemap` shows physical frame numbers to this user. */
  frameNumbersVisible: boolean;
  /** Soft-dirty bits work (`/proc/self/clear_refs` clears them, a write sets them). */
  softDirty: boolean;
  /**
   * Anonymous memory can be made executable: a page mapped read-write, with
   * a `ret` instruction stored in it, took `mprotect(PROT_READ | PROT_EXEC)`
   * (`true`), or was refused with `EACCES`/`EPERM` by a security policy
   * such as SELinux `execmem` or a hardened kernel (`false`). `null` when the
   * answer was another error; absent from profiles measured before this
   * fact was (read as unknown). Measured by the `mprotect` alone: nothing is
   * run.
   */
  execAnonymous?: boolean | null;
  /** The scratch directory the labs use. */
  scratch: ScratchInfo;
}

/** The textbook values of the facts that vary: what a lesson teaches first. */
export const TEXTBOOK = {
  zeroPage: true,
  faultAroundPages: 16,
  readAroundRandom: 1,
  msyncCleans: true,
} as const;

/** Options for {@link measureKernelProfile}. */
export interface MeasureOptions {
  /**
   * Directories to try for scratch files, best first: the first where
   * `msync` cleans pages wins; if none does, the first that is writable.
   */
  scratchCandidates: string[];
}

const PROFILE_FILE_BYTES = 2 << 20;

function textOf(path: string): string | undefined {
  try {
    return readProcText(path).trim();
  } catch {
    return undefined;
  }
}

function uid(): number {
  const status = textOf("/proc/self/status") ?? "";
  const line = /^Uid:\s+(\d+)/m.exec(status);
  return line ? Number(line[1]) : -1;
}

/** The running kernel's release, boot id and the user: the cache key. */
function identity(): { release: string; bootId: string; uid: number } {
  return {
    release: textOf("/proc/sys/kernel/osrelease") ?? "unknown",
    bootId: textOf("/proc/sys/kernel/random/boot_id") ?? "unknown",
    uid: uid(),
  };
}

function zeroPageOnRead(ps: number): { zeroPage: boolean; frameNumbersVisible: boolean } {
  const pages = 32;
  using memory = mapAnonymous(pages * ps);
  try {
    memory.advise("nohugepage"); // one fault, one page, whatever the THP mode
  } catch { /* no THP here */ }
  const bytes = memory.bytes;
  let sum = 0;
  for (let at = 0; at < bytes.length; at += ps) sum += bytes[at];
  const read = pagemap(memory.address, pages);
  const own = read.filter((p) => p.present && p.exclusive).length;
  bytes[0] = 1 + sum; // a page of our own, to see whether its frame number shows
  const [written] = pagemap(memory.address, 1);
  return { zeroPage: own < pages / 2, frameNumbersVisible: written.frame !== null };
}

function softDirtyWorks(ps: number): boolean {
  using memory = mapAnonymous(ps);
  memory.bytes[0] = 1;
  let fd: number;
  try {
    fd = sys.open("/proc/self/clear_refs", O.WRONLY | O.CLOEXEC);
  } catch {
    return false;
  }
  try {
    sys.pwrite(fd, new TextEncoder().encode("4"), 0);
  } catch {
    return false;
  } finally {
    sys.close(fd);
  }
  const cleared = !pagemap(memory.address, 1)[0].softDirty;
  memory.bytes[0] = 2;
  return cleared && pagemap(memory.address, 1)[0].softDirty;
}

/** Whether a page of anonymous memory, written while read-write, may become read + execute. */
function execAnonymousAllowed(ps: number): boolean | null {
  using code = mapAnonymous(ps);
  code.bytes.set(RETURN_INSTRUCTION[assertSupported()]);
  try {
    code.protect("readexec");
    return true;
  } catch (err) {
    if (err instanceof MmapError && (err.code === "EACCES" || err.code === "EPERM")) return false;
    return null;
  }
}

function thpMode(): string | null {
  const text = textOf("/sys/kernel/mm/transparent_hugepage/enabled");
  const mode = text && /\[(\w+)\]/.exec(text);
  return mode ? mode[1] : null;
}

/** Writes `pages` pages of nonzero bytes, in page-sized pieces or in one write. */
function writeFile(path: string, pages: number, ps: number, oneWrite: boolean): number {
  const fd = sys.open(path, O.RDWR | O.CREAT | O.TRUNC | O.CLOEXEC, 0o600);
  const chunk = new Uint8Array(oneWrite ? pages * ps : ps).fill(0x61);
  for (let at = 0; at < pages * ps; at += chunk.length) sys.pwrite(fd, chunk, at);
  return fd;
}

function mappedAfterOneTouch(path: string, page: number, advice?: "random"): number {
  using m = mapFile(path);
  if (advice) m.advise(advice);
  void m.bytes[page * m.pageSize];
  return pagemap(m.address, m.pageCount).filter((p) => p.present).length;
}

function cachedAfterOneTouch(
  path: string,
  fd: number,
  page: number,
  advice: "normal" | "random" | "sequential",
): number | undefined {
  sys.fadvise(fd, 0, 0, FADV.DONTNEED);
  using m = mapFile(path);
  if (m.residency().some((r) => r)) return undefined; // the cache cannot be emptied here
  m.advise(advice);
  void m.bytes[page * m.pageSize];
  return m.residency().filter((r) => r).length;
}

/** Fault-around and read-around, on two files in `dir`. */
function fileFaults(
  dir: string,
  ps: number,
): { faultAround: FaultAround; readAround: ReadAround | null } {
  const pages = Math.max(64, Math.min(512, PROFILE_FILE_BYTES / ps));
  const middle = pages / 2 + 1;
  const small = `${dir}/profile-${Deno.pid}-small`;
  const large = `${dir}/profile-${Deno.pid}-large`;
  const smallFd = writeFile(small, pages, ps, false);
  try {
    sys.close(writeFile(large, pages, ps, true));
    const faultAround: FaultAround = {
      smallWrites: mappedAfterOneTouch(small, middle),
      largeWrite: mappedAfterOneTouch(large, middle),
      random: mappedAfterOneTouch(small, middle, "random"),
    };
    sys.fsync(smallFd); // clean pages can be dropped from the cache
    const random = cachedAfterOneTouch(small, smallFd, middle, "random");
    if (random === undefined) return { faultAround, readAround: null };
    const readAround: ReadAround = {
      random,
      normal: cachedAfterOneTouch(small, smallFd, middle, "normal") ?? 0,
      sequential: cachedAfterOneTouch(small, smallFd, middle, "sequential") ?? 0,
      filePages: pages,
    };
    return { faultAround, readAround };
  } finally {
    sys.close(smallFd);
    for (const path of [small, large]) {
      try {
        Deno.removeSync(path);
      } catch { /* already gone */ }
    }
  }
}

/** Whether msync(MS_SYNC) leaves a written page of a shared file mapping clean in `dir`. */
function msyncCleansIn(dir: string, ps: number): boolean {
  const path = `${dir}/profile-${Deno.pid}-msync`;
  sys.close(writeFile(path, 1, ps, true));
  try {
    using m: Mapping = mapFile(path, { access: "readwrite" });
    m.bytes[0] = 0x62;
    const dirty = (s: ReturnType<Mapping["smaps"]>) => s.privateDirty + s.sharedDirty;
    if (dirty(m.smaps()) === 0) return false; // a write that does not show as dirty: no telling
    m.sync();
    return dirty(m.smaps()) === 0;
  } finally {
    Deno.removeSync(path);
  }
}

function writable(dir: string): boolean {
  try {
    if (Deno.permissions.querySync({ name: "write", path: dir }).state !== "granted") return false;
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    return true;
  } catch {
    return false;
  }
}

function chooseScratch(candidates: string[], ps: number): ScratchInfo {
  let fallback: ScratchInfo | undefined;
  let passedOver: string | undefined;
  for (const dir of candidates) {
    if (!writable(dir)) {
      passedOver ??= `${dir} cannot be written`;
      continue;
    }
    let cleans = false;
    try {
      cleans = msyncCleansIn(dir, ps);
    } catch { /* cannot map files there */ }
    const info: ScratchInfo = { dir, fileSystem: fileSystemOf(dir).name, msyncCleans: cleans };
    if (cleans) return passedOver ? { ...info, reason: passedOver } : info;
    passedOver ??= `${dir} is on ${info.fileSystem}, where msync cleans no page`;
    fallback ??= info;
  }
  if (!fallback) throw new Error(`no writable scratch directory among ${candidates.join(", ")}`);
  return fallback;
}

/**
 * Measures every fact of the profile, in this process (its calls stay out
 * of the call record). Creates and removes a few small files in the chosen
 * scratch directory.
 *
 * @example
 * ```ts ignore
 * const profile = measureKernelProfile({ scratchCandidates: ["/var/tmp/mmap-lab"] });
 * console.log(profile.zeroPage ? "zero page" : "allocates", profile.costMs);
 * ```
 */
export function measureKernelProfile(options: MeasureOptions): KernelProfile {
  return withoutRecording(() => {
    const start = performance.now();
    const ps = sys.pageSize();
    const scratch = chooseScratch(options.scratchCandidates, ps);
    const anon = zeroPageOnRead(ps);
    const files = fileFaults(scratch.dir, ps);
    const version = textOf("/proc/version") ?? "";
    const profile: KernelProfile = {
      version: 1,
      ...identity(),
      arch: Deno.build.arch,
      wsl: /microsoft/i.test(version),
      measuredAt: new Date().toISOString(),
      costMs: 0,
      pageSize: ps,
      zeroPage: anon.zeroPage,
      faultAround: files.faultAround,
      readAround: files.readAround,
      thp: thpMode(),
      frameNumbersVisible: anon.frameNumbersVisible,
      softDirty: softDirtyWorks(ps),
      execAnonymous: execAnonymousAllowed(ps),
      scratch,
    };
    profile.costMs = Math.round(performance.now() - start);
    return profile;
  });
}

/** The directories a project at `root` tries for scratch files, best first. */
export function scratchCandidates(root: string): string[] {
  return [`${root}/.mmap-lab/scratch`, `/var/tmp/mmap-lab-${uid()}`];
}

/** Options for {@link kernelProfile}. */
export interface KernelProfileOptions {
  /** Measure again even if a cached profile matches. */
  fresh?: boolean;
}

const cache = new Map<string, KernelProfile>();

/**
 * This machine's kernel profile for the project at `root`: read from
 * `<root>/.mmap-lab/kernel-profile.json` when it was measured on this
 * kernel release, boot and user, measured (and saved) otherwise.
 *
 * @example
 * ```ts ignore
 * const profile = kernelProfile(".");
 * console.log(profile.release, profile.scratch.dir);
 * ```
 */
export function kernelProfile(root: string, options: KernelProfileOptions = {}): KernelProfile {
  const id = identity();
  const candidates = scratchCandidates(root);
  const key = JSON.stringify([root, id]);
  const matches = (p: KernelProfile | undefined): p is KernelProfile =>
    p?.version === 1 && p.release === id.release && p.bootId === id.bootId &&
    p.uid === id.uid && candidates.includes(p.scratch?.dir);
  if (!options.fresh) {
    const known = cache.get(key);
    if (matches(known)) return known;
    let saved: KernelProfile | undefined;
    try {
      saved = JSON.parse(Deno.readTextFileSync(profilePath(root))) as KernelProfile;
    } catch { /* none yet, or unreadable: measure */ }
    if (matches(saved)) {
      cache.set(key, saved);
      if (saved.execAnonymous !== undefined) return saved;
      // Saved before this fact was measured: measure it alone, and keep it.
      saved.execAnonymous = withoutRecording(() => execAnonymousAllowed(sys.pageSize()));
      save(root, saved);
      return saved;
    }
  }
  const profile = measureKernelProfile({ scratchCandidates: candidates });
  cache.set(key, profile);
  save(root, profile);
  return profile;
}

function save(root: string, profile: KernelProfile): void {
  try {
    Deno.mkdirSync(`${root}/.mmap-lab`, { recursive: true });
    Deno.writeTextFileSync(profilePath(root), JSON.stringify(profile, null, 2) + "\n");
  } catch { /* read-only project: measure again next time */ }
}

/** Where {@link kernelProfile} keeps the profile of the project at `root`. */
export function profilePath(root: string): string {
  return `${root}/.mmap-lab/kernel-profile.json`;
}

/**
 * A one-line summary of a profile for grade records: the release, the
 * architecture and the facts in which kernels differ (executable anonymous
 * memory only where it is refused).
 *
 * @example
 * ```ts ignore
 * kernelLabel(kernelProfile("."));
 * // "6.18.44 x86_64, 4 KiB pages, reads allocate (no zero page), fault-around 16/512, msync cleans (ext4)"
 * ```
 */
export function kernelLabel(p: KernelProfile): string {
  return [
    `${p.release} ${p.arch}${p.wsl ? " (WSL)" : ""}`,
    `${p.pageSize / 1024} KiB pages`,
    p.zeroPage ? "zero page on read" : "reads allocate (no zero page)",
    `fault-around ${p.faultAround.smallWrites}/${p.faultAround.largeWrite}`,
    p.readAround ? `random read-around ${p.readAround.random}` : "no evictable cache",
    `msync ${p.scratch.msyncCleans ? "cleans" : "cleans nothing"} (${p.scratch.fileSystem})`,
    ...(p.execAnonymous === false ? ["no executable anonymous memory"] : []),
  ].join(", ");
}
