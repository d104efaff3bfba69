/**
 * Seeing memory: what the kernel says about a mapping, per mapping
 * (`/proc/PID/smaps`), per page (`/proc/PID/pagemap`, `mincore`) and per
 * process (fault counters, `/proc/PID/io`, `/proc/PID/maps`).
 *
 * Everything under `/proc` is read through libc (`open`/`pread`), so only
 * `--allow-ffi` is needed: Deno's own file API asks for `--allow-all` there.
 * These reads are never part of the call record.
 *
 * @module
 */

import * as sys from "./sys.ts";
import { assertSupported, FS_MAGIC, O, RUSAGE, SYS } from "./ffi/constants.ts";
import { withoutRecording } from "./trace.ts";

/** A process id, or `"self"`. */
export type Pid = number | "self";

const decoder = new TextDecoder();
/** The buffer {@link readProcBytes} reads into (it only grows). */
let readBuffer = new Uint8Array(64 * 1024);

function readProcBytes(path: string, at = 0, count?: number): Uint8Array<ArrayBuffer> {
  return withoutRecording(() => {
    const fd = sys.open(path, O.RDONLY | O.CLOEXEC);
    try {
      if (count !== undefined) {
        const buf = new Uint8Array(count);
        let got = 0;
        while (got < count) {
          const n = sys.pread(fd, buf.subarray(got) as Uint8Array<ArrayBuffer>, at + got);
          if (n === 0) break;
          got += n;
        }
        return buf.subarray(0, got) as Uint8Array<ArrayBuffer>;
      }
      // One buffer for every read, grown as needed: /proc files are read often.
      let total = 0;
      for (;;) {
        if (total === readBuffer.length) {
          const bigger = new Uint8Array(readBuffer.length * 2);
          bigger.set(readBuffer);
          readBuffer = bigger;
        }
        const n = sys.pread(fd, readBuffer.subarray(total), at + total);
        if (n === 0) break;
        total += n;
      }
      return readBuffer.slice(0, total);
    } finally {
      sys.close(fd);
    }
  });
}

/**
 * Reads a text file under `/proc` (or anywhere) through libc, with
 * `--allow-ffi` only.
 *
 * @example
 * ```ts
 * const status = readProcText("/proc/self/status");
 * console.log(status.split("\n")[0]); // Name:	deno
 * ```
 */
export function readProcText(path: string): string {
  return decoder.decode(readProcBytes(path));
}

/** One line of `/proc/PID/maps`: a virtual memory area. */
export interface MapsEntry {
  /** First address. */
  start: bigint;
  /** One past the last address. */
  end: bigint;
  /** Permissions as the kernel writes them, e.g. `"rw-s"` (`s` shared, `p` private). */
  perms: string;
  /** Offset into the file, bytes. */
  offset: number;
  /** The file's inode number (0 for anonymous memory). */
  inode: number;
  /** The file's path, `[heap]`, `[stack]`, `/memfd:name (deleted)`, or `""` for anonymous memory. */
  path: string;
}

const HEADER = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) \S+ (\d+)\s*(.*)$/;

function parseHeader(line: string): MapsEntry | undefined {
  const m = HEADER.exec(line);
  if (!m) return undefined;
  return {
    start: BigInt("0x" + m[1]),
    end: BigInt("0x" + m[2]),
    perms: m[3],
    offset: parseInt(m[4], 16),
    inode: Number(m[5]),
    path: m[6],
  };
}

/**
 * The memory areas of a process, from `/proc/PID/maps`.
 *
 * @example
 * ```ts
 * const areas = procMaps("self");
 * console.log(areas.some((a) => a.path === "[stack]")); // true
 * ```
 */
export function procMaps(pid: Pid = "self"): MapsEntry[] {
  const out: MapsEntry[] = [];
  for (const line of readProcText(`/proc/${pid}/maps`).split("\n")) {
    const entry = parseHeader(line);
    if (entry) out.push(entry);
  }
  return out;
}

