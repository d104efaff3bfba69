/**
 * Checks of lab 09: a lookup over a sorted-record file through a mapping.
 *
 * Evidence: answers compared with the file the checker wrote (random keys and
 * values each run); /proc/PID/maps and smaps of the child read by the checker
 * at checkpoints (the file is mapped, VmFlags shows "rr"); the call record
 * (mmap of the file, munmap, no pread); /proc/self/io rchar measured around
 * the lookups; and pages read per lookup from a cold page cache, counted with
 * mincore(2) by the drive (exact under MADV_RANDOM: no read-around).
 */
import {
  callsTo,
  type CheckContext,
  type ChildResult,
  defineChecks,
  hasFlag,
  type KernelProfile,
  procMaps,
  requirePrediction,
  smaps,
} from "../../../lib/checker/mod.ts";
import type { LookupPages, PagesTable, TablePages } from "./drive.ts";

const RECORD = 32;
const PAGE = 4096;
const PER_PAGE = PAGE / RECORD;

interface Built {
  name: string;
  path: string;
  /** realpath, as /proc/PID/maps shows it */
  real: string;
  count: number;
  pages: number;
  keys: BigUint64Array;
  buf: Uint8Array;
}

const TWO_53 = 2n ** 53n;
const TWO_63 = 2n ** 63n;

function build(ctx: CheckContext, name: string, count: number): Built {
  const buf = new Uint8Array(count * RECORD);
  const view = new DataView(buf.buffer);
  const gaps = new Uint32Array(ctx.random.bytes(count * 4).buffer);
  const letters = ctx.random.bytes(count * 24);
  const keys = new BigUint64Array(count);
  // Three runs of keys, each with a key exactly at its anchor: above 2^32 (a 32-bit read is
  // caught), at 2^53 (a Number holds integers exactly only below it: 2^53 + 1 reads as 2^53)
  // and at 2^63 (a signed 64-bit read makes it negative). Gaps of 2 to 257, so key + 1 is
  // absent, and above 2^53 it rounds, as a Number, onto the key itself.
  const anchors = [BigInt(ctx.random.int(1 << 21, 2 ** 31)) * 4096n, TWO_53, TWO_63];
  const runs = count < 3
    ? [count]
    : [0, 1, 2].map((r) => Math.floor((count * (r + 1)) / 3) - Math.floor((count * r) / 3));
  let i = 0;
  for (const [r, length] of runs.entries()) {
    const anchor = count < 3 ? anchors[0] : anchors[r];
    const at = Math.floor(length / 2); // the run's key at `at` is the anchor itself
    const offsets: bigint[] = [0n];
    for (let j = 1; j < length; j++) offsets.push(offsets[j - 1] + 2n + BigInt(gaps[i + j] & 0xff));
    for (let j = 0; j < length; j++, i++) {
      keys[i] = anchor + offsets[j] - offsets[at];
      view.setBigUint64(i * RECORD, keys[i], true);
      for (let k = 0; k < 24; k++) buf[i * RECORD + 8 + k] = 97 + (letters[i * 24 + k] % 26);
    }
  }
  const path = ctx.file(name, buf);
  // Clean pages only: the drive drops them from the page cache before each measured lookup.
  const f = Deno.openSync(path, { read: true, write: true });
  f.syncDataSync();
  f.close();
  return {
    name,
    path,
    real: Deno.realPathSync(path),
    count,
    pages: Math.ceil((count * RECORD) / PAGE),
    keys,
    buf,
  };
}

function value(t: Built, i: number): string {
  return String.fromCharCode(...t.buf.subarray(i * RECORD + 8, i * RECORD + RECORD));
}

function keyText(n: bigint): string {
  return n.toString();
}

interface Tables {
  empty: Built;
  one: Built;
  odd: Built;
  measured: Built[]; // 64, 512, 4096 pages
}

