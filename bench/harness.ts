/**
 * The benchmark harness: side-by-side rounds, medians and spreads, per-round
 * ratios, targets, and the two ways of printing results (a readable table and
 * JSON).
 *
 * Every ratio is computed per round from two samples taken in the same round
 * (the variants of a benchmark run one after the other, in an order that
 * rotates from round to round), then summarised by its median and its
 * min–max spread over the rounds.
 *
 * @module
 */

import { cpuTimeMs } from "../lib/sys.ts";
import { RUSAGE } from "../lib/ffi/constants.ts";

/**
 * CPU time of this process's children that have ended and been waited for,
 * and of their own waited-for descendants, ms: take it before and after a
 * child's run.
 *
 * @example
 * ```ts ignore
 * const cpu0 = childrenCpuMs();
 * await new Deno.Command("true").output();
 * console.log(childrenCpuMs() - cpu0); // a few ms
 * ```
 */
export function childrenCpuMs(): number {
  return cpuTimeMs(RUSAGE.CHILDREN);
}

/** Options from the command line. */
export interface BenchOptions {
  /** Run every benchmark minimally: checks they still run, asserts no speed. */
  quick: boolean;
  /** Print machine-readable results (JSON) on stdout instead of tables. */
  json: boolean;
  /** Sections to run ("1".."4"); all when empty. */
  only: Set<string>;
  /** Overrides the number of rounds of every section. */
  rounds?: number;
}

/** What a sample measures: lower is better for times, higher for rates. */
export type Unit = "ns/cycle" | "ns/call" | "ns/read" | "GB/s" | "msg/s" | "ms";

/** Whether smaller numbers are better for a unit. */
export function lowerIsBetter(unit: Unit): boolean {
  return unit.startsWith("ns") || unit === "ms";
}

/** Median, min and max of a list of numbers. */
export interface Summary {
  median: number;
  min: number;
  max: number;
}

/** One measured variant of one benchmark: a sample per round. */
export interface Result extends Summary {
  /** Stable identifier, e.g. `"anon.api"`. */
  id: string;
  /** The benchmark it belongs to, e.g. `"anonymous 4 KiB"`. */
  group: string;
  /** The variant, e.g. `"API (mapAnonymous)"`. */
  name: string;
  unit: Unit;
  /** One value per round, in `unit`. */
  samples: number[];
  /** Operations timed per sample. */
  ops: number;
  /** An extra derived figure for the table (e.g. a GB/s equivalent). */
  also?: string;
}

/** A target for a ratio, from the brief. */
export interface Target {
  op: "<=" | ">=";
  value: number;
}

/** A ratio of two results, computed per round. */
export interface Ratio extends Summary {
  id: string;
  label: string;
  /** Numerator result id. */
  num: string;
  /** Denominator result id. */
  den: string;
  samples: number[];
  target?: Target;
  /** Whether the median meets the target (undefined without a target). */
  met?: boolean;
}

/** One section of the report. */
export interface Section {
  id: string;
  title: string;
  /** What a cycle or sample does, in a line or two. */
  description: string[];
  results: Result[];
  ratios: Ratio[];
  notes: string[];
  /** Set when the whole section did not run, with the reason. */
  skipped?: string;
  /**
   * What went wrong while the section's figures were still measured (a lab
   * whose reference solution failed, a student without full marks): the
   * figures stay, the bench exits 1, and these say why.
   */
  failures?: string[];
  /**
   * Share of the section's wall time during which some runnable task waited
   * for a CPU (`/proc/pressure/cpu`): other work competing with the benchmark.
   */
  cpuPressure?: number;
}

/** A variant to measure: runs `ops` operations and returns its figure in `unit`. */
export interface Variant {
  id: string;
  group: string;
  name: string;
  unit: Unit;
  ops: number;
  /** Runs one sample. */
  run: () => number | Promise<number>;
  /** Runs once before the first round (JIT warm-up), untimed. */
  warmup?: () => unknown;
  /** Derives the `also` column from the median. */
  also?: (median: number) => string;
}

/** Median, min and max. */
export function summarize(values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return { median: NaN, min: NaN, max: NaN };
  const median = n % 2 === 1 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  return { median, min: sorted[0], max: sorted[n - 1] };
}

/** A progress line on stderr (kept off stdout so `--json` output stays clean). */
export function progress(text: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(`  · ${text}\n`));
}

/**
 * Runs every variant once per round, rotating the order each round so no
 * variant always goes first, and returns their results.
 */
export async function measure(variants: Variant[], rounds: number): Promise<Result[]> {
  for (const v of variants) await v.warmup?.();
  const samples = new Map<string, number[]>(variants.map((v) => [v.id, []]));
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < variants.length; k++) {
      const v = variants[(k + r) % variants.length];
      samples.get(v.id)!.push(await v.run());
    }
  }
  return variants.map((v) => {
    const s = samples.get(v.id)!;
    const summary = summarize(s);
    return {
      id: v.id,
      group: v.group,
      name: v.name,
      unit: v.unit,
      ops: v.ops,
      samples: s,
      ...summary,
      also: v.also?.(summary.median),
    };
  });
}

