/**
 * mmap-lab's benchmark suite: `deno task bench [--quick] [--json] [--only=1,2] [--rounds=N]`.
 *
 * 1. wrapper overhead (API, raw layer, C) for map + touch + unmap, and sync;
 *    1b. the FFI call path per signature (why the wrapper costs what it does)
 * 2. reading a cached file: mapping vs read(), sequential and random
 * 3. IPC: a shared-memory ring buffer vs a pipe between two Deno processes
 * 4. tools: `lab list` to its first screen, `lab check --all` over the reference
 *    solutions, and `grade` throughput over a class of them (in a throw-away copy)
 * 5. where `lab check --all` spends its time: each check's wall time and the
 *    children it starts, and what one bare child costs
 *
 * `--quick` runs each benchmark minimally, for CI: it checks they still run
 * and asserts no speed. `--json` prints machine-readable results on stdout.
 * Nothing fails on speed: the exit code is non-zero only when a benchmark
 * breaks (an error, a wrong checksum, a lost message).
 *
 * @module
 */

import { fileSystemOf, readProcText } from "../lib/mod.ts";
import { kernelLabel, kernelProfile } from "../lib/profile.ts";
import { PROJECT_ROOT } from "../lib/catalog.ts";
import {
  type BenchOptions,
  progress,
  renderSection,
  renderTargets,
  type Section,
} from "./harness.ts";
import { buildNative, type Native, WORK_DIR } from "./native.ts";
import { ffiSection, wrapperSection } from "./wrapper.ts";
import { readSection } from "./read.ts";
import { ipcSection } from "./ipc.ts";
import { toolsSection } from "./tools.ts";
import { profileSection } from "./profile.ts";

/** The machine the numbers come from. */
export interface Machine {
  cpu: string;
  cpus: number;
  kernel: string;
  memoryGiB: number;
  deno: string;
  v8: string;
  typescript: string;
  compiler: string;
  fileSystem: string;
  transparentHugePages: string;
  /** 1-minute load average when the run started. */
  loadAverage: number;
  /**
   * Share of the run's wall time, outside sections 3 to 5 (which keep both
   * CPUs busy by design: a producer and a consumer; the grader's jobs and
   * their children), during which some runnable task waited for a CPU
   * (`/proc/pressure/cpu`, "some"): a sign of other work on the machine.
   * `null` where the kernel has no pressure stall information.
   */
  cpuPressure: number | null;
  /**
   * The kernel profile's one-line summary (`deno task lab doctor`): zero
   * page, fault-around, read-around, THP, soft-dirty. Machines "of the same
   * kind" differ here, and so do the mapping's figures.
   */
  profile: string;
  /**
   * One mmap + touch + munmap cycle of an anonymous 4 KiB page, in C, ns
   * (section 1's `anon.cin`): what the kernel charges per mapping on this
   * machine, before any JavaScript. `null` when section 1 did not run.
   */
  cCycleNs: number | null;
}

/** `/proc/pressure/cpu` "some" total, in microseconds of stall. */
function cpuStallMicros(): number | null {
  const total = procText("/proc/pressure/cpu").match(/^some .*total=(\d+)/m)?.[1];
  return total === undefined ? null : Number(total);
}

const USAGE = `usage: deno task bench [--quick] [--json] [--only=1,2,3,4,5] [--rounds=N]
  --quick      run every benchmark minimally (CI: checks they run, asserts no speed)
  --json       print machine-readable results on stdout (progress stays on stderr)
  --only=LIST  run only these sections (1 includes 1b)
  --rounds=N   rounds per benchmark (default 9 for section 1, 5 for 1b, 7 for 2–3; for 4: 9 lab
               list, 3 lab check, 1 grade; 1 with --quick)`;

function parseArgs(args: string[]): BenchOptions {
  const opts: BenchOptions = { quick: false, json: false, only: new Set() };
  for (const arg of args) {
    if (arg === "--quick") opts.quick = true;
    else if (arg === "--json") opts.json = true;
    else if (arg.startsWith("--only=")) {
      for (const s of arg.slice(7).split(",")) if (s.trim()) opts.only.add(s.trim());
    } else if (arg.startsWith("--rounds=")) {
      const n = Number(arg.slice(9));
      if (!Number.isInteger(n) || n < 1) throw new Error(`bad --rounds: ${arg}`);
      opts.rounds = n;
    } else if (arg === "--help" || arg === "-h") {
      console.log(USAGE);
      Deno.exit(0);
    } else {
      console.error(`unknown argument ${arg}\n${USAGE}`);
      Deno.exit(2);
    }
  }
  return opts;
}

function procText(path: string): string {
  try {
    return readProcText(path);
  } catch {
    return "";
  }
}

/** The kernel profile in one line, or why it could not be measured. */
function profileLine(): string {
  try {
    return kernelLabel(kernelProfile(PROJECT_ROOT));
  } catch (err) {
    return `not measured (${err instanceof Error ? err.message : err})`;
  }
}

