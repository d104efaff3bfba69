/**
 * Child side of lab 09. Two modes:
 * - `answers`: opens every table with the student's `openTable`, pauses (the
 *   checker reads /proc/PID/maps and smaps), looks keys up, pauses again,
 *   closes; returns the answers and how many bytes went through read().
 * - `pages`: for each measured lookup, empties the file's page cache, opens
 *   the table, (optionally) forces an advice on the student's mapping, does
 *   one lookup and counts the pages the kernel read (mincore) and mapped
 *   (pagemap); then measures a small table of timings (notes only).
 */
import {
  defineDrive,
  faultCounts,
  MADV,
  mapFile,
  O,
  procIo,
  studentExport,
  sys,
  withoutRecording,
} from "../../../lib/checker/mod.ts";
import { CacheProbe, evict, findMapping, forceAdvice, mappedPages } from "./cache.ts";

interface Table {
  lookup(key: bigint): unknown;
  close(): void;
}
type OpenTable = (path: string) => Table;

/** Parameters of the `answers` mode. */
export interface AnswersParams {
  mode: "answers";
  tables: { path: string; queries: string[] }[];
}

/** One table of the `pages` mode. */
export interface PagesTable {
  path: string;
  pages: number;
  keys: string[];
  /** Stop measuring bigger tables if the median exceeds this. */
  bound: number;
}

/** Parameters of the `pages` mode. */
export interface PagesParams {
  mode: "pages";
  tables: PagesTable[];
  /** Pages one read fault maps on this kernel (fault-around, from the kernel profile). */
  window: number;
  /** Measure the student's own advice and MADV_NORMAL on the last table, and the timings. */
  extras: boolean;
}

/** One measured lookup. */
export interface LookupPages {
  /** Pages of the file brought into the page cache by the lookup (mincore delta). */
  read: number;
  /** Pages of the file already in the cache before the lookup (should be 0). */
  before: number;
  /** Pages mapped in the student's mapping after the lookup (pagemap). */
  present: number;
  /** Fault-around windows (`PagesParams.window` pages each) those pages fall in. */
  windows: number;
  /** Page faults the process took during the lookup (minor + major). */
  faults: number;
  major: number;
  found: boolean;
  /** Whether the student's mapping was there when openTable returned. */
  mapped: boolean;
}

/** One table's measurements. */
export interface TablePages {
  pages: number;
  lookups: LookupPages[];
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.floor((s.length - 1) / 2)];
}

function answer(value: unknown): string | null | { type: string } {
  if (value === undefined || value === null) return null;
  if (typeof value === "string") return value;
  return { type: typeof value };
}

function measure(
  openTable: OpenTable,
  probe: CacheProbe,
  path: string,
  key: bigint,
  force: number | null,
  window: number,
): LookupPages {
  evict(path);
  const before = probe.resident();
  const table = openTable(path);
  const area = findMapping(path, probe.mapping.address);
  if (area && force !== null) forceAdvice(area, force);
  const f0 = sys.getrusage();
  const value = table.lookup(key);
  const f1 = sys.getrusage();
  const read = probe.resident() - before;
  const mapped = area ? mappedPages(area, window) : { present: 0, windows: 0 };
  table.close();
  return {
    read,
    before,
    present: mapped.present,
    windows: mapped.windows,
    faults: f1.minorFaults - f0.minorFaults + f1.majorFaults - f0.majorFaults,
    major: f1.majorFaults - f0.majorFaults,
    found: typeof value === "string",
    mapped: area !== undefined,
  };
}

let checksum = 0;
function sumWords(words: Uint32Array): void {
  let sum = 0;
  for (let i = 0; i < words.length; i++) sum = (sum + words[i]) | 0;
  checksum ^= sum; // keep the loop from being optimised away
}

