/**
 * A seeded fuzzer of the library's public API and of the raw `sys` layer, run
 * in a child process by `tests/lib/fuzz_test.ts` (so a crash fails that test
 * with the call that caused it instead of killing the test runner).
 *
 * Every call is made with arguments drawn from pools of good and bad values,
 * and the fuzzer knows which is which. Each call must either succeed (all
 * arguments good) or throw one of the library's own errors (`ArgumentError`,
 * `MmapError`, `MappingClosedError`; `RangeError` for a futex index out of
 * range, as documented). Anything else is a finding:
 *
 * - `accepted`: a bad value went through without an error;
 * - `internal`: an error that is not the library's (`Cannot read properties
 *   of null`, a BigInt `SyntaxError`, Deno's `Invalid FFI … type`);
 * - `refused`: all arguments were good, and the call threw;
 * - `wrong`: the call succeeded but returned something it should not have.
 *
 * It does only what the library documents as safe: it never touches a mapped
 * page past the end of its file (SIGBUS), never reads a `"none"` mapping or
 * writes a read-only one (SIGSEGV), never shrinks a file that is mapped, and
 * hands the raw layer only addresses of regions it mapped itself.
 *
 * Usage: `deno run --allow-ffi --allow-read --allow-write=DIR fuzz.ts SEED CALLS DIR`.
 * Before each call it writes `#N label` to stderr; at the end it prints one
 * JSON {@link FuzzSummary} line on stdout.
 *
 * @module
 */

import {
  ArgumentError,
  MAP,
  mapAnonymous,
  mapDescriptor,
  mapFile,
  Mapping,
  MappingClosedError,
  mapSharedMemory,
  MmapError,
  MS,
  O,
  PROT,
  resizeFile,
  sys,
} from "../../lib/mod.ts";
import { SIG } from "../../lib/ffi/constants.ts";

/** What the fuzzer knows about a call before making it. */
export type Verdict = "good" | "bad" | "either";

/** How a call turned out, judged against its verdict. */
export type Outcome = "ok" | "accepted" | "internal" | "refused" | "wrong";

/** One call that was not `ok`. */
export interface Finding {
  /** Its number in the run (0-based). */
  index: number;
  /** What was called, with its arguments. */
  call: string;
  /** What the fuzzer expected. */
  verdict: Verdict;
  /** How it turned out. */
  outcome: Outcome;
  /** The error thrown (`name: message`), or what it returned. */
  detail: string;
}

/** The fuzzer's report. */
export interface FuzzSummary {
  /** The seed of the run. */
  seed: number;
  /** Calls made. */
  calls: number;
  /** Milliseconds the calls took. */
  ms: number;
  /** Calls by outcome. */
  outcomes: Record<Outcome, number>;
  /** Calls by verdict. */
  verdicts: Record<Verdict, number>;
  /** Calls per function. */
  functions: Record<string, number>;
  /** Non-ok calls by outcome and error, e.g. `"internal TypeError: Cannot read properties…"`. */
  kinds: Record<string, number>;
  /** The first findings (at most 40). */
  findings: Finding[];
}

/**
 * A small seeded PRNG (mulberry32): the same seed gives the same run.
 *
 * @example
 * ```ts
 * const next = mulberry32(14);
 * console.log(next() < 1); // true
 * ```
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A value with what the fuzzer knows about it. */
interface Pick {
  value: unknown;
  bad: boolean;
}