function tables(ctx: CheckContext): Promise<Tables> {
  return ctx.once("tables", () =>
    Promise.resolve({
      empty: build(ctx, "empty.tbl", 0),
      one: build(ctx, "one.tbl", 1),
      odd: build(ctx, "odd.tbl", ctx.random.int(1000, 5000)),
      measured: [64, 512, 4096].map((p) => build(ctx, `pages${p}.tbl`, p * PER_PAGE)),
    }));
}

type Kind = "first" | "last" | "present" | "absent" | "below" | "above" | "2^53" | "2^63";
interface Query {
  key: string;
  expect: string | null;
  kind: Kind;
}

function queries(ctx: CheckContext, t: Built, present: number, absent: number): Query[] {
  const out: Query[] = [];
  if (t.count === 0) {
    for (let i = 0; i < 3; i++) {
      out.push({
        key: keyText(BigInt(ctx.random.int(0, 2 ** 31)) * 4096n),
        expect: null,
        kind: "absent",
      });
    }
    return out;
  }
  const last = t.count - 1;
  out.push({ key: keyText(t.keys[0]), expect: value(t, 0), kind: "first" });
  if (last > 0) out.push({ key: keyText(t.keys[last]), expect: value(t, last), kind: "last" });
  out.push({ key: keyText(t.keys[0] - 1n), expect: null, kind: "below" });
  out.push({ key: keyText(t.keys[last] + 1n), expect: null, kind: "above" });
  // Around the anchors: the key at 2^53 and at 2^63, and the absent keys just above each.
  for (const [anchor, kind] of [[TWO_53, "2^53"], [TWO_63, "2^63"]] as const) {
    const i = t.keys.indexOf(anchor);
    if (i < 0) continue;
    out.push({ key: keyText(anchor), expect: value(t, i), kind });
    out.push({ key: keyText(anchor + 1n), expect: null, kind });
    if (i + 1 <= last) out.push({ key: keyText(t.keys[i + 1]), expect: value(t, i + 1), kind });
  }
  for (let n = 0; n < present && t.count > 2; n++) {
    const i = ctx.random.int(1, last - 1);
    out.push({ key: keyText(t.keys[i]), expect: value(t, i), kind: "present" });
  }
  for (let n = 0; n < absent && t.count > 1; n++) {
    const i = ctx.random.int(0, last - 1);
    out.push({ key: keyText(t.keys[i] + 1n), expect: null, kind: "absent" });
  }
  return out;
}

interface AnswersRun {
  plan: { table: Built; queries: Query[] }[];
  result: ChildResult;
  /** Per table: mapped in the child when openTable had returned. */
  mappedAtOpen: boolean[];
  /** VmFlags of the child's mapping of the biggest table (at open and after the lookups). */
  flags: string[];
}

function answersRun(ctx: CheckContext): Promise<AnswersRun> {
  return ctx.once("answers", async () => {
    const t = await tables(ctx);
    const big = t.measured[2];
    const plan = [
      { table: t.empty, queries: queries(ctx, t.empty, 0, 0) },
      { table: t.one, queries: queries(ctx, t.one, 0, 0) },
      { table: t.odd, queries: queries(ctx, t.odd, 40, 20) },
      { table: big, queries: queries(ctx, big, 30, 10) },
    ];
    const child = ctx.spawn("drive.ts", {
      mode: "answers",
      tables: plan.map((p) => ({ path: p.table.path, queries: p.queries.map((q) => q.key) })),
    }, { timeoutMs: 20_000 });
    let mappedAtOpen: boolean[] = [];
    const flags = new Set<string>();
    const readFlags = () => {
      for (const e of smaps(child.pid)) {
        if (e.path === big.real) e.vmFlags.forEach((f) => flags.add(f));
      }
    };
    if (await child.checkpoint()) {
      const maps = procMaps(child.pid);
      mappedAtOpen = plan.map((p) => maps.some((e) => e.path === p.table.real));
      readFlags();
      await child.resume();
      if (await child.checkpoint()) {
        readFlags();
        await child.resume();
      }
    }
    return { plan, result: await child.result(), mappedAtOpen, flags: [...flags] };
  });
}

