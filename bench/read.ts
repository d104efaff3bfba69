/**
 * Section 2: reading a cached file. A sequential scan that sums every byte
 * through a mapping against `Deno.FsFile` reads in 1 MiB chunks into one
 * reused buffer, with the very same summing loop; then random 4 KiB reads
 * through a mapping against seek + read. The C program gives the ceiling.
 *
 * The file is made once under `.mmap-lab/bench/`, flushed to disk (so no
 * writeback runs during the timing) and read once to warm the page cache.
 *
 * @module
 */

import { MADV, mapFile, type Mapping, sys } from "../lib/mod.ts";
import {
  type BenchOptions,
  measure,
  progress,
  ratio,
  ratios,
  type Section,
  type Variant,
} from "./harness.ts";
import { type Native, runNative, WORK_DIR } from "./native.ts";

const MiB = 1 << 20;
const PAGE = 4096;

/**
 * The one summing loop, used by every JavaScript variant: plain indexed
 * reads of a Uint8Array into an int32 sum (mod 2^32, like the C `uint32_t`).
 */
function sumBytes(bytes: Uint8Array, start: number, end: number, sum: number): number {
  for (let i = start; i < end; i++) sum = (sum + bytes[i]) | 0;
  return sum;
}

/** The few bytes summed of each random 4 KiB page: 8 bytes, 512 apart (C: `sum8`). */
function sumPage(bytes: Uint8Array, start: number, sum: number): number {
  for (let k = 0; k < PAGE; k += 512) sum = (sum + bytes[start + k]) | 0;
  return sum;
}

/**
 * The random page sequence is xorshift32, the C program's `next_rand`, kept
 * inline in each loop (an int32 local: the same bits as the C `uint32_t`,
 * and no heap number per step): `x ^= x << 13; x ^= x >>> 17; x ^= x << 5`.
 */
const SEED = 20240611;

async function ensureFile(path: string, size: number): Promise<string> {
  try {
    if ((await Deno.stat(path)).size === size) return "reused";
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  progress(`creating ${path} (${size / MiB} MiB)`);
  const tmp = `${path}.tmp${Deno.pid}`;
  const chunk = new Uint8Array(MiB);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 31 + (i >>> 12)) & 255;
  using file = await Deno.open(tmp, { write: true, create: true, truncate: true });
  for (let c = 0; c < size / MiB; c++) {
    chunk[0] = c & 255;
    chunk[1] = (c >>> 8) & 255;
    let written = 0;
    while (written < chunk.length) written += file.writeSync(chunk.subarray(written));
  }
  file.syncSync(); // on disk now: no writeback during the timing
  await Deno.rename(tmp, path);
  return "created";
}

/** Reads a whole file in 1 MiB chunks (warms the page cache); returns the byte sum. */
function chunkedScan(path: string, buffer: Uint8Array): number {
  using file = Deno.openSync(path, { read: true });
  let sum = 0;
  for (;;) {
    const n = file.readSync(buffer);
    if (n === null) break;
    sum = sumBytes(buffer, 0, n, sum);
  }
  return sum;
}

function mappedScan(path: string): number {
  using m = mapFile(path);
  return sumBytes(m.bytes, 0, m.length, 0);
}

/** How a variant prepares its mapping before the scan: the plain one does nothing. */
type Prepare = (m: Mapping) => void;

/** `MADV_POPULATE_READ` (Linux 5.14+): fault every page in, read-only, before the scan. */
const populateRead: Prepare = (m) =>
  sys.madvise(Deno.UnsafePointer.create(m.address), m.length, MADV.POPULATE_READ);

/** `MADV_SEQUENTIAL` (aggressive read-ahead) + `MADV_WILLNEED` (start reading now). */
const adviseSequential: Prepare = (m) => {
  m.advise("sequential");
  m.advise("willneed");
};