/** `value`, shown as it was written: strings quoted, bigints with n, objects by kind. */
export function show(value: unknown): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value.length > 40 ? value.slice(0, 40) + "…" : value);
    case "bigint":
      return `${value}n`;
    case "symbol":
      return "Symbol()";
    case "function":
      return "() => {}";
    case "undefined":
      return "undefined";
    case "object": {
      if (value === null) return "null";
      if (Array.isArray(value)) return `[${value.map(show).join(", ")}]`;
      if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${value.byteLength})`;
      if (value instanceof ArrayBuffer) return `ArrayBuffer(${value.byteLength})`;
      if (Object.getPrototypeOf(value) === null && Object.isFrozen(value)) {
        return `ptr(${sys.hex(value as Deno.PointerObject)})`;
      }
      if (value instanceof Mapping) return "mapping";
      if (value instanceof URL) return `URL(${value.href})`;
      const entries = Object.entries(value).map(([k, v]) => `${k}: ${show(v)}`);
      return `{ ${entries.join(", ")} }`;
    }
    default:
      return String(value);
  }
}

/** Kinds of junk that are no value of any argument of the library. */
const JUNK: unknown[] = [
  null,
  "x",
  "",
  {},
  [],
  true,
  Symbol("s"),
  () => 1,
  new Uint8Array(4),
];

/** Numbers of the wrong type, or numbers no C integer argument can take. */
const NOT_INTEGERS: unknown[] = [
  "4096",
  "1",
  null,
  undefined,
  4096n,
  1e9 + 0.5, // a float that truncates to a descriptor that is never open
  NaN,
  Infinity,
  -Infinity,
  2 ** 60,
  {},
  [],
  true,
  Symbol("s"),
];

/** State of one run. */
interface LiveMapping {
  m: Mapping;
  /** Byte 0 lies inside the file (or the mapping is anonymous): touching it is safe. */
  touchable: boolean;
  /** A shared mapping of a file opened read-only: `protect("readwrite")` is EACCES. */
  readOnlyShared: boolean;
}

interface RawRegion {
  ptr: Deno.PointerObject;
  length: number;
}

interface RawFd {
  fd: number;
  /** May be written and truncated (a file nothing maps). */
  writable: boolean;
}

/** Runs `calls` fuzzed calls with `seed` in the scratch directory `dir`. */
export function runFuzz(seed: number, calls: number, dir: string): FuzzSummary {
  const random = mulberry32(seed);
  const int = (n: number) => Math.floor(random() * n);
  const chance = (p: number) => random() < p;
  const pickOf = <T>(items: readonly T[]): T => items[int(items.length)];
  const PAGE = sys.pageSize();
  const HUGE = Number.MAX_SAFE_INTEGER - (Number.MAX_SAFE_INTEGER % PAGE); // no room: ENOMEM

  // --- the scratch files -------------------------------------------------
  const mapDir = `${dir}/map`;
  const rawDir = `${dir}/raw`;
  Deno.mkdirSync(mapDir, { recursive: true });
  Deno.mkdirSync(rawDir, { recursive: true });
  Deno.mkdirSync(`${mapDir}/sub`, { recursive: true });
  const sizes: Record<string, number> = { data: 3 * PAGE, small: 100, empty: 0 };
  for (const [name, size] of Object.entries(sizes)) {
    Deno.writeFileSync(`${mapDir}/${name}.bin`, new Uint8Array(size).fill(7));
  }
  sys.mkfifo(`${mapDir}/fifo`);
  const socket = Deno.listen({ transport: "unix", path: `${mapDir}/sock` });

  /** Paths for mapFile: the size of a regular file, or undefined for anything else. */
  const MAP_PATHS: { path: unknown; size?: number }[] = [
    { path: `${mapDir}/data.bin`, size: sizes.data },
    { path: `${mapDir}/data.bin`, size: sizes.data },
    { path: `${mapDir}/small.bin`, size: sizes.small },
    { path: `${mapDir}/empty.bin`, size: sizes.empty },
    { path: `${mapDir}/../map/data.bin`, size: sizes.data },
    { path: `${mapDir}/fifo` },
    { path: `${mapDir}/sub` },
    { path: `${mapDir}/sock` },
    { path: "/dev/null" },
    { path: "/dev/zero" },
    { path: `${mapDir}/missing.bin` },
    { path: `${mapDir}/data.bin\0.txt` },
    { path: "" },
    { path: null },
    { path: undefined },
    { path: 5 },
    { path: {} },
    { path: new URL(`file://${mapDir}/data.bin`) },
  ];

  // Descriptors for mapDescriptor; their files never change size.
  const roFd = sys.open(`${mapDir}/data.bin`, O.RDONLY | O.CLOEXEC);
  const rwFd = sys.open(`${mapDir}/data.bin`, O.RDWR | O.CLOEXEC);
  const memFd = sys.memfdCreate("fuzz");
  sys.ftruncate(memFd, 2 * PAGE);
  const fifoFd = sys.open(`${mapDir}/fifo`, O.RDWR | O.CLOEXEC); // O_RDWR: does not block
  const dirFd = sys.open(`${mapDir}/sub`, O.RDONLY | O.CLOEXEC);
  const NEVER_OPEN = 1_000_000_000;
  const DESCRIPTORS: { fd: unknown; size?: number; readOnly?: boolean }[] = [
    { fd: roFd, size: sizes.data, readOnly: true },
    { fd: rwFd, size: sizes.data },
    { fd: rwFd, size: sizes.data },
    { fd: memFd, size: 2 * PAGE },
    { fd: fifoFd },
    { fd: dirFd },
    { fd: NEVER_OPEN },
    { fd: -1 },
    { fd: String(rwFd) },
    { fd: null },
    { fd: undefined },
    { fd: NEVER_OPEN + 0.5 },
    { fd: NaN },
    { fd: BigInt(rwFd) },
    { fd: {} },
    { fd: 2 ** 40 },
  ];

  // --- pools ---------------------------------------------------------------
  const live: LiveMapping[] = [];
  const closed: Mapping[] = [];
  const regions: RawRegion[] = [];
  const rawFds: RawFd[] = [];
  let rawNames = 0;

  const outcomes: Record<Outcome, number> = {
    ok: 0,
    accepted: 0,
    internal: 0,
    refused: 0,
    wrong: 0,
  };
  const verdicts: Record<Verdict, number> = { good: 0, bad: 0, either: 0 };
  const functions: Record<string, number> = {};
  const kinds: Record<string, number> = {};
  const findings: Finding[] = [];
  const encoder = new TextEncoder();
  let index = 0;

  function ours(err: unknown): boolean {
    return err instanceof ArgumentError || err instanceof MmapError ||
      err instanceof MappingClosedError ||
      (err instanceof RangeError && /^futex index/.test(err.message));
  }

  function note(outcome: Outcome, fn: string, call: string, verdict: Verdict, detail: string) {
    outcomes[outcome]++;
    if (outcome === "ok") return;
    const kind = `${outcome} ${fn}: ${detail.replace(/\d+/g, "N").slice(0, 90)}`;
    kinds[kind] = (kinds[kind] ?? 0) + 1;
    if (findings.length < 40) findings.push({ index, call, verdict, outcome, detail });
  }

  /**
   * Makes one call and judges it. `check` looks at a successful result and
   * returns a complaint (a `wrong` finding) or undefined.
   */
  function call<T>(
    fn: string,
    args: unknown[],
    verdict: Verdict,
    run: () => T,
    check?: (result: T) => string | undefined,
  ): { ok: true; value: T } | { ok: false } {
    const label = `${fn}(${args.map(show).join(", ")})`;
    Deno.stderr.writeSync(encoder.encode(`#${index} ${label}\n`));
    verdicts[verdict]++;
    functions[fn] = (functions[fn] ?? 0) + 1;
    try {
      let value: T;
      try {
        value = run();
      } catch (err) {
        const detail = err instanceof Error ? `${err.name}: ${err.message}` : `threw ${show(err)}`;
        if (!ours(err)) note("internal", fn, label, verdict, detail);
        else if (verdict === "good") note("refused", fn, label, verdict, detail);
        else note("ok", fn, label, verdict, detail);
        return { ok: false };
      }
      if (verdict === "bad") {
        note("accepted", fn, label, verdict, `returned ${show(value)}`);
      } else {
        const complaint = check?.(value);
        note(complaint ? "wrong" : "ok", fn, label, verdict, complaint ?? "");
      }
      return { ok: true, value };
    } finally {
      index++;
    }
  }

  // --- value pools ---------------------------------------------------------

  /** A byte count for a new mapping; `undefined` is good for an option (the default). */
  function mappingLength(option = false): Pick & { huge?: boolean } {
    const r = random();
    if (r < 0.6) return { value: pickOf([1, 100, PAGE, 2 * PAGE, 3 * PAGE]), bad: false };
    if (r < 0.65) return { value: HUGE, bad: false, huge: true };
    const bad = [0, -1, -PAGE, 1.5, NaN, ...NOT_INTEGERS];
    return { value: pickOf(option ? bad.filter((v) => v !== undefined) : bad), bad: true };
  }

  function modeValue(): Pick {
    return chance(0.8)
      ? { value: pickOf(["shared", "private"]), bad: false }
      : { value: pickOf(["bogus", "SHARED", "toString", 1, ...JUNK]), bad: true };
  }

  function booleanValue(): Pick {
    return chance(0.75)
      ? { value: chance(0.5), bad: false }
      : { value: pickOf(["false", "true", 0, 1, null, {}, 1n]), bad: true };
  }

  /** An options object for mapFile/mapDescriptor, and its parts. */
  function fileOptions(): {
    options: unknown;
    bad: boolean;
    parts: {
      mode?: string;
      access?: string;
      offset?: number;
      length?: number;
      allowPastEnd?: boolean;
      huge?: boolean;
    };
  } {
    const r = random();
    if (r < 0.15) return { options: undefined, bad: false, parts: {} };
    if (r < 0.22) return { options: pickOf([null, "shared", 5, true, []]), bad: true, parts: {} };
    const options: Record<string, unknown> = {};
    let bad = false;
    const parts: ReturnType<typeof fileOptions>["parts"] = {};
    if (chance(0.5)) {
      const v = modeValue();
      options.mode = v.value;
      bad ||= v.bad;
      if (!v.bad) parts.mode = v.value as string;
    }
    if (chance(0.5)) {
      const v = chance(0.8)
        ? { value: pickOf(["read", "readwrite"]), bad: false }
        : { value: pickOf(["write", "none", "valueOf", 2, ...JUNK]), bad: true };
      options.access = v.value;
      bad ||= v.bad;
      if (!v.bad) parts.access = v.value as string;
    }
    if (chance(0.3)) {
      const v = chance(0.7)
        ? { value: pickOf([0, PAGE, 2 * PAGE, 8 * PAGE]), bad: false }
        : { value: pickOf([-PAGE, 1, 1.5, NaN, "0", null, 0n, {}]), bad: true };
      options.offset = v.value;
      bad ||= v.bad;
      if (!v.bad) parts.offset = v.value as number;
    }
    if (chance(0.4)) {
      const v = mappingLength(true);
      options.length = v.value;
      bad ||= v.bad;
      if (!v.bad) parts.length = v.value as number;
      parts.huge = v.huge;
    }
    if (chance(0.3)) {
      const v = booleanValue();
      options.populate = v.value;
      bad ||= v.bad;
    }
    if (chance(0.3)) {
      const v = booleanValue();
      options.allowPastEnd = v.value;
      bad ||= v.bad;
      if (!v.bad) parts.allowPastEnd = v.value as boolean;
    }
    return { options, bad, parts };
  }

  /**
   * Whether mapping `size` bytes of a regular file with these (well-typed)
   * options must be refused, may fail (`either`: no room for a huge mapping),
   * or must work; and whether byte 0 lies inside the file.
   */
  function fileVerdict(
    size: number,
    parts: ReturnType<typeof fileOptions>["parts"],
  ): { verdict: Verdict; touchable: boolean } {
    const offset = parts.offset ?? 0;
    const bad = { verdict: "bad" as Verdict, touchable: false };
    if (offset % PAGE !== 0) return bad;
    if (parts.length === undefined && (size === 0 || offset >= size)) return bad;
    const length = parts.length ?? size - offset;
    const lastPage = Math.ceil(size / PAGE) * PAGE;
    if (offset + length > lastPage && !parts.allowPastEnd) return bad;
    return { verdict: parts.huge ? "either" : "good", touchable: offset < size };
  }

  function keep(m: Mapping, touchable: boolean, readOnlyShared = false): void {
    live.push({ m, touchable, readOnlyShared });
    while (live.length > 24) {
      const old = live.shift()!.m;
      old.unmap();
      closed.push(old);
    }
    while (closed.length > 12) closed.shift();
  }

  function lengthOk(m: Mapping, expected: unknown): string | undefined {
    return m.length === expected ? undefined : `length ${m.length}, asked for ${show(expected)}`;
  }

  // --- the public API ------------------------------------------------------

  function fuzzMapFile(): void {
    const entry = pickOf(MAP_PATHS);
    const { options, bad, parts } = fileOptions();
    const args = options === undefined && chance(0.5) ? [entry.path] : [entry.path, options];
    let verdict: Verdict = bad || entry.size === undefined ? "bad" : "good";
    let touchable = false;
    if (verdict === "good") ({ verdict, touchable } = fileVerdict(entry.size!, parts));
    const r = call(
      "mapFile",
      args,
      verdict,
      () => (mapFile as unknown as (...a: unknown[]) => Mapping)(...args),
      (m) => parts.length !== undefined ? lengthOk(m, parts.length) : undefined,
    );
    if (r.ok) {
      const readOnlyShared = (parts.mode ?? "shared") === "shared" &&
        (parts.access ?? "read") === "read";
      keep(r.value, touchable, readOnlyShared);
    }
  }

  function fuzzMapDescriptor(): void {
    const entry = pickOf(DESCRIPTORS);
    const { options, bad, parts } = fileOptions();
    const args = options === undefined && chance(0.5) ? [entry.fd] : [entry.fd, options];
    let verdict: Verdict = bad || entry.size === undefined ? "bad" : "good";
    let touchable = false;
    if (verdict === "good") ({ verdict, touchable } = fileVerdict(entry.size!, parts));
    const shared = (parts.mode ?? "shared") === "shared";
    if (
      verdict !== "bad" && entry.readOnly && shared && parts.access === "readwrite"
    ) verdict = "bad"; // EACCES: a shared writable mapping of a read-only descriptor
    const r = call(
      "mapDescriptor",
      args,
      verdict,
      () => (mapDescriptor as unknown as (...a: unknown[]) => Mapping)(...args),
      (m) => parts.length !== undefined ? lengthOk(m, parts.length) : undefined,
    );
    if (r.ok) keep(r.value, touchable, shared && entry.readOnly === true);
  }

  function fuzzMapAnonymous(): void {
    const length = mappingLength();
    let bad = length.bad;
    let options: unknown;
    let mode: string | undefined;
    let shared: boolean | undefined;
    const r0 = random();
    if (r0 < 0.2) options = undefined;
    else if (r0 < 0.27) (options = pickOf([null, "shared", 5, []])), (bad = true);
    else {
      const o: Record<string, unknown> = {};
      if (chance(0.4)) {
        const v = modeValue();
        o.mode = v.value;
        bad ||= v.bad;
        if (!v.bad) mode = v.value as string;
      }
      if (chance(0.3)) {
        const v = booleanValue();
        o.shared = v.value;
        bad ||= v.bad;
        if (!v.bad) shared = v.value as boolean;
      }
      if (chance(0.4)) {
        const v = chance(0.8)
          ? { value: pickOf(["none", "read", "readwrite"]), bad: false }
          : { value: pickOf(["write", "toString", ...JUNK]), bad: true };
        o.access = v.value;
        bad ||= v.bad;
      }
      if (chance(0.3) && !length.huge) {
        const v = booleanValue();
        o.populate = v.value;
        bad ||= v.bad;
      }
      options = o;
    }
    if (mode !== undefined && shared !== undefined && shared !== (mode === "shared")) bad = true;
    const args = options === undefined && chance(0.5) ? [length.value] : [length.value, options];
    const verdict: Verdict = bad ? "bad" : length.huge ? "either" : "good";
    const r = call(
      "mapAnonymous",
      args,
      verdict,
      () => (mapAnonymous as unknown as (...a: unknown[]) => Mapping)(...args),
      (m) => lengthOk(m, length.value),
    );
    if (r.ok) keep(r.value, true);
  }

  function fuzzMapSharedMemory(): void {
    const length = mappingLength();
    const name: Pick = chance(0.8)
      ? { value: pickOf([undefined, "fuzz", "", "a b"]), bad: false }
      : { value: pickOf(["nul\0name", "x".repeat(300), null, 5, {}, 1n]), bad: true };
    const args = name.value === undefined ? [length.value] : [length.value, name.value];
    const verdict: Verdict = length.bad || name.bad ? "bad" : length.huge ? "either" : "good";
    const r = call(
      "mapSharedMemory",
      args,
      verdict,
      () => (mapSharedMemory as unknown as (...a: unknown[]) => Mapping)(...args),
      (m) => lengthOk(m, length.value),
    );
    if (r.ok) keep(r.value, true);
  }

  function fuzzResizeFile(): void {
    const path: Pick = chance(0.75) ? { value: `${rawDir}/grow-${int(4)}.bin`, bad: false } : {
      value: pickOf([
        `${rawDir}/grow\0.bin`,
        `${rawDir}/no/such/dir.bin`,
        `${mapDir}/sub`,
        `${mapDir}/fifo`,
        null,
        undefined,
        5,
        {},
      ]),
      bad: true,
    };
    const r = random();
    const size: Pick & { huge?: boolean } = r < 0.7
      ? { value: pickOf([0, 100, PAGE, 5 * PAGE]), bad: false }
      : r < 0.75
      ? { value: HUGE, bad: false, huge: true }
      : { value: pickOf([-1, 1.5, NaN, Infinity, "100", null, undefined, 100n, {}]), bad: true };
    const verdict: Verdict = path.bad || size.bad ? "bad" : size.huge ? "either" : "good";
    call(
      "resizeFile",
      [path.value, size.value],
      verdict,
      () => (resizeFile as unknown as (...a: unknown[]) => void)(path.value, size.value),
    );
  }

  /** A range for sync/advise/discard, with whether it must be refused on `m`. */
  function rangeFor(m: Mapping, forSync: boolean): { value: unknown; bad: boolean } {
    const r = random();
    if (r < 0.25) return { value: undefined, bad: false };
    if (r < 0.33) return { value: pickOf([5, "all", null, [], true]), bad: true };
    const span = m.pageCount * PAGE;
    const o: Record<string, unknown> = {};
    let bad = false;
    let offset = 0;
    let length: number | undefined;
    if (chance(0.5)) {
      const v = chance(0.8)
        ? { value: pickOf([0, 1, 100, PAGE, span, span + PAGE]), bad: false }
        : { value: pickOf([-1, 1.5, NaN, "0", null, 0n]), bad: true };
      o.offset = v.value;
      bad ||= v.bad;
      if (!v.bad) offset = v.value as number;
    }
    if (chance(0.5)) {
      const v = chance(0.8)
        ? { value: pickOf([0, 1, PAGE, m.length, span + 1]), bad: false }
        : { value: pickOf([-1, 1.5, NaN, Infinity, "1", null, 1n]), bad: true };
      o.length = v.value;
      bad ||= v.bad;
      if (!v.bad) length = v.value as number;
    }
    if (forSync && chance(0.4)) {
      const v = chance(0.7)
        ? { value: pickOf(["sync", "async"]), bad: false }
        : { value: pickOf(["bogus", "SYNC", 1, null]), bad: true };
      o.mode = v.value;
      bad ||= v.bad;
    }
    if (forSync && chance(0.3)) {
      const v = booleanValue();
      o.invalidate = v.value;
      bad ||= v.bad;
    }
    if (!bad && offset + (length ?? Math.max(0, m.length - offset)) > span) bad = true;
    return { value: o, bad };
  }

  function fuzzMethod(): void {
    const useClosed = closed.length > 0 && chance(0.12);
    if (!useClosed && live.length === 0) return fuzzMapAnonymous();
    const entry = useClosed ? undefined : pickOf(live);
    const m = entry?.m ?? pickOf(closed);
    const gone = useClosed; // every method but unmap() must throw MappingClosedError
    const method = pickOf([
      "bytes",
      "bytes",
      "sync",
      "protect",
      "advise",
      "discard",
      "residency",
      "smaps",
      "pages",
      "unmap",
    ]);
    switch (method) {
      case "bytes": {
        const r = call(
          "Mapping.bytes",
          [],
          gone ? "bad" : "good",
          () => m.bytes,
          (b) => b.length === m.length ? undefined : `bytes.length ${b.length} of ${m.length}`,
        );
        if (r.ok && entry?.touchable && m.access !== "none") {
          const before = r.value[0];
          if (m.access === "readwrite") r.value[0] = (before + 1) & 0xff;
        }
        return;
      }
      case "sync": {
        const range = rangeFor(m, true);
        const args = range.value === undefined ? [] : [range.value];
        call(
          "Mapping.sync",
          args,
          gone || range.bad ? "bad" : "good",
          () => (m.sync as (...a: unknown[]) => void).apply(m, args),
        );
        return;
      }
      case "protect": {
        const access: Pick = chance(0.8)
          ? { value: pickOf(["none", "read", "readwrite"]), bad: false }
          : { value: pickOf(["exec", "toString", "", null, undefined, 3, {}]), bad: true };
        const verdict: Verdict = gone || access.bad
          ? "bad"
          : access.value === "readwrite" && entry?.readOnlyShared
          ? "either"
          : "good";
        call(
          "Mapping.protect",
          [access.value],
          verdict,
          () => (m.protect as (a: unknown) => void).call(m, access.value),
          () => m.access === access.value ? undefined : `access is ${m.access}`,
        );
        return;
      }
      case "advise": {
        const sure = ["normal", "random", "sequential", "willneed", "dontfork", "dofork"];
        const kernelDependent = ["cold", "pageout", "hugepage", "nohugepage"];
        const r = random();
        const advice: Pick & { either?: boolean } = r < 0.6
          ? { value: pickOf(sure), bad: false }
          : r < 0.8
          ? { value: pickOf(kernelDependent), bad: false, either: true }
          : {
            value: pickOf(["fast", "dontneed", "constructor", null, undefined, 4, {}]),
            bad: true,
          };
        const range = rangeFor(m, false);
        const args = range.value === undefined ? [advice.value] : [advice.value, range.value];
        call(
          "Mapping.advise",
          args,
          gone || advice.bad || range.bad ? "bad" : advice.either ? "either" : "good",
          () => (m.advise as (...a: unknown[]) => void).apply(m, args),
        );
        return;
      }
      case "discard": {
        const range = rangeFor(m, false);
        const args = range.value === undefined ? [] : [range.value];
        call(
          "Mapping.discard",
          args,
          gone || range.bad ? "bad" : "good",
          () => (m.discard as (...a: unknown[]) => void).apply(m, args),
        );
        return;
      }
      case "residency":
        call(
          "Mapping.residency",
          [],
          gone ? "bad" : "good",
          () => m.residency(),
          (v) => v.length === m.pageCount ? undefined : `${v.length} pages`,
        );
        return;
      case "smaps":
        call("Mapping.smaps", [], gone ? "bad" : "good", () => m.smaps());
        return;
      case "pages":
        call(
          "Mapping.pages",
          [],
          gone ? "bad" : "good",
          () => m.pages(),
          (v) => v.length === m.pageCount ? undefined : `${v.length} pages`,
        );
        return;
      case "unmap": {
        // A second unmap() is documented as harmless.
        const r = call("Mapping.unmap", [], "good", () => m.unmap(), () => {
          return m.closed ? undefined : "still open after unmap()";
        });
        if (r.ok && entry) {
          live.splice(live.indexOf(entry), 1);
          closed.push(m);
        }
        return;
      }
    }
  }

  // --- the raw layer -------------------------------------------------------

  /** One argument of a raw call: a good value, and the bad ones to try instead. */
  interface RawArg {
    good: () => unknown;
    bad: unknown[];
    /** `undefined` is good too: the parameter has a default. */
    optional?: boolean;
  }

  const integer = (...good: number[]): RawArg => ({
    good: () => pickOf(good),
    bad: NOT_INTEGERS,
  });
  const optionalInteger = (...good: number[]): RawArg => ({
    good: () => pickOf([...good, undefined]),
    bad: NOT_INTEGERS.filter((v) => v !== undefined),
    optional: true,
  });
  const pathArg = (...good: string[]): RawArg => ({
    good: () => pickOf(good),
    bad: [`${rawDir}/nul\0byte`, null, undefined, 5, {}, [], 1n, new URL("file:///tmp")],
  });
  const BAD_POINTERS = [0, 4096, "0x1000", 4096n, {}, [], new Uint8Array(8), undefined, true];

  function regionOf(): RawRegion | undefined {
    return regions.length ? pickOf(regions) : undefined;
  }

  function rawFd(writable: boolean): number {
    const fds = rawFds.filter((f) => f.writable || !writable);
    return fds.length ? pickOf(fds).fd : NEVER_OPEN;
  }

  interface RawSpec {
    name: string;
    args: (region: RawRegion | undefined) => RawArg[] | undefined;
    run: (...args: unknown[]) => unknown;
    /** What a successful call with good arguments leaves behind. */
    after?: (result: unknown, args: unknown[]) => void;
  }

  const regionArgs = (
    third: RawArg,
  ) =>
  (region: RawRegion | undefined): RawArg[] | undefined =>
    region && [
      { good: () => region.ptr, bad: BAD_POINTERS },
      { good: () => pickOf([region.length, PAGE]), bad: NOT_INTEGERS },
      third,
    ];

  const RAW: RawSpec[] = [
    {
      name: "mmap",
      args: () => [
        { good: () => null, bad: BAD_POINTERS },
        integer(PAGE, 2 * PAGE, 0, -1),
        integer(PROT.READ | PROT.WRITE, PROT.READ, PROT.NONE),
        integer(MAP.PRIVATE | MAP.ANONYMOUS, MAP.SHARED | MAP.ANONYMOUS, 0, MAP.PRIVATE),
        integer(-1, NEVER_OPEN),
        integer(0),
      ],
      run: (...a) => (sys.mmap as unknown as (...a: unknown[]) => unknown)(...a),
      after: (ptr, args) =>
        regions.push({ ptr: ptr as Deno.PointerObject, length: args[1] as number }),
    },
    {
      name: "munmap",
      args: (region) =>
        region && [
          { good: () => region.ptr, bad: BAD_POINTERS },
          { good: () => region.length, bad: NOT_INTEGERS },
        ],
      run: (...a) => (sys.munmap as unknown as (...a: unknown[]) => unknown)(...a),
      after: (_, args) => {
        const i = regions.findIndex((r) => r.ptr === args[0]);
        if (i >= 0) regions.splice(i, 1);
      },
    },
    {
      name: "msync",
      args: regionArgs(integer(MS.SYNC, MS.ASYNC, 0, 7)),
      run: (...a) => (sys.msync as unknown as (...a: unknown[]) => unknown)(...a),
    },
    {
      name: "mprotect",
      args: regionArgs(integer(PROT.READ, PROT.READ | PROT.WRITE, PROT.NONE)),
      run: (...a) => (sys.mprotect as unknown as (...a: unknown[]) => unknown)(...a),
    },
    {
      name: "madvise",
      args: regionArgs(integer(0, 1, 3, 4, 999)),
      run: (...a) => (sys.madvise as unknown as (...a: unknown[]) => unknown)(...a),
    },
    {
      name: "mincore",
      args: (region) => {
        if (!region) return undefined;
        const pages = Math.ceil(region.length / PAGE);
        return [
          { good: () => region.ptr, bad: BAD_POINTERS },
          { good: () => region.length, bad: NOT_INTEGERS },
          {
            good: () => new Uint8Array(pages),
            bad: [null, undefined, [0, 0, 0], "vec", {}, 3, new Uint8Array(0)],
          },
        ];
      },
      run: (...a) => (sys.mincore as unknown as (...a: unknown[]) => unknown)(...a),
    },
    {
      name: "open",
      args: () => [
        pathArg(`${rawDir}/a.bin`, `${rawDir}/b.bin`, `${mapDir}/data.bin`),
        integer(O.RDWR | O.CREAT | O.CLOEXEC, O.RDONLY | O.CLOEXEC),
        optionalInteger(0o644, 0o600),
      ],
      run: (...a) => (sys.open as unknown as (...a: unknown[]) => unknown)(...a),
      after: (fd, args) => {
        const writable = String(args[0]).startsWith(rawDir) && ((args[1] as number) & 3) !== 0;
        rawFds.push({ fd: fd as number, writable });
      },
    },
    {
      name: "close",
      args: () => rawFds.length ? [integer(rawFd(false), NEVER_OPEN)] : undefined,
      run: (...a) => (sys.close as unknown as (...a: unknown[]) => unknown)(...a),
      after: (_, args) => {
        const i = rawFds.findIndex((f) => f.fd === args[0]);
        if (i >= 0) rawFds.splice(i, 1);
      },
    },
    {
      name: "ftruncate",
      args: () => [integer(rawFd(true)), integer(0, 10, PAGE)],
      run: (...a) => (sys.ftruncate as unknown as (...a: unknown[]) => unknown)(...a),
    },
    {
      name: "lseek",
      args: () => [integer(rawFd(false), roFd), integer(0, 10), integer(0, 1, 2)],
      run: (...a) => (sys.lseek as unknown as (...a: unknown[]) => unknown)(...a),
    },
    {
      name: "fileSize",
      args: () => [integer(rawFd(false), roFd, memFd), {
        good: () => pickOf([true, false, undefined]),
        bad: ["no", 0, null],
        optional: true,
      }],
      run: (...a) => (sys.fileSize as unknown as (...a: unknown[]) => unknown)(...a),
    },
    {
      name: "pread",
      args: () => [
        integer(rawFd(false), roFd),
        { good: () => new Uint8Array(16), bad: [null, undefined, "buf", [1, 2], {}, 16] },
        integer(0, 10),
      ],
      run: (...a) => (sys.pread as unknown as (...a: unknown[]) => unknown)(...a),
    },
    {
      name: "pwrite",
      args: () => [
        integer(rawFd(true)),
        { good: () => new Uint8Array(16), bad: [null, undefined, "buf", [1, 2], {}, 16] },
        integer(0, 10),
      ],
      run: (...a) => (sys.pwrite as unknown as (...a: unknown[]) => unknown)(...a),
    },
    {
      name: "fsync",
      args: () => [integer(rawFd(false), roFd)],
      run: (...a) => (sys.fsync as unknown as (...a: unknown[]) => unknown)(...a),
    },
    {
      name: "fadvise",
      args: () => [integer(rawFd(false), roFd), integer(0), integer(0, PAGE), integer(0, 2, 4)],
      run: (...a) => (sys.fadvise as unknown as (...a: unknown[]) => unknown)(...a),
    },
    {
      name: "mkfifo",
      args: () => [pathArg(`${rawDir}/fifo-${rawNames++}`), optionalInteger(0o600)],
      run: (...a) => (sys.mkfifo as unknown as (...a: unknown[]) => unknown)(...a),
    },
    {
      name: "memfdCreate",
      args: () => [
        { good: () => "fuzz", bad: ["nul\0", null, undefined, 5, {}] },
        optionalInteger(0, 1),
      ],
      run: (...a) => (sys.memfdCreate as unknown as (...a: unknown[]) => unknown)(...a),
      after: (fd) => rawFds.push({ fd: fd as number, writable: true }),
    },
    {
      name: "fileStatus",
      args: () => [integer(rawFd(false), roFd, memFd, fifoFd, dirFd, NEVER_OPEN)],
      run: (...a) => (sys.fileStatus as unknown as (...a: unknown[]) => unknown)(...a),
    },
    {
      name: "pathStatus",
      args: () => [pathArg(`${mapDir}/data.bin`, `${mapDir}/fifo`, `${mapDir}/sock`, mapDir)],
      run: (...a) => (sys.pathStatus as unknown as (...a: unknown[]) => unknown)(...a),
    },
    {
      // Only SIGXFSZ, which the run ignores already: ignoring another could hang or mask a crash.
      name: "ignoreSignal",
      args: () => [integer(SIG.XFSZ)],
      run: (...a) => (sys.ignoreSignal as unknown as (...a: unknown[]) => unknown)(...a),
    },
    {
      name: "getrusage",
      args: () => [optionalInteger(0, -1, 1)],
      run: (...a) => (sys.getrusage as unknown as (...a: unknown[]) => unknown)(...a),
    },
    {
      name: "fileSystemType",
      args: () => [pathArg(dir, mapDir)],
      run: (...a) => (sys.fileSystemType as unknown as (...a: unknown[]) => unknown)(...a),
    },
    {
      name: "listDirectory",
      args: () => [pathArg(dir, mapDir)],
      run: (...a) => (sys.listDirectory as unknown as (...a: unknown[]) => unknown)(...a),
    },
    {
      name: "waitpid",
      args: () => [integer(NEVER_OPEN, -1), optionalInteger(1)],
      run: (...a) => (sys.waitpid as unknown as (...a: unknown[]) => unknown)(...a),
    },
    {
      name: "prctl",
      // PR_SET_CHILD_SUBREAPER 0 (off, as it is): harmless.
      args: () => [integer(36), { good: () => 0, bad: NOT_INTEGERS }],
      run: (...a) => (sys.prctl as unknown as (...a: unknown[]) => unknown)(...a),
    },
    {
      name: "pointerAt",
      args: () => [{
        good: () => pickOf([0n, 4096n, 4096, 0]),
        bad: ["4096", "x", null, undefined, 1.5, -1, -1n, 2n ** 64n, {}, NaN],
      }],
      run: (...a) => (sys.pointerAt as unknown as (...a: unknown[]) => unknown)(...a),
    },
    {
      name: "addressOf",
      args: (region) => [{ good: () => region?.ptr ?? null, bad: BAD_POINTERS }],
      run: (...a) => (sys.addressOf as unknown as (...a: unknown[]) => unknown)(...a),
    },
    {
      name: "hex",
      args: (region) => [{ good: () => region?.ptr ?? null, bad: BAD_POINTERS }],
      run: (...a) => (sys.hex as unknown as (...a: unknown[]) => unknown)(...a),
    },
    {
      name: "futexWait",
      // view[i] is 7; 8 is never equal, so the call returns at once (EAGAIN).
      args: () => [
        { good: () => futexView, bad: [null, undefined, [7, 7], new Uint8Array(16), {}] },
        { good: () => int(4), bad: ["0", null, undefined, 1.5, 0n, {}, -1, 4, 1e9] },
        { good: () => 8, bad: ["8", null, undefined, 8n, {}, 8.5, NaN] },
      ],
      run: (...a) => (sys.futexWait as unknown as (...a: unknown[]) => unknown)(...a),
    },
    {
      name: "futexWake",
      args: () => [
        { good: () => futexView, bad: [null, undefined, [7, 7], new Uint8Array(16), {}] },
        { good: () => int(4), bad: ["0", null, undefined, 1.5, 0n, {}, -1, 4] },
        optionalInteger(1, 0),
      ],
      run: (...a) => (sys.futexWake as unknown as (...a: unknown[]) => unknown)(...a),
    },
  ];
  const futexView = new Int32Array(4).fill(7);

  function fuzzRaw(): void {
    let spec = pickOf(RAW);
    const region = regionOf();
    let argSpecs = spec.args(region);
    let badAt = -1;
    if (argSpecs) {
      if (chance(0.6)) badAt = int(argSpecs.length);
    } else {
      // No region (or descriptor) to call it on: map one, with good arguments.
      spec = RAW[0];
      argSpecs = spec.args(region)!;
    }
    const args = argSpecs.map((a, i) => i === badAt ? pickOf(a.bad) : a.good());
    // Trailing undefined: leave the argument out, as a caller would.
    while (args.length && args.at(-1) === undefined && argSpecs[args.length - 1].optional) {
      args.pop();
    }
    const verdict: Verdict = badAt >= 0 ? "bad" : "either";
    const r = call(`sys.${spec.name}`, args, verdict, () => spec.run(...args));
    if (r.ok && verdict !== "bad") spec.after?.(r.value, args);
    if (r.ok && verdict === "bad") {
      // A bad value got through: whatever it did to a region, stop using it.
      if (region && args.includes(region.ptr)) regions.splice(regions.indexOf(region), 1);
      if (spec.name === "mmap" && r.value) {
        regions.push({ ptr: r.value as Deno.PointerObject, length: PAGE });
      }
    }
    while (regions.length > 16) {
      const old = regions.shift()!;
      sys.munmap(old.ptr, old.length);
    }
    while (rawFds.length > 16) sys.close(rawFds.shift()!.fd);
  }

  // --- the run -------------------------------------------------------------

  const started = performance.now();
  while (index < calls) {
    const r = random();
    if (r < 0.1) fuzzMapFile();
    else if (r < 0.17) fuzzMapAnonymous();
    else if (r < 0.22) fuzzMapDescriptor();
    else if (r < 0.26) fuzzMapSharedMemory();
    else if (r < 0.3) fuzzResizeFile();
    else if (r < 0.65) fuzzMethod();
    else fuzzRaw();
  }
  const ms = Math.round(performance.now() - started);

  for (const { m } of live) m.unmap();
  for (const region of regions) {
    try {
      sys.munmap(region.ptr, region.length);
    } catch { /* a bad call may have unmapped part of it */ }
  }
  for (const { fd } of rawFds) {
    try {
      sys.close(fd);
    } catch { /* closed already */ }
  }
  for (const fd of [roFd, rwFd, memFd, fifoFd, dirFd]) sys.close(fd);
  socket.close();
  return { seed, calls: index, ms, outcomes, verdicts, functions, kinds, findings };
}

if (import.meta.main) {
  // As the checker's harness does: a file-size limit gives EFBIG, not death by SIGXFSZ.
  sys.ignoreSignal(SIG.XFSZ);
  const [seed, calls, dir] = Deno.args;
  const summary = runFuzz(Number(seed), Number(calls), dir);
  console.log(JSON.stringify(summary));
}
