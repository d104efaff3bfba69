/**
 * Checks of lab 01: a read-only mapping, answers read straight from memory,
 * a window at an unaligned offset, the empty file, and what the kernel shows
 * meanwhile (pages present only once touched, no read() of the file).
 *
 * Evidence: `/proc/PID/maps`, `/proc/PID/pagemap` and `/proc/PID/io` of the
 * child, read by the checker while the child is paused at a checkpoint; the
 * call record; and answers compared with files the checker generated at
 * random (sizes, words, offsets).
 *
 * @module
 */

import {
  type CallRecord,
  callsTo,
  type CheckContext,
  type ChildResult,
  defineChecks,
  hasFlag,
  hex,
  kB,
  pagemap,
  procIo,
  procMaps,
  requirePrediction,
  said,
  succeeded,
  sys,
} from "../../../lib/checker/mod.ts";
import type {
  AnswersParams,
  AnswersResult,
  AskedFile,
  FileAnswers,
  LazyParams,
  LazyResult,
  Outcome,
} from "./drive.ts";

const PAGE = sys.pageSize();
const encoder = new TextEncoder();

// ---------------------------------------------------------------------------
// Random text: real words and a few multi-byte UTF-8 ones, so that byte
// offsets and character offsets differ.

const WORDS = [
  "page",
  "cache",
  "kernel",
  "memory",
  "map",
  "file",
  "byte",
  "fault",
  "lazy",
  "read",
  "shared",
  "private",
  "offset",
  "length",
  "the",
  "a",
  "of",
  "and",
  "to",
  "in",
  "is",
  "café",
  "naïve",
  "über",
  "façade",
  "日本",
  "Ωmega",
  "déjà",
  "vu",
  "œuvre",
  "→",
];

/** UTF-8 length of each word, worked out once. */
const WORD_BYTES = WORDS.map((w) => encoder.encode(w).length);

function randomText(ctx: CheckContext, bytes: number): string {
  // One call for all the randomness: 2 random bytes per word (which word, end the line?).
  const noise = ctx.random.bytes(bytes);
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i += 2) {
    const pick = noise[i % noise.length] % WORDS.length;
    const sep = noise[(i + 1) % noise.length] < 26 ? "\n" : " "; // about 1 line in 10 words
    parts.push(WORDS[pick], sep);
    size += WORD_BYTES[pick] + 1;
  }
  return parts.join("");
}

/** Replaces bytes of `text` at byte offset `at` with `word` (both UTF-8), keeping the size. */
function plant(bytes: Uint8Array, at: number, word: Uint8Array): void {
  bytes.set(word, at);
}

function occurrences(hay: Uint8Array, needle: Uint8Array): number[] {
  const out: number[] = [];
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    out.push(i);
  }
  return out;
}

function newlines(bytes: Uint8Array): number {
  let n = 0;
  for (let i = bytes.indexOf(10); i !== -1; i = bytes.indexOf(10, i + 1)) n++;
  return n;
}

function fmt(n: number): string {
  return n.toLocaleString("en-US");
}

/** A generated file: its path, its bytes, the word and windows asked about. */
interface Made extends AskedFile {
  name: string;
  bytes: Uint8Array;
  /** Offsets where the checker planted the word (for messages). */
  planted: { at: number; why: string }[];
}

function makeFile(
  ctx: CheckContext,
  name: string,
  size: number,
  options: { endsWithNewline: boolean; word: string; places: { at: number; why: string }[] },
  windows: (size: number) => { offset: number; length: number }[],
): Made {
  const text = randomText(ctx, size + 16);
  const bytes = encoder.encode(text).slice(0, size);
  // Cutting UTF-8 at a byte count may split a character: harmless, the file is bytes.
  bytes[size - 1] = options.endsWithNewline ? 10 : 0x78; // "x"
  const word = encoder.encode(options.word);
  for (const p of options.places) plant(bytes, p.at, word);
  const path = ctx.file(name, bytes);
  return {
    name,
    path: Deno.realPathSync(path),
    bytes,
    word: options.word,
    windows: windows(size),
    planted: options.places,
  };
}

// ---------------------------------------------------------------------------
// The "lazy" run: mapWhole on a 1 MiB file and a 10,000-byte file, observed
// from outside at each checkpoint.

interface LazyRun {
  result: ChildResult;
  big: { path: string; size: number; bytes: Uint8Array };
  touch: number;
  samples: number[];
  /** What the checker saw; undefined when the child ended before that checkpoint. */
  afterMap?: { perms: string; areaBytes: number; present: number; pages: number };
  afterTouch?: { present: number; touchedPresent: boolean; runs: string };
  small?: { areaBytes: number; perms: string };
  problem?: string;
}