/** The mapping scan with the mapping made by `options` and prepared by `prepare`. */
function preparedScan(path: string, options: { populate?: boolean }, prepare?: Prepare): number {
  using m = mapFile(path, options);
  prepare?.(m);
  return sumBytes(m.bytes, 0, m.length, 0);
}

/** Whether this kernel takes `MADV_POPULATE_READ` (Linux 5.14+; EINVAL before). */
function hasPopulateRead(path: string): boolean {
  try {
    using m = mapFile(path, { length: PAGE });
    populateRead(m);
    return true;
  } catch {
    return false;
  }
}

/** The summing loop alone over `total` bytes of one 1 MiB buffer: it stays in the CPU's cache. */
function hotLoop(buffer: Uint8Array, total: number): number {
  let sum = 0;
  for (let done = 0; done < total; done += buffer.length) {
    sum = sumBytes(buffer, 0, buffer.length, sum);
  }
  return sum;
}

function mappedRandom(
  path: string,
  reads: number,
  seed: number,
  options: { populate?: boolean } = {},
): number {
  using m = mapFile(path, options);
  const bytes = m.bytes;
  const pages = Math.floor(m.length / PAGE);
  let x = seed | 0;
  let sum = 0;
  for (let i = 0; i < reads; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    sum = sumPage(bytes, ((x >>> 0) % pages) * PAGE, sum);
  }
  return sum;
}

function seekReadRandom(path: string, reads: number, seed: number, buffer: Uint8Array): number {
  using file = Deno.openSync(path, { read: true });
  const pages = Math.floor(file.statSync().size / PAGE);
  let x = seed | 0;
  let sum = 0;
  for (let i = 0; i < reads; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    file.seekSync(((x >>> 0) % pages) * PAGE, Deno.SeekMode.Start);
    let got = 0;
    while (got < PAGE) {
      const n = file.readSync(got === 0 ? buffer : buffer.subarray(got));
      if (n === null) throw new Error("unexpected end of file");
      got += n;
    }
    sum = sumPage(buffer, 0, sum);
  }
  return sum;
}

