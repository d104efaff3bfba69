/**
 * Section 1: what the wrapper costs. One cycle maps one page, touches it and
 * unmaps it, side by side: the public API (`mapAnonymous` / `mapFile`), the
 * raw layer (`sys.*`), the raw calls touching the page from C instead of a
 * JavaScript view, the C loop called inside this process, and a C program.
 * Then `sync()` of one dirty page.
 *
 * Section 1b finds out why: it calls no-op C functions that have the
 * signatures of `lib/ffi/libc.ts`, so only the FFI call itself is timed. (It
 * is how sys.ts came to pass 64-bit arguments as BigInt and to encode paths
 * into a reused buffer.)
 *
 * @module
 */

import { MAP, mapAnonymous, mapFile, MS, O, PROT, sys } from "../lib/mod.ts";
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

const PAGE = 4096;
const MAP_FAILED = 0xffff_ffff_ffff_ffffn;
const encoder = new TextEncoder();

/** Keeps results alive so no loop is optimised away. */
let sink = 0;

/**
 * The raw layer's way to touch a page: Deno.UnsafePointerView has no setters,
 * so view the page through `UnsafePointerView.getArrayBuffer`, write one
 * byte, and detach the buffer before the unmap (`transfer(0)`, as
 * `Mapping.unmap` does; it is also cheaper than leaving it to the GC: see 1b).
 */
function writeByte(ptr: Deno.PointerObject, length: number): void {
  const buffer = Deno.UnsafePointerView.getArrayBuffer(ptr, length);
  new Uint8Array(buffer)[0] = 1;
  buffer.transfer(0);
}

/** Reads one byte the same way. */
function readByte(ptr: Deno.PointerObject, length: number): number {
  const buffer = Deno.UnsafePointerView.getArrayBuffer(ptr, length);
  const value = new Uint8Array(buffer)[0];
  buffer.transfer(0);
  return value;
}

function timeLoop(n: number, body: (i: number) => void): number {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) body(i);
  return ((performance.now() - t0) * 1e6) / n;
}

function jsVariant(
  id: string,
  group: string,
  name: string,
  n: number,
  body: (i: number) => void,
): Variant {
  return {
    id,
    group,
    name,
    unit: "ns/cycle",
    ops: n,
    warmup: () => timeLoop(Math.max(10, n >> 2), body),
    run: () => timeLoop(n, body),
  };
}

function cVariant(
  native: Native,
  id: string,
  group: string,
  n: number,
  args: (string | number)[],
): Variant[] {
  const program = native.program;
  if (program === undefined) return [];
  return [{
    id,
    group,
    name: "C (cc -O2)",
    unit: "ns/cycle",
    ops: n,
    run: async () => {
      const r = await runNative(program, args);
      sink += r.sum;
      return r.ns / r.ops;
    },
  }];
}

/**
 * The C loop run inside this process through one FFI call (`c/inprocess.c`):
 * the same kernel work in the same address space, without JavaScript.
 */
function inProcessVariants(
  native: Native,
  nAnon: number,
  nFile: number,
  path: string,
) {
  if (native.library === undefined) return { anon: [], file: [], close: () => {} };
  const lib = Deno.dlopen(native.library, {
    cycles_anon: { parameters: ["i64"], result: "i64" },
    cycles_file: { parameters: ["i64", "buffer"], result: "i64" },
    touch_byte: { parameters: ["pointer"], result: "void" },
    peek_byte: { parameters: ["pointer"], result: "i32" },
  });
  const { cycles_anon, cycles_file, touch_byte, peek_byte } = lib.symbols;
  const encodedPath = encoder.encode(path + "\0");
  const run = (n: number, cycles: () => bigint) => {
    const t0 = performance.now();
    const sum = cycles();
    const ns = ((performance.now() - t0) * 1e6) / n;
    if (sum < 0n) throw new Error(`in-process C cycles failed (errno ${sys.errno()})`);
    return ns;
  };
  const inC = (id: string, group: string, n: number, cycles: () => bigint): Variant => ({
    id,
    group,
    name: "C loop inside this process",
    unit: "ns/cycle",
    ops: n,
    warmup: () => cycles(),
    run: () => run(n, cycles),
  });
  const RW = PROT.READ | PROT.WRITE;
  const ANON = MAP.PRIVATE | MAP.ANONYMOUS;
  const name = "raw, touch in C (no view)";
  return {
    anon: [
      inC("anon.cin", "anonymous 4 KiB", nAnon, () => cycles_anon(BigInt(nAnon))),
      jsVariant("anon.noview", "anonymous 4 KiB", name, nAnon, () => {
        const p = sys.mmap(null, PAGE, RW, ANON, -1, 0);
        touch_byte(p);
        sys.munmap(p, PAGE);
      }),
    ],
    file: [
      inC("file.cin", "file 4 KiB, read", nFile, () => cycles_file(BigInt(nFile), encodedPath)),
      jsVariant("file.noview", "file 4 KiB, read", name, nFile, () => {
        const fd = sys.open(path, O.RDONLY | O.CLOEXEC);
        const size = sys.fileSize(fd);
        const p = sys.mmap(null, size, PROT.READ, MAP.SHARED, fd, 0);
        sys.close(fd);
        sink += peek_byte(p);
        sys.munmap(p, size);
      }),
    ],
    close: () => lib.close(),
  };
}