interface PagesRun {
  result: ChildResult;
  value?: {
    results: TablePages[];
    stopped: boolean;
    evictable: boolean;
    ownAdvice: LookupPages[];
    normalAdvice: LookupPages[];
    timing?: Record<string, number>;
    predicted: unknown;
  };
}

/**
 * The most a binary search may cost. Pages read: log2(pages) of them (+1 at
 * worst), times the pages this kernel reads per fault under MADV_RANDOM (1 on
 * every kernel measured so far; the profile says); +3 is generous. Without a
 * page cache to empty (tmpfs), count fault-around windows of this kernel's
 * size instead.
 */
function bound(pages: number, evictable: boolean, kernel: KernelProfile): number {
  const perFault = Math.max(1, kernel.readAround?.random ?? 1);
  const window = Math.max(1, kernel.faultAround.smallWrites);
  return evictable ? (Math.log2(pages) + 3) * perFault : Math.max(1, Math.log2(pages / window)) + 3;
}

function pagesRun(ctx: CheckContext): Promise<PagesRun> {
  return ctx.once("pages", async () => {
    const t = await tables(ctx);
    const params: PagesTable[] = t.measured.map((b) => ({
      path: b.path,
      pages: b.pages,
      keys: Array.from({ length: 9 }, () => keyText(b.keys[ctx.random.int(0, b.count - 1)])),
      bound: bound(b.pages, true, ctx.kernel),
    }));
    const window = Math.max(1, ctx.kernel.faultAround.smallWrites);
    const result = await ctx.run("drive.ts", {
      mode: "pages",
      tables: params,
      window,
      extras: true,
    }, {
      timeoutMs: 25_000,
    });
    return {
      result,
      value: result.outcome === "ok" ? result.value as PagesRun["value"] : undefined,
    };
  });
}

/**
 * The lookups measured from an empty page cache. A table that close() leaves
 * mapped keeps its pages in the cache (posix_fadvise cannot drop mapped
 * pages), which would make later lookups look cheaper than they are.
 */
function clean(lookups: LookupPages[]): LookupPages[] {
  const cold = lookups.filter((l) => l.before === 0);
  return cold.length ? cold : lookups;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.floor((s.length - 1) / 2)];
}

function fixed(n: number | undefined, digits = 1): string {
  return n === undefined ? "?" : n.toFixed(digits);
}