/** Section 2: sequential and random reads of a cached file. */
export async function readSection(opts: BenchOptions, native: Native): Promise<Section> {
  const rounds = opts.rounds ?? (opts.quick ? 1 : 7);
  const size = opts.quick ? 16 * MiB : 256 * MiB;
  const reads = opts.quick ? 2_000 : 100_000;
  const seed = SEED;
  const path = `${WORK_DIR}/cached-${size / MiB}MiB.bin`;
  const made = await ensureFile(path, size);

  // Warm the page cache, and check it is warm.
  const chunk = new Uint8Array(MiB);
  const expected = chunkedScan(path, chunk) >>> 0;
  let resident: number;
  {
    using m = mapFile(path);
    const pages = m.residency();
    resident = pages.filter((p) => p).length / pages.length;
  }
  const page = new Uint8Array(PAGE);
  const expectedRandom = mappedRandom(path, reads, seed) >>> 0;

  const checks: string[] = [];
  const check = (what: string, got: number, want: number) => {
    if ((got >>> 0) !== want) checks.push(`${what}: checksum ${got >>> 0}, expected ${want}`);
  };
  const gbps = (bytes: number, ms: number) => bytes / (ms * 1e6);
  const timed = (fn: () => number, what: string, want: number) => {
    const t0 = performance.now();
    const sum = fn();
    const ms = performance.now() - t0;
    check(what, sum, want);
    return ms;
  };
  const pageRate = (ns: number) => `= ${(PAGE / ns).toFixed(2)} GB/s of 4 KiB pages`;

  const variants: Variant[] = [
    {
      id: "seq.map",
      group: `sequential ${size / MiB} MiB`,
      name: "mapping (mapFile + scan + unmap)",
      unit: "GB/s",
      ops: size,
      warmup: () => mappedScan(path),
      run: () => gbps(size, timed(() => mappedScan(path), "mapping scan", expected)),
    },
    {
      id: "seq.read",
      group: `sequential ${size / MiB} MiB`,
      name: "FsFile.readSync, 1 MiB chunks",
      unit: "GB/s",
      ops: size,
      warmup: () => chunkedScan(path, chunk),
      run: () => gbps(size, timed(() => chunkedScan(path, chunk), "chunked read", expected)),
    },
  ];
  // How close can a mapping get to the loop's own ceiling? The same scan with the page
  // faults taken up front (MAP_POPULATE, MADV_POPULATE_READ) or with read-ahead advice, and the
  // loop alone over memory that needs no fault: a heap copy of the file (too big for the CPU's
  // cache, like the mapping) and one 1 MiB buffer summed again and again (always in cache).
  const seqGroup = `sequential ${size / MiB} MiB`;
  const gb = (fn: () => number, what: string, want: number) => gbps(size, timed(fn, what, want));
  variants.push(
    {
      id: "seq.map.populate",
      group: seqGroup,
      name: "mapping, MAP_POPULATE",
      unit: "GB/s",
      ops: size,
      run: () => gb(() => preparedScan(path, { populate: true }), "MAP_POPULATE scan", expected),
    },
    {
      id: "seq.map.advised",
      group: seqGroup,
      name: "mapping, MADV_SEQUENTIAL + WILLNEED",
      unit: "GB/s",
      ops: size,
      run: () => gb(() => preparedScan(path, {}, adviseSequential), "advised scan", expected),
    },
  );
  const populateReadOk = hasPopulateRead(path);
  if (populateReadOk) {
    variants.push({
      id: "seq.map.populateRead",
      group: seqGroup,
      name: "mapping, MADV_POPULATE_READ",
      unit: "GB/s",
      ops: size,
      run: () => gb(() => preparedScan(path, {}, populateRead), "POPULATE_READ scan", expected),
    });
  }
  const heap = Deno.readFileSync(path); // the file's bytes in the JS heap: no faults when summed
  const hot = heap.slice(0, MiB);
  const expectedHot = hotLoop(hot, size) >>> 0;
  variants.push(
    {
      id: "seq.loop.heap",
      group: seqGroup,
      name: "the loop alone, over a heap copy (no faults)",
      unit: "GB/s",
      ops: size,
      run: () => gb(() => sumBytes(heap, 0, heap.length, 0), "heap loop", expected),
    },
    {
      id: "seq.loop.hot",
      group: seqGroup,
      name: "the loop alone, 1 MiB in the CPU's cache",
      unit: "GB/s",
      ops: size,
      run: () => gb(() => hotLoop(hot, size), "hot loop", expectedHot),
    },
  );
  if (native.program !== undefined) {
    const program = native.program;
    const cRun = (mode: string, id: string, name: string, group: string, want: number) => ({
      id,
      group,
      name,
      unit: "GB/s" as const,
      ops: size,
      run: async () => {
        const r = await runNative(program, [mode, path]);
        check(name, r.sum, want);
        return r.ops / r.ns;
      },
    });
    variants.push(
      cRun(
        "scan",
        "seq.c.map",
        "C mapping scan (ceiling)",
        `sequential ${size / MiB} MiB`,
        expected,
      ),
      cRun(
        "read",
        "seq.c.read",
        "C read(), 1 MiB chunks",
        `sequential ${size / MiB} MiB`,
        expected,
      ),
    );
  }
  const randomGroup = `random 4 KiB × ${reads}`;
  variants.push(
    {
      id: "rand.map",
      group: randomGroup,
      name: "mapping (mapFile + reads + unmap)",
      unit: "ns/read",
      ops: reads,
      also: pageRate,
      warmup: () => mappedRandom(path, reads >> 2, seed),
      run: () =>
        timed(() => mappedRandom(path, reads, seed), "mapping random", expectedRandom) * 1e6 /
        reads,
    },
    {
      id: "rand.map.populate",
      group: randomGroup,
      name: "mapping, MAP_POPULATE (faults taken up front)",
      unit: "ns/read",
      ops: reads,
      also: pageRate,
      run: () =>
        timed(
          () => mappedRandom(path, reads, seed, { populate: true }),
          "MAP_POPULATE random",
          expectedRandom,
        ) * 1e6 / reads,
    },
    {
      id: "rand.read",
      group: randomGroup,
      name: "FsFile.seekSync + readSync",
      unit: "ns/read",
      ops: reads,
      also: pageRate,
      warmup: () => seekReadRandom(path, reads >> 2, seed, page),
      run: () =>
        timed(() => seekReadRandom(path, reads, seed, page), "seek+read", expectedRandom) * 1e6 /
        reads,
    },
  );
  if (native.program !== undefined) {
    const program = native.program;
    for (
      const [mode, id, name] of [
        ["rmap", "rand.c.map", "C mapping (ceiling)"],
        ["pread", "rand.c.pread", "C pread()"],
      ]
    ) {
      variants.push({
        id,
        group: randomGroup,
        name,
        unit: "ns/read",
        ops: reads,
        also: pageRate,
        run: async () => {
          const r = await runNative(program, [mode, reads, seed, path]);
          check(name, r.sum, expectedRandom);
          return r.ns / r.ops;
        },
      });
    }
  }

  progress(`section 2: ${variants.length} variants × ${rounds} rounds`);
  const results = await measure(variants, rounds);
  if (checks.length > 0) throw new Error(`section 2: wrong sums:\n${checks.join("\n")}`);

  const notes = [
    `file ${made}: ${path.slice(path.indexOf(".mmap-lab"))}; ` +
    `${(resident * 100).toFixed(0)}% of its pages resident (mincore) before timing`,
    "every variant includes opening (and mapping) the file and closing (unmapping) it; " +
    "all sums agree with each other (checked)",
    "the random reads draw the same xorshift32 page sequence in every variant; the mapping " +
    "reads 8 bytes of each page, seek+read copies the page and reads the same 8 bytes",
    "populate and advice variants include the populate (or the advice) in their time: " +
    "MAP_POPULATE and MADV_POPULATE_READ take every page fault before the scan, in the " +
    "kernel, instead of one fault per fault-around window during it",
    "the loop alone: the same summing loop over memory that needs no page fault, once too " +
    "big for the CPU's cache (a heap copy of the file) and once always in it (1 MiB again " +
    "and again): the ceiling a mapping's scan can reach on this machine",
  ];
  if (!populateReadOk) {
    notes.push("MADV_POPULATE_READ: not on this kernel (Linux 5.14+), variant left out");
  }
  if (native.missing) notes.push(native.missing);
  return {
    id: "2",
    title: "Reading a cached file: mapping vs read()",
    description: [
      `same summing loop (Uint8Array index, int32 sum) for every JavaScript variant`,
    ],
    results,
    ratios: ratios(
      ratio(results, "seq.map/read", "sequential: mapping / chunked read", "seq.map", "seq.read", {
        op: ">=",
        value: 1.0,
      }),
      ratio(results, "seq.map/cmap", "sequential: mapping / C mapping", "seq.map", "seq.c.map"),
      ratio(
        results,
        "seq.populate/read",
        "sequential: mapping with MAP_POPULATE / chunked read",
        "seq.map.populate",
        "seq.read",
      ),
      ratio(
        results,
        "seq.map/heap",
        "sequential: mapping / the loop over a heap copy",
        "seq.map",
        "seq.loop.heap",
      ),
      // Times: seek+read time over mapping time is the mapping's speed-up.
      ratio(
        results,
        "rand.read/map",
        "random 4K: mapping speed-up over seek+read",
        "rand.read",
        "rand.map",
        { op: ">=", value: 5 },
      ),
      ratio(
        results,
        "rand.map/cmap",
        "random 4K: mapping time / C mapping time",
        "rand.map",
        "rand.c.map",
      ),
    ),
    notes,
  };
}