/** Section 1: map + touch + unmap, and sync, through every layer. */
export async function wrapperSection(opts: BenchOptions, native: Native): Promise<Section> {
  const rounds = opts.rounds ?? (opts.quick ? 1 : 9);
  const nAnon = opts.quick ? 200 : 20_000;
  const nFile = opts.quick ? 200 : 10_000;
  const nSync = opts.quick ? 5 : 400;

  const smallPath = `${WORK_DIR}/small-4KiB.bin`;
  const syncPath = `${WORK_DIR}/sync-4KiB.bin`;
  const content = new Uint8Array(PAGE).map((_, i) => (i * 13 + 7) & 255);
  await Deno.writeFile(smallPath, content);
  await Deno.writeFile(syncPath, content);

  const RW = PROT.READ | PROT.WRITE;
  const ANON = MAP.PRIVATE | MAP.ANONYMOUS;
  const inProcess = inProcessVariants(native, nAnon, nFile, smallPath);
  const variants: Variant[] = [
    ...cVariant(native, "anon.c", "anonymous 4 KiB", nAnon, ["anon", nAnon]),
    ...inProcess.anon,
    jsVariant("anon.raw", "anonymous 4 KiB", "raw (sys.mmap/munmap + view)", nAnon, () => {
      const p = sys.mmap(null, PAGE, RW, ANON, -1, 0);
      writeByte(p, PAGE);
      sys.munmap(p, PAGE);
    }),
    jsVariant("anon.api", "anonymous 4 KiB", "API (mapAnonymous)", nAnon, () => {
      const m = mapAnonymous(PAGE);
      m.bytes[0] = 1;
      m.unmap();
    }),
    ...cVariant(native, "file.c", "file 4 KiB, read", nFile, ["file", nFile, smallPath]),
    ...inProcess.file,
    jsVariant("file.raw", "file 4 KiB, read", "raw (sys.open/…/munmap + view)", nFile, () => {
      const fd = sys.open(smallPath, O.RDONLY | O.CLOEXEC);
      const size = sys.fileSize(fd);
      const p = sys.mmap(null, size, PROT.READ, MAP.SHARED, fd, 0);
      sys.close(fd);
      sink += readByte(p, size);
      sys.munmap(p, size);
    }),
    jsVariant("file.api", "file 4 KiB, read", "API (mapFile)", nFile, () => {
      const m = mapFile(smallPath);
      sink += m.bytes[0];
      m.unmap();
    }),
  ];

  // sync(): one long-lived shared read-write mapping per variant, one dirty page per call.
  const syncFd = sys.open(syncPath, O.RDWR | O.CLOEXEC);
  const syncRaw = sys.mmap(null, PAGE, RW, MAP.SHARED, syncFd, 0);
  const syncRawBytes = new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(syncRaw, PAGE));
  sys.close(syncFd);
  const syncApi = mapFile(syncPath, { access: "readwrite" });
  const syncApiBytes = syncApi.bytes;
  variants.push(
    ...cVariant(native, "sync.c", "sync 1 dirty page", nSync, ["msync", nSync, syncPath]),
    jsVariant("sync.raw", "sync 1 dirty page", "raw (sys.msync)", nSync, (i) => {
      syncRawBytes[i & 4095]++;
      sys.msync(syncRaw, PAGE, MS.SYNC);
    }),
    jsVariant("sync.api", "sync 1 dirty page", "API (Mapping.sync)", nSync, (i) => {
      syncApiBytes[i & 4095]++;
      syncApi.sync();
    }),
  );

  progress(`section 1: ${variants.length} variants × ${rounds} rounds`);
  let results;
  try {
    results = await measure(variants, rounds);
  } finally {
    inProcess.close();
    syncApi.unmap();
    sys.munmap(syncRaw, PAGE);
  }

  const notes: string[] = [];
  if (native.missing) notes.push(native.missing);
  notes.push(
    "each cycle makes the same syscalls in every variant: anonymous = mmap, write 1 byte, munmap; " +
      "file = open, lseek×2, mmap (shared, read-only), close, read 1 byte, munmap (what mapFile does)",
    "Deno.UnsafePointerView has no setters: the raw variants touch the page through " +
      "UnsafePointerView.getArrayBuffer(ptr, 4096) and detach it before munmap, as Mapping does",
    "'C loop inside this process' runs the C program's loop through one FFI call: the kernel " +
      "work in the Deno process itself, so API or raw minus it is the JavaScript side",
    "'touch in C (no view)' makes the raw calls but touches the page through a C helper (one " +
      "fast FFI call) instead of a JavaScript view: the difference to 'raw' is what the view " +
      "(getArrayBuffer + Uint8Array + transfer) costs in place",
  );
  return {
    id: "1",
    title: "Wrapper overhead: map + touch one page + unmap, and sync",
    description: [
      `ns per cycle; ${nAnon} anonymous / ${nFile} file cycles and ${nSync} syncs per sample;` +
      ` the C program runs N/10 warm-up cycles first`,
    ],
    results,
    ratios: ratios(
      ratio(results, "anon.api/c", "anonymous: API / C", "anon.api", "anon.c", {
        op: "<=",
        value: 1.25,
      }),
      ratio(results, "anon.raw/c", "anonymous: raw / C", "anon.raw", "anon.c", {
        op: "<=",
        value: 1.1,
      }),
      ratio(
        results,
        "anon.noview/c",
        "anonymous: raw, no view / C",
        "anon.noview",
        "anon.c",
      ),
      ratio(results, "anon.cin/c", "anonymous: C in-process / C", "anon.cin", "anon.c"),
      ratio(results, "file.api/c", "file: API / C", "file.api", "file.c", {
        op: "<=",
        value: 1.25,
      }),
      ratio(results, "file.raw/c", "file: raw / C", "file.raw", "file.c", { op: "<=", value: 1.1 }),
      ratio(results, "file.noview/c", "file: raw, no view / C", "file.noview", "file.c"),
      ratio(results, "file.cin/c", "file: C in-process / C", "file.cin", "file.c"),
      ratio(results, "sync.api/c", "sync: API / C msync", "sync.api", "sync.c"),
      ratio(results, "sync.raw/c", "sync: raw / C msync", "sync.raw", "sync.c"),
    ),
    notes,
  };
}