export default defineChecks([
  {
    id: "finds-keys",
    title: "lookup finds every key in the table, and only those",
    points: 3,
    hint: "Binary search with lo = 0, hi = count - 1, while (lo <= hi). Keys are 64-bit " +
      "(getBigUint64(offset, true)); the value is the 24 bytes after the key.",
    async run(ctx) {
      const { plan, result } = await answersRun(ctx);
      const value = ctx.expectOk(result, "openTable and lookup") as { answers: unknown[][] };
      const wrong: string[] = [];
      let absentAnswered = 0, wrongValue = 0, missing = 0, found = 0;
      const missingKinds = new Set<Kind>();
      // Which magnitudes went wrong: below 2^53, from 2^53 (the run around 2^53), and the run
      // around 2^63 (from 2^62: a broken order under 2^63 spoils its neighbours below it too).
      const wrongAt = { small: 0, around53: 0, around63: 0 };
      const rightAt = { small: 0, around53: 0, around63: 0 };
      for (const [t, p] of plan.entries()) {
        for (const [i, q] of p.queries.entries()) {
          const got = value.answers[t]?.[i];
          const k = BigInt(q.key);
          const band = k >= TWO_63 / 2n ? "around63" : k >= TWO_53 ? "around53" : "small";
          if (JSON.stringify(got) === JSON.stringify(q.expect)) {
            if (q.expect !== null) found++;
            rightAt[band]++;
            continue;
          }
          wrongAt[band]++;
          wrong.push(
            `${p.table.name} (${p.table.count} records), ${q.kind} key ${q.key}: expected ${
              JSON.stringify(q.expect)
            }, got ${got === null ? "undefined" : JSON.stringify(got)}`,
          );
          if (q.expect === null) absentAnswered++;
          else if (got === null) {
            missing++;
            missingKinds.add(q.kind);
          } else wrongValue++;
        }
      }
      const onlyBig = wrongAt.small === 0 && rightAt.small > 0;
      const mistake = onlyBig && wrongAt.around53 === 0 && rightAt.around53 > 0
        ? "keys around 2^63 go wrong, keys near 2^53 and below are right: read as signed " +
          "64-bit (getBigInt64, BigInt64Array), keys from 2^63 on are negative and the search " +
          "order breaks. Keys are unsigned: getBigUint64"
        : onlyBig
        ? "keys at and above 2^53 go wrong, smaller ones are right: a Number holds integers " +
          "exactly only up to 2^53 (2^53 + 1 becomes 2^53). Keep keys as bigint " +
          "(getBigUint64) and compare them as bigint"
        : absentAnswered
        ? "a value for a key that is not in the table: compare the whole 64-bit key " +
          "(getBigUint64), and return undefined when the search ends without a match"
        : wrongValue
        ? "the value is wrong: it is the 24 bytes right after the 8-byte key, as a string"
        : found === 0
        ? "no key is ever found: is the search written? Keys are unsigned 64-bit little-endian " +
          "(getBigUint64(i * RECORD_SIZE, true)), larger than 2^32, compared as bigint"
        : missingKinds.has("first") || missingKinds.has("last")
        ? `the ${missingKinds.has("first") ? "first" : "last"} record is not found: an ` +
          "off-by-one — start with lo = 0, hi = count - 1 and loop while lo <= hi"
        : "some keys are not found: after a probe, go on with lo = mid + 1 or hi = mid - 1";
      if (wrong.length) {
        ctx.fail(`${wrong.length} of the lookups answered wrongly`, {
          expected: "the value for each key in the table, undefined for the others",
          observed: wrong.slice(0, 4).join("\n") + (wrong.length > 4 ? "\n…" : ""),
          mistake,
        });
      }
      ctx.note(`${plan.reduce((n, p) => n + p.queries.length, 0)} lookups in 4 tables, all right`);
    },
  },
  {
    id: "through-mapping",
    title: "the lookups read the file through a mapping, and close() unmaps it",
    points: 2,
    parent: "finds-keys",
    hint: "Map the file in the constructor with mapFile(path) and read keys from mapping.bytes; " +
      "close() calls mapping.unmap().",
    async run(ctx) {
      const { plan, result, mappedAtOpen } = await answersRun(ctx);
      const value = result.value as { rchar: number };
      const calls = result.calls;
      const total = plan.reduce((n, p) => n + p.table.count * RECORD, 0);
      const preads = callsTo(calls, "pread").length;
      if (preads > 0 || value.rchar > total / 4) {
        ctx.fail("the table was read with read()/pread(), not through a mapping", {
          expected: "no read() of the table: keys come from the mapped memory",
          observed:
            `${preads} pread call(s); ${value.rchar} bytes through read() (/proc/PID/io rchar)`,
          mistake: "read() instead of mapping (Deno.readFileSync, pread): every process then " +
            "keeps its own copy, and a lookup pays a system call per probe",
        });
      }
      for (const [i, p] of plan.entries()) {
        if (p.table.count === 0) continue;
        const opens = callsTo(calls, "open").filter((c) => c.args.path === p.table.path)
          .map((c) => c.result);
        const maps = callsTo(calls, "mmap").filter((c) =>
          opens.includes(c.args.fd) && hasFlag(c, "PROT_READ")
        );
        if (maps.length === 0 || !mappedAtOpen[i]) {
          ctx.fail(`${p.table.name} was not mapped while the lookups ran`, {
            expected: "mmap(…, PROT_READ, MAP_SHARED, fd, 0) of the file in openTable, " +
              "mapped until close()",
            observed: maps.length === 0
              ? "no mmap of the file in the call record"
              : "no mapping of the file in /proc/PID/maps after openTable returned",
            mistake: maps.length === 0
              ? "read() instead of mapping"
              : "mapping and unmapping again, or copying the bytes out of the mapping",
          });
        }
        const unmapped = maps.every((m) =>
          callsTo(calls, "munmap").some((c) => c.args.addr === m.result)
        );
        if (!unmapped) {
          ctx.fail(`${p.table.name} stayed mapped after close()`, {
            expected: "a munmap of every mapping the table made",
            observed: `${maps.length} mmap call(s), no matching munmap`,
            mistake: "forgetting munmap in close(): call mapping.unmap()",
          });
        }
      }
      ctx.note(`read() of the tables: ${value.rchar} bytes (rchar); the 4 tables hold ${total}`);
    },
  },
  {
    id: "log-pages",
    title: "a cold lookup makes the kernel read only the pages the search touches, not the file",
    points: 3,
    parent: "finds-keys",
    timeoutMs: 40_000,
    hint: "Read one key per probe, straight from the mapping; never scan, never copy the table.",
    async run(ctx) {
      const { result, value } = await pagesRun(ctx);
      ctx.expectOk(result, "measuring lookups");
      // The counts below answer PREDICTED_PAGES_PER_LOOKUP: take it before showing them.
      requirePrediction(ctx, value!.predicted, {
        name: "PREDICTED_PAGES_PER_LOOKUP",
        allowed: "number",
      });
      const { results, evictable, timing, ownAdvice, normalAdvice } = value!;
      const metric = (l: LookupPages) => evictable ? l.read : l.windows;
      const unit = evictable
        ? "pages read"
        : `${ctx.kernel.faultAround.smallWrites}-page windows mapped`;
      ctx.note(`pages in table │ ${unit} per cold lookup (median, MADV_RANDOM) │ log2(pages)`);
      for (const t of results) {
        ctx.note(
          `${String(t.pages).padStart(14)} │ ${
            String(median(clean(t.lookups).map(metric))).padStart(evictable ? 48 : 60)
          } │ ${Math.log2(t.pages)}`,
        );
      }
      if (!evictable) {
        ctx.note(
          "(the file system keeps no page cache to empty, e.g. tmpfs: counting " +
            "fault-around windows instead of pages read)",
        );
      }
      for (const t of results) {
        if (t.lookups.some((l) => !l.mapped)) {
          ctx.fail(`the ${t.pages}-page table was not mapped when openTable returned`, {
            expected: "a mapping of the file made in openTable, kept until close()",
            observed: "no mapping of the file in /proc/self/maps right after openTable",
            mistake: "mapping lazily or per lookup: map once, in openTable",
          });
        }
        const m = median(clean(t.lookups).map(metric));
        const limit = bound(t.pages, evictable, ctx.kernel);
        if (m > limit) {
          ctx.fail(`a lookup in a ${t.pages}-page table touched ${m} ${unit.split(" ")[0]}`, {
            expected: `at most ${Math.floor(limit)} (log2(${t.pages}) = ${Math.log2(t.pages)}, +3)`,
            observed: `${t.lookups.map(metric).join(", ")} for ${t.lookups.length} lookups` +
              (m > t.pages / 8 ? ` (${Math.round((100 * m) / t.pages)}% of the file)` : ""),
            mistake: m > t.pages / 8
              ? "a linear scan (or a copy of the whole table): the cost grows like n, not log n; " +
                "probe only the records a binary search needs"
              : "more probes than a binary search needs: halve the range at every step",
          });
        }
        const before = Math.max(...t.lookups.map((l) => l.before));
        if (before > 0) {
          ctx.note(`${before} page(s) stayed in the page cache between lookups: still mapped?`);
        }
      }
      if (timing) {
        const advice = (ls: LookupPages[]) =>
          ls.length ? String(median(ls.map((l) => l.read))) : "?";
        ctx.note("measured in this run (notes only, never graded), 4096-page table:");
        ctx.note(
          `  one cold lookup, pages read: MADV_NORMAL ${advice(normalAdvice)}, ` +
            `MADV_RANDOM ${
              median(clean(results[results.length - 1].lookups).map((l) => l.read))
            }, ` +
            `your advice ${advice(ownAdvice)}`,
        );
        ctx.note(
          `  random lookup, warm cache: through your mapping ${
            fixed(timing.mmapLookupMicros, 2)
          } µs; with one pread() per probe ${fixed(timing.preadLookupMicros, 2)} µs`,
        );
        ctx.note(
          `  whole-file scan, warm cache: mapping + MADV_SEQUENTIAL ${
            fixed(timing.scanMmapMs)
          } ms (${timing.scanMmapFaults} faults); mapping + MADV_RANDOM ${
            fixed(timing.scanRandomAdviceMs)
          } ms (${timing.scanRandomAdviceFaults} faults); read() in 64 KiB chunks ${
            fixed(timing.scanReadMs)
          } ms (${timing.scanReadCalls} calls)`,
        );
      }
    },
  },
  {
    id: "advises-random",
    title: "the mapping is advised MADV_RANDOM (VmFlags shows rr)",
    points: 1,
    parent: "through-mapping",
    hint: 'mapping.advise("random") right after mapFile.',
    async run(ctx) {
      const { flags } = await answersRun(ctx);
      const pages = await pagesRun(ctx);
      const own = pages.value?.ownAdvice ?? [];
      const normal = pages.value?.normalAdvice ?? [];
      if (own.length && normal.length && pages.value?.evictable) {
        ctx.note(
          `one cold lookup with your advice read ${
            median(own.map((l) => l.read))
          } page(s); with MADV_NORMAL (read-around) ${median(normal.map((l) => l.read))}`,
        );
      }
      if (!flags.includes("rr")) {
        ctx.fail("the table's mapping has no MADV_RANDOM advice", {
          expected: "VmFlags with rr in /proc/PID/smaps",
          observed: `VmFlags: ${flags.join(" ") || "(mapping not found)"}`,
          mistake: flags.includes("sr")
            ? "advised MADV_SEQUENTIAL (sr): that asks for aggressive read-ahead, the opposite " +
              "of what a binary search needs"
            : "no advice: on a fault the kernel reads a read-around window of neighbours the " +
              "search will never look at",
        });
      }
    },
  },
  {
    id: "predicts-pages",
    title: "you predicted how many pages one cold lookup reads",
    points: 1,
    parent: "log-pages",
    hint:
      "How many records share a 4 KiB page? After how many halvings does the range fit in one page?",
    async run(ctx) {
      const { value } = await pagesRun(ctx);
      const big = value!.results[value!.results.length - 1];
      // Without a page cache to empty (tmpfs), fall back on the count a binary search implies.
      const measured = value!.evictable
        ? median(clean(big.lookups).map((l) => l.read))
        : Math.log2(big.pages);
      ctx.note(
        `you predicted ${value!.predicted ?? "nothing"}; the kernel read ${measured} ` +
          `page(s) per lookup (4096-page table, MADV_RANDOM, cold cache)`,
      );
      const p = requirePrediction(ctx, value!.predicted, {
        name: "PREDICTED_PAGES_PER_LOOKUP",
        allowed: "number",
      });
      if (Math.abs(p - measured) > 2) {
        ctx.fail("the prediction is off", {
          expected: `${measured} (±2), measured in this run`,
          observed: String(p),
          mistake: p >= 18 && p <= 20
            ? "that is the number of probes (log2 of 524,288 records); the last 7 probes fall " +
              "in a page already read: 128 records share a page"
            : p > 100
            ? "a binary search does not read the whole file; with MADV_RANDOM the kernel reads " +
              "only the pages touched"
            : "count the pages, not the probes: log2(number of pages)",
        });
      }
    },
  },
]);