/**
 * Writes `bytes` to `path` one page per write(), as most programs write: the
 * page cache then holds the file in single pages, never in large folios
 * (which a single big write may make on ext4, and which fault-around maps
 * whole). With pages, what one read fault maps is the kernel's fault-around
 * window on every kernel (`ctx.kernel.faultAround.smallWrites`).
 */
function writeInPages(path: string, bytes: Uint8Array): string {
  using file = Deno.openSync(path, { write: true, truncate: true });
  for (let at = 0; at < bytes.length; at += PAGE) {
    const piece = bytes.subarray(at, Math.min(at + PAGE, bytes.length));
    let done = 0;
    while (done < piece.length) done += file.writeSync(piece.subarray(done));
  }
  return path;
}

/** Pages of the textbook's fault-around window (fault_around_bytes, 64 KiB): 1 with 64 KiB pages. */
const TEXTBOOK_WINDOW = Math.max(1, 65536 / PAGE);

/** The answers PREDICTED_AFTER_ONE_READ takes. */
export const ONE_READ_ANSWERS = [
  "only that page",
  "that page and some neighbours",
  "the whole file",
] as const;

/** Names what one read fault mapped: `present` pages of a `pages`-page mapping. */
export function oneReadAnswer(present: number, pages: number): (typeof ONE_READ_ANSWERS)[number] {
  if (present <= 1) return "only that page";
  if (present >= pages) return "the whole file";
  return "that page and some neighbours";
}

function findArea(pid: number, path: string) {
  return procMaps(pid).filter((a) => a.path === path);
}

/** "3-18, 40-47": present page numbers as runs. */
function runsOf(present: boolean[]): string {
  const runs: string[] = [];
  for (let i = 0; i < present.length; i++) {
    if (!present[i]) continue;
    let j = i;
    while (j + 1 < present.length && present[j + 1]) j++;
    runs.push(i === j ? `${i}` : `${i}-${j}`);
    i = j;
  }
  return runs.join(", ") || "none";
}

function lazyRun(ctx: CheckContext): Promise<LazyRun> {
  return ctx.once<LazyRun>("lazy", async () => {
    const size = ctx.random.int(256, 320) * PAGE + ctx.random.int(1, PAGE - 1);
    const bytes = ctx.random.bytes(size);
    const bigPath = Deno.realPathSync(writeInPages(ctx.file("big.bin", new Uint8Array(0)), bytes));
    const smallPath = Deno.realPathSync(ctx.file("small.bin", ctx.random.bytes(10_000)));
    const pages = Math.ceil(size / PAGE);
    const touchPage = ctx.random.int(Math.floor(pages / 3), Math.floor((2 * pages) / 3));
    const touch = touchPage * PAGE + ctx.random.int(0, PAGE - 1);
    const samples = [0, touch, size - 1, ctx.random.int(0, size - 1)];
    const params: LazyParams = { step: "lazy", big: bigPath, touch, small: smallPath, samples };
    const child = ctx.spawn("drive.ts", params);
    const run: Omit<LazyRun, "result"> = { big: { path: bigPath, size, bytes }, touch, samples };

    const mapped = await child.checkpoint();
    if (mapped?.name === "mapped") {
      const { address, length } = mapped.data as { address: string; length: number };
      const areas = findArea(child.pid, bigPath);
      const count = Math.ceil(length / PAGE);
      const present = pagemap(BigInt(address), count, child.pid).filter((p) => p.present).length;
      if (areas.length === 0) {
        run.problem = "no area of the file appears in /proc/PID/maps after mapWhole returned";
      } else {
        run.afterMap = {
          perms: areas[0].perms,
          areaBytes: areas.reduce((s, a) => s + Number(a.end - a.start), 0),
          present,
          pages: count,
        };
      }
      await child.resume();
      const touched = await child.checkpoint();
      if (touched?.name === "touched") {
        const info = pagemap(BigInt(address), count, child.pid).map((p) => p.present);
        run.afterTouch = {
          present: info.filter(Boolean).length,
          touchedPresent: info[touchPage] === true,
          runs: runsOf(info),
        };
        await child.resume();
        const small = await child.checkpoint();
        if (small?.name === "small-mapped") {
          const areas = findArea(child.pid, smallPath);
          if (areas.length > 0) {
            run.small = {
              areaBytes: areas.reduce((s, a) => s + Number(a.end - a.start), 0),
              perms: areas[0].perms,
            };
          }
          await child.resume();
        }
      }
    }
    const result = await child.result();
    return { ...run, result };
  });
}