/** One entry of `/proc/PID/smaps`; sizes in bytes. */
export interface SmapsEntry extends MapsEntry {
  /** Size of the area. */
  size: number;
  /** Resident set: bytes of this area in RAM now. */
  rss: number;
  /** Proportional share of `rss` (shared pages divided among their users). */
  pss: number;
  /** Clean pages mapped by more than one process. */
  sharedClean: number;
  /** Dirty pages mapped by more than one process. */
  sharedDirty: number;
  /** Clean pages mapped only here. */
  privateClean: number;
  /** Dirty pages mapped only here. */
  privateDirty: number;
  /** Pages referenced recently. */
  referenced: number;
  /** Anonymous pages: for a private file mapping, the copied-on-write pages. */
  anonymous: number;
  /** Bytes swapped out. */
  swap: number;
  /** Two-letter flags, e.g. `["rd", "wr", "sh", "mr", "mw", "me", "ms", "sr"]`. */
  vmFlags: string[];
  /** Every `Name: N kB` field, in bytes, by the kernel's name. */
  fields: Record<string, number>;
}

function parseSmaps(text: string): SmapsEntry[] {
  const out: SmapsEntry[] = [];
  let current: SmapsEntry | undefined;
  for (const line of text.split("\n")) {
    const header = parseHeader(line);
    if (header) {
      current = {
        ...header,
        size: 0,
        rss: 0,
        pss: 0,
        sharedClean: 0,
        sharedDirty: 0,
        privateClean: 0,
        privateDirty: 0,
        referenced: 0,
        anonymous: 0,
        swap: 0,
        vmFlags: [],
        fields: {},
      };
      out.push(current);
      continue;
    }
    if (!current) continue;
    if (line.startsWith("VmFlags:")) {
      current.vmFlags = line.slice(8).trim().split(/\s+/).filter(Boolean);
      continue;
    }
    const field = /^(\w+):\s+(\d+) kB$/.exec(line);
    if (field) current.fields[field[1]] = Number(field[2]) * 1024;
  }
  for (const e of out) {
    const f = e.fields;
    e.size = f.Size ?? 0;
    e.rss = f.Rss ?? 0;
    e.pss = f.Pss ?? 0;
    e.sharedClean = f.Shared_Clean ?? 0;
    e.sharedDirty = f.Shared_Dirty ?? 0;
    e.privateClean = f.Private_Clean ?? 0;
    e.privateDirty = f.Private_Dirty ?? 0;
    e.referenced = f.Referenced ?? 0;
    e.anonymous = f.Anonymous ?? 0;
    e.swap = f.Swap ?? 0;
  }
  return out;
}

/** A range of addresses: anything with a start address and a length, like a `Mapping`. */
export interface AddressRange {
  /** First address. */
  address: bigint;
  /** Length in bytes. */
  length: number;
}

/**
 * The smaps entries of a process; with `range`, only those overlapping it
 * (an area split by `mprotect` shows up as several).
 *
 * @example
 * ```ts
 * import { mapAnonymous } from "./mod.ts";
 * using m = mapAnonymous(4096);
 * m.bytes[0] = 1;
 * console.log(smaps("self", m)[0].anonymous); // 4096
 * ```
 */
export function smaps(pid: Pid = "self", range?: AddressRange): SmapsEntry[] {
  const all = parseSmaps(readProcText(`/proc/${pid}/smaps`));
  if (!range) return all;
  const end = range.address + BigInt(range.length);
  return all.filter((e) => e.start < end && e.end > range.address);
}