/** Section 1b: the cost of the FFI call alone, per `lib/ffi/libc.ts` signature and argument type. */
export async function ffiSection(opts: BenchOptions, native: Native): Promise<Section> {
  const title = "FFI call path (diagnostic): no-op C functions with lib/ffi/libc.ts signatures";
  if (native.library === undefined) {
    return {
      id: "1b",
      title,
      description: [],
      results: [],
      ratios: [],
      notes: [],
      skipped: native.missing ?? "no C compiler",
    };
  }
  const rounds = opts.rounds ?? (opts.quick ? 1 : 5);
  const n = opts.quick ? 1000 : 300_000;
  const lib = Deno.dlopen(native.library, {
    noop_mmap: {
      parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"],
      result: "pointer",
    },
    noop_mmap_address: {
      name: "noop_mmap",
      parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"],
      result: "usize",
    },
    noop_munmap: { parameters: ["pointer", "usize"], result: "i32" },
    noop_msync: { parameters: ["pointer", "usize", "i32"], result: "i32" },
    noop_lseek: { parameters: ["i32", "i64", "i32"], result: "i64" },
    noop_close: { parameters: ["i32"], result: "i32" },
    noop_open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  });
  const s = lib.symbols;
  const page = s.noop_mmap(null, 0n, 0, 0, 0, 0n)!;
  // What lib/sys.ts does: a number where Deno's types say bigint.
  const asBigint = (x: number) => x as unknown as bigint;
  let length = PAGE;
  const path = `${WORK_DIR}/small-4KiB.bin`;
  const encodedPath = encoder.encode(path + "\0");
  const scratch = new Uint8Array(4096);
  const pageAddress = BigInt(Deno.UnsafePointer.value(page));

  const call = (id: string, group: string, name: string, body: (i: number) => void): Variant => ({
    id,
    group,
    name,
    unit: "ns/call",
    ops: n,
    warmup: () => timeLoop(n >> 2, body),
    run: () => timeLoop(n, body),
  });
  const variants: Variant[] = [
    call("ffi.close", "close(i32) → i32", "baseline: 32-bit only", (i) => {
      sink += s.noop_close(i);
    }),
    call("ffi.munmap.num", "munmap(pointer, usize)", "number (the generic path)", () => {
      sink += s.noop_munmap(page, asBigint(length));
    }),
    call("ffi.munmap.big", "munmap(pointer, usize)", "BigInt(length), as sys.ts", () => {
      sink += s.noop_munmap(page, BigInt(length));
    }),
    call("ffi.msync.num", "msync(pointer, usize, i32)", "number (the generic path)", () => {
      sink += s.noop_msync(page, asBigint(length), 4);
    }),
    call("ffi.msync.big", "msync(pointer, usize, i32)", "BigInt(length), as sys.ts", () => {
      sink += s.noop_msync(page, BigInt(length), 4);
    }),
    call("ffi.mmap.num", "mmap(ptr, usize, i32×3, i64) → ptr", "number (the generic path)", () => {
      if (s.noop_mmap(null, asBigint(length), 3, 0x22, -1, asBigint(0)) === null) sink++;
    }),
    call("ffi.mmap.big", "mmap(ptr, usize, i32×3, i64) → ptr", "BigInt(length), as sys.ts", () => {
      if (s.noop_mmap(null, BigInt(length), 3, 0x22, -1, 0n) === null) sink++;
    }),
    call("ffi.lseek.num", "lseek(i32, i64, i32) → i64", "number (the generic path)", (i) => {
      sink += Number(s.noop_lseek(3, asBigint(i & 7), 0));
    }),
    call("ffi.lseek.big", "lseek(i32, i64, i32) → i64", "BigInt(offset), as sys.ts", (i) => {
      sink += Number(s.noop_lseek(3, BigInt(i & 7), 0));
    }),
    call("ffi.open.enc", "open(buffer, i32, u32)", "path encoded per call", () => {
      sink += s.noop_open(encoder.encode(path + "\0"), 0, 0o644);
    }),
    call("ffi.open.pre", "open(buffer, i32, u32)", "path encoded once", () => {
      sink += s.noop_open(encodedPath, 0, 0o644);
    }),
    call("ffi.open.into", "open(buffer, i32, u32)", "encodeInto a reused buffer, as sys.ts", () => {
      const { written } = encoder.encodeInto(path, scratch);
      scratch[written] = 0;
      sink += s.noop_open(scratch, 0, 0o644);
    }),
    call("ffi.ptrvalue", "UnsafePointer.value(ptr)", "sys.mmap check, Mapping.address", () => {
      if (BigInt(Deno.UnsafePointer.value(page)) === MAP_FAILED) sink++;
    }),
    call("ffi.mmap.addr", "mmap(…) → usize", "address as BigInt, compared", () => {
      if (s.noop_mmap_address(null, BigInt(length), 3, 0x22, -1, 0n) === MAP_FAILED) sink++;
    }),
    call("ffi.ptrcreate", "UnsafePointer.create(address)", "pointer from a BigInt", () => {
      if (Deno.UnsafePointer.create(pageAddress) === null) sink++;
    }),
    call("ffi.getab", "getArrayBuffer(ptr, 4096)", "raw touch (never detached)", () => {
      sink += Deno.UnsafePointerView.getArrayBuffer(page, PAGE).byteLength;
    }),
    call("ffi.getab.detach", "getArrayBuffer(ptr, 4096)", "+ transfer(0), as Mapping", () => {
      sink += Deno.UnsafePointerView.getArrayBuffer(page, PAGE).transfer(0).byteLength;
    }),
  ];
  progress(`section 1b: ${variants.length} call shapes × ${rounds} rounds`);
  const results = await measure(variants, rounds);
  length = sink === -1 ? 0 : length; // keep `length` a variable for the optimiser
  lib.close();
  return {
    id: "1b",
    title,
    description: [
      `ns per call, ${n} calls per sample; the C functions return at once, so this is the call ` +
      `path alone`,
    ],
    results,
    ratios: ratios(
      ratio(results, "ffi.munmap", "munmap: number / BigInt", "ffi.munmap.num", "ffi.munmap.big"),
      ratio(results, "ffi.msync", "msync: number / BigInt", "ffi.msync.num", "ffi.msync.big"),
      ratio(results, "ffi.mmap", "mmap: number / BigInt", "ffi.mmap.num", "ffi.mmap.big"),
      ratio(results, "ffi.lseek", "lseek: number / BigInt", "ffi.lseek.num", "ffi.lseek.big"),
      ratio(results, "ffi.open", "open: encode per call / once", "ffi.open.enc", "ffi.open.pre"),
    ),
    notes: [
      "a number passed for a usize/i64 parameter makes Deno leave its fast call path for the " +
      "generic one: compare each 'number' row with its 'BigInt, as sys.ts' row (sys.ts passes " +
      "BigInts since this measurement)",
    ],
  };
}