/** Timings for the notes: never graded. */
function timings(openTable: OpenTable, path: string): Record<string, number> {
  return withoutRecording(() => {
    const out: Record<string, number> = {};
    const size = Deno.statSync(path).size;
    const count = size / 32;
    // Warm the cache: read the whole file once.
    const fd = sys.open(path, O.RDONLY | O.CLOEXEC);
    const chunk = new Uint8Array(1 << 16);
    for (let at = 0; at < size; at += chunk.length) sys.pread(fd, chunk, at);
    // Keys to look up, picked through a mapping of our own.
    const keys: bigint[] = [];
    {
      using m = mapFile(path);
      const view = new DataView(m.bytes.buffer);
      for (let i = 0; i < 2000; i++) {
        keys.push(view.getBigUint64(Math.floor(Math.random() * count) * 32, true));
      }
    }
    // Random lookups through the student's mapping.
    const table = openTable(path);
    for (const k of keys.slice(0, 200)) table.lookup(k); // let the JIT settle
    let t = performance.now();
    for (const k of keys) table.lookup(k);
    out.mmapLookupMicros = (performance.now() - t) * 1000 / keys.length;
    table.close();
    // Random lookups with pread(): one system call per probe.
    const keyBuf = new Uint8Array(8);
    const keyView = new DataView(keyBuf.buffer);
    const preadLookup = (key: bigint) => {
      let lo = 0, hi = count - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        sys.pread(fd, keyBuf, mid * 32);
        const k = keyView.getBigUint64(0, true);
        if (k === key) return mid;
        if (k < key) lo = mid + 1;
        else hi = mid - 1;
      }
      return -1;
    };
    for (const k of keys.slice(0, 200)) preadLookup(k);
    t = performance.now();
    for (const k of keys) preadLookup(k);
    out.preadLookupMicros = (performance.now() - t) * 1000 / keys.length;
    // Sequential scans: sum every 32-bit word of the file; best of 3 runs.
    const scan = (advice: "sequential" | "random") => {
      let best = { ms: Infinity, faults: 0 };
      for (let run = 0; run < 3; run++) {
        using m = mapFile(path);
        m.advise(advice);
        const f0 = faultCounts().minor;
        const t0 = performance.now();
        sumWords(new Uint32Array(m.bytes.buffer));
        const ms = performance.now() - t0;
        if (ms < best.ms) best = { ms, faults: faultCounts().minor - f0 };
      }
      return best;
    };
    const seq = scan("sequential");
    const rnd = scan("random");
    out.scanMmapMs = seq.ms;
    out.scanMmapFaults = seq.faults;
    out.scanRandomAdviceMs = rnd.ms;
    out.scanRandomAdviceFaults = rnd.faults;
    const words = new Uint32Array(chunk.buffer);
    let best = Infinity, calls = 0;
    for (let run = 0; run < 3; run++) {
      const t0 = performance.now();
      calls = 0;
      for (let at = 0; at < size; at += chunk.length) {
        sys.pread(fd, chunk, at);
        calls++;
        sumWords(words);
      }
      best = Math.min(best, performance.now() - t0);
    }
    out.scanReadMs = best;
    out.scanReadCalls = calls;
    sys.close(fd);
    out.pages = size / sys.pageSize();
    return out;
  });
}

export default defineDrive<AnswersParams | PagesParams>(async (ctx) => {
  const openTable = studentExport<OpenTable>(ctx, "openTable");
  const params = ctx.params;
  if (params.mode === "answers") {
    const io0 = procIo("self");
    const tables = params.tables.map((t) => openTable(t.path));
    await ctx.checkpoint("opened");
    const answers = params.tables.map((t, i) =>
      t.queries.map((q) => answer(tables[i].lookup(BigInt(q))))
    );
    const io1 = procIo("self");
    await ctx.checkpoint("looked-up");
    for (const t of tables) t.close();
    return { answers, rchar: io1.rchar - io0.rchar };
  }

  const results: TablePages[] = [];
  let stopped = false;
  let evictable = true;
  for (const t of params.tables) {
    const probe = new CacheProbe(t.path);
    evict(t.path);
    if (probe.resident() > 0) evictable = false;
    const lookups: LookupPages[] = [];
    for (const key of t.keys) {
      lookups.push(measure(openTable, probe, t.path, BigInt(key), MADV.RANDOM, params.window));
    }
    probe.close();
    results.push({ pages: t.pages, lookups });
    if (median(lookups.map((l) => evictable ? l.read : l.windows)) > t.bound) {
      stopped = true;
      break;
    }
  }
  let ownAdvice: LookupPages[] = [];
  let normalAdvice: LookupPages[] = [];
  let timing: Record<string, number> | undefined;
  if (params.extras && !stopped) {
    const last = params.tables[params.tables.length - 1];
    const probe = new CacheProbe(last.path);
    const keys = last.keys.slice(0, 3).map(BigInt);
    ownAdvice = keys.map((k) => measure(openTable, probe, last.path, k, null, params.window));
    normalAdvice = keys.map((k) =>
      measure(openTable, probe, last.path, k, MADV.NORMAL, params.window)
    );
    probe.close();
    timing = timings(openTable, last.path);
  }
  const predicted = ctx.student.PREDICTED_PAGES_PER_LOOKUP ?? null;
  return { results, stopped, evictable, ownAdvice, normalAdvice, timing, predicted };
});