/** What `/proc/PID/pagemap` says about one virtual page. */
export interface PageInfo {
  /** Bit 63: the page is in RAM and mapped here. */
  present: boolean;
  /** Bit 62: the page is in swap. */
  swapped: boolean;
  /** Bit 61: a page-cache (file) page or shared anonymous memory; cleared by copy-on-write. */
  fileOrShared: boolean;
  /** Bit 56: mapped by this process only. */
  exclusive: boolean;
  /** Bit 55: written since the soft-dirty bits were last cleared. */
  softDirty: boolean;
  /** Bits 0–54: the physical frame number, or `null` when the kernel hides it (no CAP_SYS_ADMIN). */
  frame: bigint | null;
}

/**
 * The pagemap entries of `pages` consecutive virtual pages from `address`.
 *
 * @example
 * ```ts
 * import { mapAnonymous } from "./mod.ts";
 * using m = mapAnonymous(2 * 4096);
 * m.bytes[0] = 1;
 * const [first, second] = pagemap(m.address, 2);
 * console.log(first.present, second.present); // true false
 * ```
 */
export function pagemap(address: bigint, pages: number, pid: Pid = "self"): PageInfo[] {
  const size = BigInt(sys.pageSize());
  const at = Number((address / size) * 8n);
  const bytes = readProcBytes(`/proc/${pid}/pagemap`, at, pages * 8);
  const words = new BigUint64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
  return Array.from(words, (w) => {
    const frame = w & ((1n << 55n) - 1n);
    const present = (w >> 63n & 1n) === 1n;
    return {
      present,
      swapped: (w >> 62n & 1n) === 1n,
      fileOrShared: (w >> 61n & 1n) === 1n,
      exclusive: (w >> 56n & 1n) === 1n,
      softDirty: (w >> 55n & 1n) === 1n,
      frame: present && frame !== 0n ? frame : null,
    };
  });
}

/** A process's line of `/proc/PID/stat`, the fields mmap-lab uses, by name. */
export interface ProcStat {
  /** The process id (field 1). */
  pid: number;
  /** The command name, without the parentheses (field 2). */
  command: string;
  /** State letter (field 3): `R` running, `S` asleep, `T` stopped, `Z` zombie, `X` dead… */
  state: string;
  /** Parent process id (field 4). */
  ppid: number;
  /** Process group id (field 5). */
  processGroup: number;
  /** Session id (field 6). */
  session: number;
  /** Minor page faults (field 10, `minflt`). */
  minorFaults: number;
  /** Major page faults (field 12, `majflt`). */
  majorFaults: number;
  /** User CPU time, clock ticks (field 14, `utime`). */
  userTicks: number;
  /** System CPU time, clock ticks (field 15, `stime`). */
  systemTicks: number;
  /** When the process started, clock ticks after boot (field 22, `starttime`): with the pid, names one process. */
  startTicks: number;
}

/**
 * Parses `/proc/PID/stat`. The command name may hold spaces and
 * parentheses, so the fields after it are found from its last `)`. Throws
 * (an `MmapError` from `open`) when the process is gone or `/proc` cannot be
 * read.
 *
 * @example
 * ```ts
 * const stat = procStat(Deno.pid);
 * console.log(stat.state, stat.ppid > 0); // R true
 * ```
 */
export function procStat(pid: Pid = "self"): ProcStat {
  return parseStat(readProcText(`/proc/${pid}/stat`));
}

/**
 * One thread's line of `/proc/PID/task/TID/stat`, parsed as
 * {@link procStat} does: its own state, faults and CPU time (the main
 * thread's, `tid` = `pid`, by default). Throws when the thread is gone.
 *
 * @example
 * ```ts
 * const main = threadStat(Deno.pid); // the thread running this code
 * console.log(main.minorFaults <= procStat(Deno.pid).minorFaults); // true
 * ```
 */
export function threadStat(pid: number, tid: number = pid): ProcStat {
  return parseStat(readProcText(`/proc/${pid}/task/${tid}/stat`));
}