// ---------------------------------------------------------------------------
// The "answers" run: every function on several files, the big scan watched
// through /proc/PID/io, and /proc/PID/maps at the end.

interface AnswersRun {
  result: ChildResult;
  files: Made[];
  big: Made;
  empty: string;
  missing: string;
  /** rchar growth across the scan of the big file, as the checker read it. */
  rcharGrowth?: number;
  /** Areas of the lab's files still mapped at the end. */
  leftMapped?: string[];
}

function answersRun(ctx: CheckContext): Promise<AnswersRun> {
  return ctx.once<AnswersRun>("answers", async () => {
    const word = ctx.random.nonce(ctx.random.int(7, 11));
    const wlen = encoder.encode(word).length;

    // A: a few pages, ends with a newline; the word at 0 and across a page boundary.
    const sizeA = ctx.random.int(2 * PAGE + 100, 4 * PAGE - 100);
    const crossA = PAGE * ctx.random.int(1, 2) - ctx.random.int(1, wlen - 1);
    const a = makeFile(ctx, "a.txt", sizeA, {
      endsWithNewline: true,
      word,
      places: [
        { at: 0, why: "at byte 0" },
        { at: crossA, why: "across a page boundary" },
      ],
    }, () => {
      const o1 = ctx.random.int(1, PAGE - 300);
      const o2 = PAGE - ctx.random.int(10, 200);
      return [
        { offset: o1, length: ctx.random.int(20, 200) },
        { offset: o2, length: ctx.random.int(300, 600) }, // crosses into page 1
      ];
    });
    // B: no trailing newline; the word ends at the last byte of the file.
    const sizeB = ctx.random.int(3 * PAGE, 6 * PAGE) + ctx.random.int(1, PAGE - 1);
    const b = makeFile(ctx, "b.txt", sizeB, {
      endsWithNewline: false,
      word,
      places: [
        { at: ctx.random.int(PAGE, 2 * PAGE), why: "in the middle" },
        { at: sizeB - wlen, why: "at the very end of the file" },
      ],
    }, (size) => {
      const length = ctx.random.int(50, 500);
      const o = 2 * PAGE + ctx.random.int(1, PAGE - 200);
      return [
        { offset: size - length, length }, // ends exactly at the end of the file
        { offset: o, length: ctx.random.int(10, 100) },
      ];
    });
    // C: exactly some pages long, a newline as the very last byte.
    const pagesC = ctx.random.int(2, 4);
    const c = makeFile(ctx, "c.txt", pagesC * PAGE, {
      endsWithNewline: true,
      word,
      places: [{ at: ctx.random.int(PAGE, 2 * PAGE - wlen - 1), why: "in page 1" }],
    }, () => [{ offset: PAGE, length: ctx.random.int(100, 1000) }]); // an aligned offset
    // The big file: 1.5 to 3 MiB, the word planted at random places.
    const sizeBig = ctx.random.int(384, 768) * PAGE + ctx.random.int(1, PAGE - 1);
    const places = Array.from({ length: ctx.random.int(12, 30) }, () => ({
      at: ctx.random.int(0, sizeBig - wlen - 1),
      why: "somewhere in the big file",
    })).sort((x, y) => x.at - y.at).filter((p, i, all) => i === 0 || p.at >= all[i - 1].at + wlen);
    const big = makeFile(
      ctx,
      "big.txt",
      sizeBig,
      { endsWithNewline: true, word, places },
      (size) => {
        const length = ctx.random.int(1000, 5000);
        const offset = ctx.random.int(Math.floor(size / 2), size - length - 1);
        return [{ offset: offset % PAGE === 0 ? offset + 1 : offset, length }];
      },
    );
    const empty = Deno.realPathSync(ctx.file("empty.txt", new Uint8Array(0)));
    const missing = `${Deno.realPathSync(ctx.scratch)}/missing-${ctx.random.nonce(6)}.txt`;

    const strip = (m: Made): AskedFile => ({ path: m.path, word: m.word, windows: m.windows });
    const params: AnswersParams = {
      step: "answers",
      files: [a, b, c].map(strip),
      big: strip(big),
      empty,
      missing,
    };
    const child = ctx.spawn("drive.ts", params, { timeoutMs: 20_000 });
    const run: Omit<AnswersRun, "result"> = { files: [a, b, c], big, empty, missing };
    const before = await child.checkpoint();
    if (before?.name === "before-scan") {
      const rchar0 = procIo(child.pid).rchar;
      await child.resume();
      const after = await child.checkpoint();
      if (after?.name === "after-scan") {
        run.rcharGrowth = procIo(child.pid).rchar - rchar0;
        await child.resume();
        const done = await child.checkpoint();
        if (done?.name === "done") {
          const paths = new Set([a, b, c, big].map((f) => f.path).concat(empty));
          run.leftMapped = procMaps(child.pid).filter((e) => paths.has(e.path)).map((e) =>
            `${e.path.split("/").pop()} (${fmt(Number(e.end - e.start))} bytes, ${e.perms})`
          );
          await child.resume();
        }
      }
    }
    const result = await child.result();
    return { ...run, result };
  });
}