function describeMachine(native: Native): Machine {
  const cpuinfo = procText("/proc/cpuinfo");
  const field = (name: string) =>
    cpuinfo.match(new RegExp(`^${name}\\s*:\\s*(.*)$`, "m"))?.[1]?.trim() ?? "?";
  const family = field("cpu family");
  const model = field("model");
  const mhz = Number(field("cpu MHz"));
  const cpu = `${field("model name")} (family ${family}, model ${model}` +
    (Number.isFinite(mhz) ? `, ${(mhz / 1000).toFixed(2)} GHz` : "") + ")";
  const version = procText("/proc/version").trim();
  const kernel = version.match(/^Linux version (\S+)/)?.[1] ?? (version || "?");
  const memKiB = Number(procText("/proc/meminfo").match(/^MemTotal:\s+(\d+)/m)?.[1] ?? NaN);
  const thp = procText("/sys/kernel/mm/transparent_hugepage/enabled").match(/\[(\w+)\]/)?.[1] ??
    "?";
  let fileSystem = "?";
  try {
    fileSystem = fileSystemOf(WORK_DIR).name;
  } catch { /* keep "?" */ }
  return {
    cpu,
    cpus: navigator.hardwareConcurrency,
    kernel: `Linux ${kernel} ${Deno.build.arch}`,
    memoryGiB: Math.round(memKiB / 1024 / 1024),
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    compiler: native.compiler ?? `none (${native.missing})`,
    fileSystem,
    transparentHugePages: thp,
    loadAverage: Number(procText("/proc/loadavg").split(" ")[0]),
    cpuPressure: null,
    profile: profileLine(),
    cCycleNs: null,
  };
}

function renderMachine(m: Machine, opts: BenchOptions): string {
  return [
    `mmap-lab benchmarks${opts.quick ? " (--quick: minimal runs, figures not meaningful)" : ""}`,
    `  cpu      ${m.cpu}, ${m.cpus} CPUs`,
    `  kernel   ${m.kernel}, ${m.memoryGiB} GiB RAM, THP ${m.transparentHugePages}`,
    `  deno     ${m.deno} (V8 ${m.v8}, TypeScript ${m.typescript})`,
    `  cc       ${m.compiler}`,
    `  profile  ${m.profile}`,
    `  files    .mmap-lab/bench on ${m.fileSystem}`,
    `  load     ${m.loadAverage.toFixed(2)} (1-min average at start)`,
    `  figures  median and min–max over the rounds; ratios are taken per round, side by side`,
  ].join("\n");
}

function busyWarning(m: Machine): string | undefined {
  // CPU pressure says whether anything competed during the run; the load average (a
  // one-minute trailing mean) stands in only where the kernel has no pressure information.
  const busy = m.cpuPressure === null ? m.loadAverage > m.cpus / 2 : m.cpuPressure > 0.1;
  if (!busy) return undefined;
  return `warning: the machine was busy (load ${m.loadAverage.toFixed(2)} at start` +
    (m.cpuPressure === null ? "" : `, CPU pressure ${(m.cpuPressure * 100).toFixed(0)}%`) +
    `): other work competed for the CPUs, so the figures are noisier and slower than on an idle machine`;
}

async function main(): Promise<number> {
  const opts = parseArgs(Deno.args);
  const wants = (id: string) => opts.only.size === 0 || opts.only.has(id);
  const started = performance.now();
  progress("building the C helpers");
  const native = await buildNative();
  const machine = describeMachine(native);
  if (!opts.json) console.log(renderMachine(machine, opts));

  const sections: Section[] = [];
  const plan: [string, () => Promise<Section>][] = [
    ["1", () => wrapperSection(opts, native)],
    ["1", () => ffiSection(opts, native)],
    ["2", () => readSection(opts, native)],
    ["3", () => ipcSection(opts)],
    ["4", () => toolsSection(opts)],
    ["5", () => profileSection(opts)],
  ];
  let failed = 0;
  let stalled = 0;
  let watched = 0;
  for (const [id, run] of plan) {
    if (!wants(id)) continue;
    let section: Section;
    const stallBefore = cpuStallMicros();
    const t0 = performance.now();
    try {
      section = await run();
    } catch (err) {
      failed++;
      console.error(`section ${id} failed: ${err instanceof Error ? err.stack : err}`);
      continue;
    }
    const stallAfter = cpuStallMicros();
    if (stallBefore !== null && stallAfter !== null) {
      const micros = (performance.now() - t0) * 1000;
      section.cpuPressure = (stallAfter - stallBefore) / micros;
      if (id !== "3" && id !== "4" && id !== "5") {
        stalled += stallAfter - stallBefore;
        watched += micros;
      }
    }
    // A quick run only checks that the benchmarks run: no target is judged.
    if (opts.quick) { for (const q of section.ratios) q.met = undefined; }
    sections.push(section);
    if (section.failures?.length) failed++;
    const cCycle = section.results.find((r) => r.id === "anon.cin");
    if (cCycle) machine.cCycleNs = cCycle.median;
    if (!opts.json) console.log(renderSection(section, roundsOf(section)));
  }
  const seconds = (performance.now() - started) / 1000;
  if (watched > 0) machine.cpuPressure = stalled / watched;
  const warning = busyWarning(machine);
  if (opts.json) {
    console.log(JSON.stringify(
      {
        schema: "mmap-lab-bench/1",
        quick: opts.quick,
        date: new Date().toISOString(),
        seconds,
        machine,
        warning,
        sections,
        failedSections: failed,
      },
      null,
      2,
    ));
  } else {
    const targets = renderTargets(sections, opts.quick);
    if (targets) console.log(targets);
    const pressure = machine.cpuPressure === null
      ? ""
      : `; CPU pressure ${(machine.cpuPressure * 100).toFixed(0)}% (outside sections 3 to 5)`;
    console.log(
      `\ndone in ${seconds.toFixed(1)} s${pressure}${
        failed ? `, ${failed} section(s) FAILED` : ""
      }`,
    );
    if (warning) console.log(warning);
    if (machine.cCycleNs !== null) {
      console.log(
        `one mmap + touch + munmap cycle in C: ${(machine.cCycleNs / 1000).toFixed(1)} µs here ` +
          "(compare machines by it: the kernel's cost per mapping, before any JavaScript)",
      );
    }
  }
  return failed === 0 ? 0 : 1;
}

function roundsOf(section: Section): number {
  return section.results[0]?.samples.length ?? 0;
}

if (import.meta.main) Deno.exit(await main());