function parseStat(text: string): ProcStat {
  const close = text.lastIndexOf(")");
  // After "pid (comm) ", field 3 (state) is index 0.
  const f = text.slice(close + 2).split(" ");
  return {
    pid: Number(text.slice(0, text.indexOf(" ("))),
    command: text.slice(text.indexOf("(") + 1, close),
    state: f[0],
    ppid: Number(f[1]),
    processGroup: Number(f[2]),
    session: Number(f[3]),
    minorFaults: Number(f[7]),
    majorFaults: Number(f[9]),
    userTicks: Number(f[11]),
    systemTicks: Number(f[12]),
    startTicks: Number(f[19]),
  };
}

/** Page fault counters. */
export interface FaultCounts {
  /** Faults served from memory (first touch, copy-on-write, write-protect after msync). */
  minor: number;
  /** Faults that waited for I/O. */
  major: number;
}

/**
 * Fault counters of this process (`getrusage`) or of another (`/proc/PID/stat`).
 *
 * @example
 * ```ts
 * import { mapAnonymous } from "./mod.ts";
 * using m = mapAnonymous(8 * 4096);
 * const before = faultCounts();
 * for (let i = 0; i < 8; i++) m.bytes[i * 4096] = 1;
 * console.log(faultCounts().minor - before.minor); // 8
 * ```
 */
export function faultCounts(pid: Pid = "self"): FaultCounts {
  if (pid === "self") {
    const usage = sys.getrusage();
    return { minor: usage.minorFaults, major: usage.majorFaults };
  }
  const stat = procStat(pid);
  return { minor: stat.minorFaults, major: stat.majorFaults };
}

/**
 * Fault counters of the calling thread only (`getrusage(RUSAGE_THREAD)`).
 * Deno runs helper threads (V8's garbage collector, I/O) that fault pages
 * too; around a piece of code on the main thread this count has none of
 * their noise.
 *
 * @example
 * ```ts
 * import { mapAnonymous } from "./mod.ts";
 * using m = mapAnonymous(8 * 4096);
 * const before = threadFaultCounts();
 * for (let i = 0; i < 8; i++) m.bytes[i * 4096] = 1;
 * console.log(threadFaultCounts().minor - before.minor); // 8
 * ```
 */
export function threadFaultCounts(): FaultCounts {
  const usage = sys.getrusage(RUSAGE.THREAD);
  return { minor: usage.minorFaults, major: usage.majorFaults };
}

/** How a process stands right now, as seen from outside (`/proc/PID/{stat,syscall,wchan}`). */
export interface ProcessState {
  /** State letter of the main thread: `R` running, `S` asleep, `T` stopped, `Z` zombie… */
  state: string;
  /** User + system CPU time of the process, in clock ticks. */
  cpuTicks: number;
  /** When the main thread is blocked in `futex()`: the address it waits on. */
  futexAddress?: bigint;
  /** Whether `/proc/PID/syscall` was readable (it needs ptrace rights over the process). */
  syscallReadable: boolean;
  /** The kernel function it sleeps in (`/proc/PID/wchan`), `""` when hidden. */
  wchan: string;
}

/**
 * What a process is doing now: running or asleep, its CPU time, and the futex
 * word it waits on, if any. `undefined` once the process is gone. For
 * checkers that must tell a sleeping waiter from a spinning one.
 *
 * @example
 * ```ts
 * console.log(processState(Deno.pid)?.state); // "R"
 * ```
 */
export function processState(pid: number): ProcessState | undefined {
  let stat: ProcStat;
  try {
    stat = procStat(pid);
  } catch {
    return undefined;
  }
  const out: ProcessState = {
    state: stat.state,
    cpuTicks: stat.userTicks + stat.systemTicks,
    syscallReadable: true,
    wchan: "",
  };
  try {
    const sc = readProcText(`/proc/${pid}/syscall`).trim().split(" ");
    if (Number(sc[0]) === SYS[assertSupported()].futex) out.futexAddress = BigInt(sc[1]);
  } catch {
    out.syscallReadable = false;
  }
  try {
    out.wchan = readProcText(`/proc/${pid}/wchan`).trim();
  } catch { /* hidden */ }
  return out;
}