function answersOf(ctx: CheckContext, run: AnswersRun, doing: string): AnswersResult {
  return ctx.expectOk(run.result, doing) as AnswersResult;
}

function callsOf(run: AnswersRun, outcome: Outcome<unknown>): CallRecord[] {
  return run.result.calls.slice(outcome.from, outcome.to);
}

function threw(ctx: CheckContext, what: string, outcome: Outcome<unknown>, mistake?: string): void {
  if (outcome.error) {
    ctx.fail(`${what} threw ${outcome.error.name}: ${outcome.error.message}`, { mistake });
  }
}

/** Every (file, answers) pair of the run, big file last. */
function pairs(run: AnswersRun, got: AnswersResult): [Made, FileAnswers][] {
  return [...run.files.map((f, i) => [f, got.files[i]] as [Made, FileAnswers]), [run.big, got.big]];
}

export default defineChecks([
  {
    id: "maps-lazily",
    title: "mapWhole maps the whole file read-only, and no page is in memory until touched",
    points: 2,
    hint:
      'return mapFile(path, { access: "read" }): no populate, no peeking at the bytes inside mapWhole.',
    async run(ctx: CheckContext) {
      const run = await lazyRun(ctx);
      const mmaps = succeeded(run.result.calls, "mmap");
      if (!run.afterMap) {
        if (run.result.outcome === "threw" && run.result.error?.name === "TypeError") {
          ctx.fail(run.result.error.message, {
            mistake:
              'mapWhole must return the Mapping that mapFile(path, { access: "read" }) gives you',
          });
        }
        ctx.expectOk(run.result, "mapWhole");
        ctx.fail(run.problem ?? "the child ended before the checker could look at the mapping", {
          mistake: "mapWhole must return the Mapping that mapFile gave you (and not unmap it)",
        });
      }
      const first = mmaps[0];
      if (first && hasFlag(first, "PROT_WRITE")) {
        ctx.fail("the file was mapped with PROT_WRITE", {
          expected: "mmap(NULL, …, PROT_READ, MAP_SHARED or MAP_PRIVATE, fd, 0)",
          observed: `perms ${run.afterMap.perms} in /proc/PID/maps`,
          mistake:
            'mapped read-write: this lab only reads, so ask for access "read" (PROT_READ); a stray ' +
            "store then dies with SIGSEGV instead of changing the file",
        });
      }
      if (!run.afterMap.perms.startsWith("r--")) {
        ctx.fail("the mapping is not read-only", {
          expected: "r--s or r--p in /proc/PID/maps",
          observed: run.afterMap.perms,
          mistake: 'map with access "read" (PROT_READ only)',
        });
      }
      const fileBytes = Math.ceil(run.big.size / PAGE) * PAGE;
      if (run.afterMap.areaBytes < fileBytes) {
        ctx.fail("the mapping does not cover the whole file", {
          expected: `${fmt(fileBytes)} bytes of address space (${fmt(run.big.size)}-byte file)`,
          observed: `${fmt(run.afterMap.areaBytes)} bytes`,
          mistake: "mapWhole maps from offset 0 to the end: leave out offset and length",
        });
      }
      if (run.afterMap.present > 0) {
        const populated = first && hasFlag(first, "MAP_POPULATE");
        ctx.fail("pages of the file were in the process before anything read them", {
          expected: "0 pages present right after mmap",
          observed: `${run.afterMap.present} of ${run.afterMap.pages} pages present`,
          mistake: populated
            ? "populate: true (MAP_POPULATE) pre-faults every page: leave it out, let pages come in when touched"
            : "mapWhole touched the bytes: return the mapping without reading it",
        });
      }
      const value = ctx.expectOk(run.result, "mapWhole") as LazyResult;
      ctx.expectEqual(value.length, run.big.size, {
        what: "the mapping's length",
        mistake: "map the whole file: leave out offset and length",
      });
      ctx.expectEqual(value.samples, run.samples.map((i) => run.big.bytes[i]), {
        what: "bytes read through your mapping",
        mistake: "the mapping must show the file from byte 0",
      });
      if (!run.afterTouch?.touchedPresent) {
        ctx.fail("the page that was read is not present afterwards", {
          observed: `present pages: ${run.afterTouch?.runs ?? "unknown"}`,
        });
      }
      // What reading one byte mapped is a prediction's answer: predicts-pages shows it.
      ctx.note(`right after mmap: ${run.afterMap.present} of ${run.afterMap.pages} pages present`);
    },
  },
  {
    id: "predicts-pages",
    title: "your predictions match what the kernel did",
    points: 2,
    parent: "maps-lazily",
    hint:
      "The kernel maps whole pages, and mapping.length is not what /proc/PID/maps shows. And a fault on a file it already caches: does the kernel map just the one page?",
    async run(ctx: CheckContext) {
      const run = await lazyRun(ctx);
      const { afterOneRead: said1, mappedBytes: bytes } =
        (ctx.expectOk(run.result, "mapWhole") as LazyResult).predictions;
      requirePrediction(ctx, bytes, { name: "PREDICTED_MAPPED_BYTES", allowed: "number" });
      const oneRead = requirePrediction(ctx, said1, {
        name: "PREDICTED_AFTER_ONE_READ",
        allowed: ONE_READ_ANSWERS,
      });
      if (!run.small) ctx.fail("the 10,000-byte file's mapping was not found in /proc/PID/maps");
      if (!run.afterTouch) ctx.fail("the child ended before the checker saw the page it read");
      const observedBytes = run.small.areaBytes;
      if (bytes !== observedBytes) {
        ctx.fail(
          "your prediction differs from what the kernel did: PREDICTED_MAPPED_BYTES. Look at " +
            "the mapping's line in /proc/PID/maps (end minus start) and at mmap's length in the " +
            'lesson\'s last section, "After your predictions"',
          {
            expected: `${fmt(observedBytes)} bytes of address space for the 10,000-byte file ` +
              `(/proc/PID/maps)`,
            observed: `you predicted ${said(bytes)}`,
            mistake: `a mapping is made of whole pages (${fmt(PAGE)} bytes here): its length ` +
              "is rounded up to the next page boundary, although mapping.length says 10,000",
          },
        );
      }
      const pages = run.afterMap!.pages;
      const touchPage = Math.floor(run.touch / PAGE);
      const present = run.afterTouch.present;
      const observed = oneReadAnswer(present, pages);
      const profile = ctx.kernel.faultAround.smallWrites;
      const window = `${present} pages present after reading 1 byte of page ${touchPage} ` +
        `(pages ${run.afterTouch.runs} of 0-${pages - 1})`;
      if (oneRead !== observed) {
        ctx.fail(
          "your prediction differs from what the kernel did: PREDICTED_AFTER_ONE_READ. Look at " +
            "/proc/PID/pagemap around the page that was read (the pages present, below), and " +
            'read the lesson\'s last section, "After your predictions"',
          {
            expected: `${JSON.stringify(observed)}: ${window}`,
            observed: `you predicted ${JSON.stringify(oneRead)}`,
            mistake: observed === "that page and some neighbours"
              ? "a read fault on a file the kernel already caches maps the cached pages around " +
                `the one touched too ("fault-around", ${present} pages here), so that the next ` +
                "reads nearby cost no fault"
              : observed === "only that page"
              ? "this kernel maps only the page that faulted (its fault-around is off)"
              : "this kernel mapped every page of the file on one fault",
            kernel: present === TEXTBOOK_WINDOW ? undefined : `one read fault mapped ` +
              `${present} pages here; the textbook's fault-around maps 64 KiB ` +
              `(${TEXTBOOK_WINDOW} page${TEXTBOOK_WINDOW === 1 ? "" : "s"} of ${kB(PAGE)})`,
          },
        );
      }
      ctx.note(
        `you predicted ${fmt(bytes)} bytes for the 10,000-byte file's mapping; ` +
          `/proc/PID/maps showed ${fmt(observedBytes)}`,
      );
      ctx.note(
        `you predicted ${JSON.stringify(oneRead)}; the kernel: ${window}. The kernel profile's ` +
          `fault-around: ${profile} pages for a file written page by page (as here), ` +
          `${ctx.kernel.faultAround.largeWrite} for one written in one go (deno task lab doctor)`,
      );
    },
  },
  {
    id: "counts-lines",
    title: "countLines counts the newline bytes of random files",
    points: 2,
    hint:
      "Scan mapping.bytes for the byte 10 (\\n); bytes.indexOf(10, from) is quick. Like wc -l: a last line without \\n does not count.",
    async run(ctx: CheckContext) {
      const run = await answersRun(ctx);
      const got = answersOf(ctx, run, "countLines");
      for (const [file, answers] of pairs(run, got)) {
        threw(ctx, `countLines on ${file.name}`, answers.countLines);
        const expected = newlines(file.bytes);
        const observed = answers.countLines.value;
        const lastIsNewline = file.bytes[file.bytes.length - 1] === 10;
        ctx.expectEqual(observed, expected, {
          what: `the line count of ${file.name} (${fmt(file.bytes.length)} bytes)`,
          mistake: observed === expected + 1 && !lastIsNewline
            ? "counted the last line without a newline: count newline bytes, like wc -l"
            : observed === 0
            ? "nothing counted: map the file and count the bytes equal to 10 in mapping.bytes"
            : "count every byte equal to 10 in mapping.bytes, from the first byte to the last",
        });
      }
    },
  },
  {
    id: "finds-words",
    title: "findAll finds every occurrence, as byte offsets",
    points: 2,
    hint:
      "Encode the word with TextEncoder and compare bytes; offsets count bytes, and the file has multi-byte UTF-8 characters.",
    async run(ctx: CheckContext) {
      const run = await answersRun(ctx);
      const got = answersOf(ctx, run, "findAll");
      for (const [file, answers] of pairs(run, got)) {
        threw(ctx, `findAll on ${file.name}`, answers.findAll);
        const expected = occurrences(file.bytes, encoder.encode(file.word));
        const observed = answers.findAll.value;
        if (JSON.stringify(observed) === JSON.stringify(expected)) continue;
        const text = new TextDecoder().decode(file.bytes);
        const chars: number[] = [];
        for (let i = text.indexOf(file.word); i !== -1; i = text.indexOf(file.word, i + 1)) {
          chars.push(i);
        }
        const seen = new Set(Array.isArray(observed) ? observed : []);
        const missed = file.planted.filter((p) => expected.includes(p.at) && !seen.has(p.at));
        let mistake = "return every byte offset where the word's bytes start, in increasing order";
        if (Array.isArray(observed) && observed.length === 0) {
          mistake =
            "found nothing: map the file with mapWhole and compare its bytes with the word's bytes";
        } else if (JSON.stringify(observed) === JSON.stringify(chars) && chars.length > 0) {
          mistake =
            "those are character positions of a decoded string, not byte offsets: the file has multi-byte UTF-8; compare bytes";
        } else if (missed.length > 0) {
          mistake = `missed the occurrence ${missed[0].why} (byte ${missed[0].at})` +
            (missed[0].why.includes("end") ? ": an off-by-one in the loop's last start?" : "");
        }
        ctx.fail(`findAll on ${file.name} (${fmt(file.bytes.length)} bytes) is wrong`, {
          expected: JSON.stringify(expected),
          observed: JSON.stringify(observed),
          mistake,
        });
      }
    },
  },
  {
    id: "reads-window",
    title: "readWindow maps only the pages of the window, from a page-aligned offset",
    points: 3,
    hint:
      "Map from the start of the page that holds `offset` (mmap's offset must be a multiple of sys.pageSize()), only as far as the window's last byte, skip the bytes before `offset`, and return a slice() copy: unmap detaches views.",
    async run(ctx: CheckContext) {
      const run = await answersRun(ctx);
      const got = answersOf(ctx, run, "readWindow");
      for (const [file, answers] of pairs(run, got)) {
        file.windows.forEach((w, i) => {
          const outcome = answers.windows[i];
          const what = `readWindow(${file.name}, ${w.offset}, ${w.length})`;
          const base = w.offset - (w.offset % PAGE);
          const skip = w.offset - base;
          threw(
            ctx,
            what,
            outcome,
            /multiple of the page size|EINVAL/.test(outcome.error?.message ?? "")
              ? `passing the byte offset straight to mapFile: mmap's offset must be a multiple of the page size (${PAGE}); map from ${base} and skip ${skip} bytes`
              : undefined,
          );
          const expected = hex(file.bytes.slice(w.offset, w.offset + w.length));
          const observed = outcome.value ?? "";
          if (observed !== expected) {
            const fromBase = hex(file.bytes.slice(base, base + w.length));
            ctx.fail(`${what} returned the wrong bytes`, {
              expected: `${w.length} bytes: ${expected.slice(0, 32)}…`,
              observed: `${observed.length / 2} bytes: ${observed.slice(0, 32)}…`,
              mistake: /^(00)+$/.test(observed) && !/^(00)+$/.test(expected)
                ? "all zeros: still the stub's placeholder (new Uint8Array(length))?"
                : observed.length === 0
                ? "returned a view (subarray) of the mapping: unmap() detached it, so it has length 0; return a copy with slice()"
                : observed === fromBase && skip > 0
                ? `these are the bytes from the page start (${base}): skip offset - base = ${skip} bytes`
                : "return bytes [offset - base, offset - base + length) of a mapping that starts at base",
            });
          }
          const calls = callsOf(run, outcome);
          const mmaps = succeeded(calls, "mmap");
          if (mmaps.length === 0) {
            ctx.fail(`${what} made no mmap call`, {
              mistake: "read the window through a mapping: mapFile(path, { offset, length })",
            });
          }
          const m = mmaps[mmaps.length - 1];
          const len = m.args.length as number;
          const need = skip + w.length;
          if (m.args.offset === 0 && len >= file.bytes.length && file.bytes.length > need) {
            ctx.fail(`${what} mapped the whole file (${fmt(len)} bytes) to read ${fmt(w.length)}`, {
              expected: `mmap(…, ${fmt(need)}, …, offset ${base})`,
              observed: `mmap(…, ${fmt(len)}, …, offset 0)`,
              mistake:
                "mapped the whole file and sliced it: map only the window's pages, with mapFile's offset and length options",
            });
          }
          if (m.args.offset !== base) {
            ctx.fail(`${what} mapped from file offset ${m.args.offset}`, {
              expected: `mmap(…, offset ${base}): the page that holds byte ${w.offset}`,
              observed: `mmap(…, ${len}, …, offset ${m.args.offset})`,
              mistake: m.args.offset === 0
                ? "mapped the whole file and sliced it: map only the window, with mapFile's offset option"
                : "the offset must be the page that holds the window's first byte",
            });
          }
          if (len < need || len > Math.ceil(need / PAGE) * PAGE) {
            ctx.fail(`${what} mapped ${fmt(len)} bytes to read ${fmt(w.length)}`, {
              expected: `${fmt(need)} bytes (the ${skip} skipped + the ${w.length} wanted)`,
              observed: `mmap(…, ${fmt(len)}, …, offset ${base})`,
              mistake:
                "pass length too: (offset - base) + length; without it mapFile maps to the end of the file",
            });
          }
          if (!callsTo(calls, "munmap").some((c) => c.args.addr === m.result)) {
            ctx.fail(`${what} left its mapping behind`, {
              mistake:
                "forgetting munmap: `using mapping = mapFile(…)` unmaps at the end of the block",
            });
          }
        });
      }
      const w = run.big.windows[0];
      ctx.note(
        `readWindow(big.txt, ${fmt(w.offset)}, ${w.length}) mapped from ${
          fmt(w.offset - (w.offset % PAGE))
        } ` +
          `and skipped ${w.offset % PAGE} bytes`,
      );
    },
  },
  {
    id: "no-read",
    title: "scanning a big file goes through the mapping: read() delivers none of its bytes",
    points: 2,
    parent: "counts-lines",
    hint:
      "Get every byte from mapping.bytes: no Deno.readFile, no Deno.open(…).read, no sys.pread.",
    async run(ctx: CheckContext) {
      const run = await answersRun(ctx);
      const got = answersOf(ctx, run, "the big scan");
      const size = run.big.bytes.length;
      if (run.rcharGrowth === undefined) {
        ctx.fail("the checker could not read /proc/PID/io during the scan");
      }
      const outcomes = [got.big.countLines, got.big.findAll, ...got.big.windows];
      const calls = outcomes.flatMap((o) => callsOf(run, o));
      const preads = callsTo(calls, "pread");
      ctx.note(
        `scanning the ${fmt(size)}-byte file with countLines, findAll and readWindow added ` +
          `${fmt(run.rcharGrowth)} bytes to rchar in /proc/PID/io`,
      );
      if (run.rcharGrowth > size / 8 || preads.length > 0) {
        ctx.fail("the big file was read with read(), not through a mapping", {
          expected: `rchar grows by far less than the file (${fmt(size)} bytes)`,
          observed: `rchar grew by ${fmt(run.rcharGrowth)} bytes` +
            (preads.length ? `; ${preads.length} pread call(s)` : ""),
          mistake:
            "read() instead of mapping (Deno.readFileSync, a file's read(), sys.pread): take the bytes from mapping.bytes",
        });
      }
      for (
        const [name, o] of [["countLines", got.big.countLines], [
          "findAll",
          got.big.findAll,
        ]] as const
      ) {
        if (succeeded(callsOf(run, o), "mmap").length === 0) {
          ctx.fail(`${name} on the big file made no mmap call`, {
            mistake: "map the file with mapFile (through mapWhole) and read mapping.bytes",
          });
        }
      }
    },
  },
  {
    id: "unmaps",
    title: "nothing stays mapped once the functions return",
    points: 1,
    parent: "counts-lines",
    hint: "`using mapping = mapWhole(path)` unmaps when the block ends, even on an early return.",
    async run(ctx: CheckContext) {
      const run = await answersRun(ctx);
      answersOf(ctx, run, "the functions");
      if (run.leftMapped === undefined) {
        ctx.fail("the checker could not read /proc/PID/maps at the end");
      }
      const maps = succeeded(run.result.calls, "mmap").length;
      const unmaps = succeeded(run.result.calls, "munmap").length;
      if (run.leftMapped.length > 0) {
        ctx.fail(
          `${run.leftMapped.length} mapping(s) of the lab's files were still there at the end`,
          {
            expected: "no area of the files in /proc/PID/maps",
            observed: `${
              run.leftMapped.slice(0, 4).join("; ")
            } (${maps} mmap, ${unmaps} munmap calls)`,
            mistake:
              "forgetting munmap: write `using mapping = …` (or call mapping.unmap()) in every function",
          },
        );
      }
      ctx.note(`${maps} mmap and ${unmaps} munmap calls; none of the files mapped at the end`);
    },
  },
  {
    id: "empty-file",
    title: "an empty file works everywhere, without mmap; a missing file is still an error",
    points: 2,
    parent: "counts-lines",
    hint:
      "Deno.statSync(path).size === 0: return undefined / 0 / [] / an empty array before mapping. mmap of length 0 is EINVAL.",
    async run(ctx: CheckContext) {
      const run = await answersRun(ctx);
      const got = answersOf(ctx, run, "the empty file");
      const e = got.empty;
      const mistake = "mmap of length 0 is EINVAL, so answer without mapping: mapWhole returns " +
        "undefined when Deno.statSync(path).size is 0, readWindow an empty array when " +
        "length is 0";
      threw(ctx, "mapWhole on an empty file", e.mapWhole, mistake);
      threw(ctx, "countLines on an empty file", e.countLines, mistake);
      threw(ctx, "findAll on an empty file", e.findAll, mistake);
      threw(ctx, "readWindow(empty, 0, 0)", e.readWindow, mistake);
      ctx.expectEqual(e.mapWhole.value, "undefined", {
        what: "mapWhole on an empty file",
        mistake: "return undefined for an empty file",
      });
      ctx.expectEqual(e.countLines.value, 0, { what: "countLines on an empty file" });
      ctx.expectEqual(e.findAll.value, [], { what: "findAll on an empty file" });
      ctx.expectEqual(e.readWindow.value, "", { what: "readWindow(empty, 0, 0)" });
      const attempts = [e.mapWhole, e.countLines, e.findAll, e.readWindow]
        .flatMap((o) => callsTo(callsOf(run, o), "mmap"));
      if (attempts.length > 0) {
        ctx.fail("mmap was called for the empty file", {
          observed: `${attempts.length} mmap call(s), ${attempts[0].error ?? "ok"}`,
          mistake,
        });
      }
      if (!got.missing.error) {
        ctx.fail("countLines on a file that does not exist returned instead of throwing", {
          expected: "an error (ENOENT / NotFound)",
          observed: `returned ${JSON.stringify(got.missing.value)}`,
          mistake:
            "a catch-all around mapFile hides real errors: test the size first instead of catching EINVAL",
        });
      }
      ctx.note(
        `missing file: countLines threw ${got.missing.error.name} (good: errors stay errors)`,
      );
    },
  },
]);