/**
 * The per-round ratio `num / den` of two results (`undefined` when either is
 * missing, e.g. no C compiler). A target is met when the median satisfies it.
 */
export function ratio(
  results: Result[],
  id: string,
  label: string,
  num: string,
  den: string,
  target?: Target,
): Ratio | undefined {
  const a = results.find((r) => r.id === num);
  const b = results.find((r) => r.id === den);
  if (a === undefined || b === undefined) return undefined;
  const samples = a.samples.map((x, i) => x / b.samples[i]);
  const summary = summarize(samples);
  const met = target === undefined
    ? undefined
    : target.op === "<="
    ? summary.median <= target.value
    : summary.median >= target.value;
  return { id, label, num, den, samples, ...summary, target, met };
}

/** Adds the ratios that could be computed. */
export function ratios(...list: (Ratio | undefined)[]): Ratio[] {
  return list.filter((r): r is Ratio => r !== undefined);
}

// ---------------------------------------------------------------------------
// Formatting

const group3 = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

/** A figure in its unit, with sensible precision. */
export function formatValue(value: number, unit: Unit): string {
  if (!Number.isFinite(value)) return "n/a";
  switch (unit) {
    case "GB/s":
      return value.toFixed(2);
    case "msg/s":
      return value >= 1e6 ? `${(value / 1e6).toFixed(2)} M` : `${(value / 1e3).toFixed(1)} k`;
    case "ms":
      return value.toFixed(1);
    default:
      return value >= 100 ? group3.format(value) : value.toFixed(1);
  }
}

/** A ratio as `1.23×`. */
export function formatRatio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(value >= 100 ? 0 : 2)}×` : "n/a";
}

function formatTarget(t: Target | undefined, met: boolean | undefined): string {
  if (t === undefined) return "";
  const verdict = met === undefined ? "not judged (--quick)" : met ? "met" : "NOT met";
  return `target ${t.op === "<=" ? "≤" : "≥"} ${t.value}×: ${verdict}`;
}

/** Left- or right-aligned columns. */
export function table(rows: string[][], align: ("l" | "r")[], indent = "  "): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => widths[i] = Math.max(widths[i] ?? 0, [...cell].length));
  }
  return rows.map((row) =>
    indent + row.map((cell, i) => {
      const pad = " ".repeat(widths[i] - [...cell].length);
      return align[i] === "r" ? pad + cell : cell + pad;
    }).join("  ").trimEnd()
  );
}

/** A section as readable text. */
export function renderSection(section: Section, rounds: number): string {
  const out: string[] = [``, `${section.id}. ${section.title}`];
  for (const line of section.description) out.push(`   ${line}`);
  if (section.skipped !== undefined) {
    out.push(`   skipped: ${section.skipped}`);
    for (const note of section.notes) out.push(`   note: ${note}`);
    return out.join("\n");
  }
  if (section.results.length > 0) {
    const rows: string[][] = [["benchmark", "variant", "median", "min–max", "unit", ""]];
    let last = "";
    for (const r of section.results) {
      rows.push([
        r.group === last ? "" : r.group,
        r.name,
        formatValue(r.median, r.unit),
        `${formatValue(r.min, r.unit)}–${formatValue(r.max, r.unit)}`,
        r.unit,
        r.also ?? "",
      ]);
      last = r.group;
    }
    out.push(...table(rows, ["l", "l", "r", "r", "l", "l"]));
  }
  if (section.ratios.length > 0) {
    out.push(``, `   ratios (per round, ${rounds} round${rounds === 1 ? "" : "s"}):`);
    const rows: string[][] = [["ratio", "median", "min–max", ""]];
    for (const q of section.ratios) {
      rows.push([
        q.label,
        formatRatio(q.median),
        `${formatRatio(q.min)}–${formatRatio(q.max)}`,
        formatTarget(q.target, q.met),
      ]);
    }
    out.push(...table(rows, ["l", "r", "r", "l"]));
  }
  for (const failure of section.failures ?? []) out.push(`   FAILED: ${failure}`);
  for (const note of section.notes) out.push(`   note: ${note}`);
  if (section.cpuPressure !== undefined) {
    out.push(
      `   CPU pressure during this section: ${(section.cpuPressure * 100).toFixed(0)}% ` +
        `(share of time a runnable task waited for a CPU)`,
    );
  }
  return out.join("\n");
}

/** The targets of every section, met or not, as a table. */
export function renderTargets(sections: Section[], quick: boolean): string {
  const rows: string[][] = [["target", "measured (median)", "spread", "result"]];
  for (const s of sections) {
    for (const q of s.ratios) {
      if (q.target === undefined) continue;
      rows.push([
        `${q.label} ${q.target.op === "<=" ? "≤" : "≥"} ${q.target.value}×`,
        formatRatio(q.median),
        `${formatRatio(q.min)}–${formatRatio(q.max)}`,
        quick || q.met === undefined ? "not judged (--quick)" : q.met ? "met" : "NOT met",
      ]);
    }
  }
  if (rows.length === 1) return "";
  return ["", "Targets", ...table(rows, ["l", "r", "r", "l"])].join("\n");
}