/** I/O counters of a process, from `/proc/PID/io`. */
export interface IoCounters {
  /** Bytes read through read()-like calls (page cache included). */
  rchar: number;
  /** Bytes written through write()-like calls. */
  wchar: number;
  /** Number of read()-like calls. */
  syscr: number;
  /** Number of write()-like calls. */
  syscw: number;
  /** Bytes really fetched from storage. */
  readBytes: number;
  /** Bytes really sent to storage. */
  writeBytes: number;
}

/**
 * The I/O counters of a process: did it read the file with read(), or
 * through a mapping?
 *
 * @example
 * ```ts
 * console.log(procIo("self").rchar > 0); // true: Deno read its own files
 * ```
 */
export function procIo(pid: Pid = "self"): IoCounters {
  const values: Record<string, number> = {};
  for (const line of readProcText(`/proc/${pid}/io`).split("\n")) {
    const [key, value] = line.split(":");
    if (value !== undefined) values[key.trim()] = Number(value.trim());
  }
  return {
    rchar: values.rchar ?? 0,
    wchar: values.wchar ?? 0,
    syscr: values.syscr ?? 0,
    syscw: values.syscw ?? 0,
    readBytes: values.read_bytes ?? 0,
    writeBytes: values.write_bytes ?? 0,
  };
}

/** The kind of file system a path lives on. */
export interface FileSystemInfo {
  /** The `statfs` magic number. */
  type: number;
  /** A name for it: `"ext4"`, `"tmpfs"`, … or the hex magic. */
  name: string;
  /** `false` on tmpfs: no writeback there, so `msync` never cleans a page. */
  diskBacked: boolean;
}

/**
 * Which file system holds `path`, and whether it writes back to storage (not
 * tmpfs).
 *
 * @example
 * ```ts
 * console.log(fileSystemOf(".").diskBacked);
 * ```
 */
export function fileSystemOf(path: string): FileSystemInfo {
  const type = withoutRecording(() => sys.fileSystemType(path));
  const entry = Object.entries(FS_MAGIC).find(([, magic]) => magic === type);
  const name = entry ? entry[0].toLowerCase() : `0x${type.toString(16)}`;
  return { type, name, diskBacked: type !== FS_MAGIC.TMPFS && type !== FS_MAGIC.PROC };
}

/** How a page of a mapping stands, as drawn by `drawPages`. */
export type PageState =
  | "absent"
  | "swapped"
  | "file"
  | "copied"
  | "own"
  | "zero"
  | "shared";

/** The kind of mapping a page belongs to; it decides what the pagemap bits mean. */
export type MappingKind = "file-shared" | "file-private" | "anonymous-private" | "anonymous-shared";

/**
 * Names the state of one page from its pagemap bits:
 * - `absent`: never touched (or discarded); `swapped`: in swap;
 * - `file`: the file's page-cache page itself (shared mapping, or a private one not yet written);
 * - `copied`: a private file page after copy-on-write: this process's own copy;
 * - `own`: a private anonymous page of this process's own (written, or read on a kernel that maps
 *   no zero page); `zero`: one only read, mapped to the shared zero page;
 * - `shared`: shared anonymous memory (memfd, `MAP_SHARED|MAP_ANONYMOUS`).
 *
 * @example
 * ```ts
 * const page = { present: true, swapped: false, fileOrShared: false, exclusive: true, softDirty: true, frame: null };
 * console.log(pageState(page, "file-private")); // "copied"
 * ```
 */
export function pageState(page: PageInfo, kind: MappingKind): PageState {
  if (page.swapped) return "swapped";
  if (!page.present) return "absent";
  switch (kind) {
    case "file-shared":
      return "file";
    case "file-private":
      return page.fileOrShared ? "file" : "copied";
    case "anonymous-private":
      return page.exclusive ? "own" : "zero";
    case "anonymous-shared":
      return "shared";
  }
}
