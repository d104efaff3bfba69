/**
 * Section 5: where the time of `lab check --all` goes. Every lab's checks
 * run on its reference solution in this process, one lab after another, as
 * the runner runs them; each check's wall time and the child processes it
 * started are listed. A bare child (the harness, the library and a drive
 * that returns at once) is timed on its own, wall and CPU, so the share of
 * process start-up in the total can be read off. Each lab runs twice, in
 * turn: with its children started ahead of their tasks (`ChildPool`, the
 * runner's way) and each started when asked for (the grader's way), with
 * the CPU time of all their children.
 *
 * `--quick`: lab 00 only, and the bare child twice.
 *
 * @module
 */

import { loadCatalog, solutionFile } from "../lib/catalog.ts";
import { type LabResult, runLab } from "../lib/checker/run.ts";
import { spawnChild } from "../lib/checker/spawn.ts";
import { toFileUrl } from "../lib/paths.ts";
import {
  type BenchOptions,
  childrenCpuMs,
  progress,
  type Result,
  type Section,
  summarize,
} from "./harness.ts";
import { ROOT, WORK_DIR } from "./native.ts";

const TITLE = "Where check --all spends its time";

/** One check's cost. */
interface CheckCost {
  lab: string;
  check: string;
  ms: number;
  children: number;
}

/** Times a child that starts, loads the library and a student module, and returns at once: wall and CPU, ms. */
async function bareChild(rounds: number): Promise<{ wall: number[]; cpu: number[] }> {
  const drive = `${WORK_DIR}/bare_drive.ts`;
  Deno.mkdirSync(WORK_DIR, { recursive: true });
  Deno.writeTextFileSync(
    drive,
    `import { defineDrive } from "${toFileUrl(`${ROOT}lib/checker/mod.ts`)}";\n` +
      "export default defineDrive(() => 0);\n",
  );
  const lab = loadCatalog().labs[0];
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const scratch = Deno.makeTempDirSync({ dir: WORK_DIR, prefix: "bare-" });
    try {
      const cpu0 = childrenCpuMs();
      const t0 = performance.now();
      const child = spawnChild({
        drive,
        student: solutionFile(ROOT.replace(/\/$/, ""), lab),
        scratch,
        readable: [ROOT, WORK_DIR],
        timeoutMs: 30_000,
      });
      const r = await child.result();
      if (r.outcome !== "ok") throw new Error(`the bare child did not run: ${r.outcome}`);
      wall.push(performance.now() - t0);
      cpu.push(childrenCpuMs() - cpu0);
    } finally {
      Deno.removeSync(scratch, { recursive: true });
    }
  }
  return { wall, cpu };
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Section 5. */
export async function profileSection(opts: BenchOptions): Promise<Section> {
  const catalog = loadCatalog();
  const labs = opts.quick ? catalog.labs.slice(0, 1) : catalog.labs;
  const failures: string[] = [];
  const results: Result[] = [];
  const costs: CheckCost[] = [];

  progress(`section 5: a bare child × ${opts.quick ? 2 : 5}`);
  const bare = await bareChild(opts.quick ? 2 : 5);
  results.push({
    id: "profile.child",
    group: "one child process",
    name: "start, load the library and a module, return",
    unit: "ms",
    ops: 1,
    samples: bare.wall,
    ...summarize(bare.wall),
    also: `${summarize(bare.cpu).median.toFixed(0)} ms of CPU`,
  });

  /** Wall and children's CPU of every lab, children started ahead (warm) and on demand (cold). */
  const total = { warm: 0, cold: 0, warmCpu: 0, coldCpu: 0 };
  let children = 0;
  /** Children started ahead that no task took (another setup came, or the lab ended). */
  let unused = 0;
  let i = 0;
  for (const lab of labs) {
    progress(`section 5: ${lab.id} on its reference solution, children started ahead and not`);
    const runs: Record<"warm" | "cold", { ms: number; cpu: number; r: LabResult }> = {} as never;
    // In turn: which goes first alternates from lab to lab.
    for (const way of i++ % 2 ? ["cold", "warm"] as const : ["warm", "cold"] as const) {
      const cpu0 = childrenCpuMs();
      const t0 = performance.now();
      const r = await runLab(catalog, lab, {
        studentFile: solutionFile(catalog.root, lab),
        prestart: way === "warm",
      });
      runs[way] = { ms: performance.now() - t0, cpu: childrenCpuMs() - cpu0, r };
    }
    total.warm += runs.warm.ms;
    total.cold += runs.cold.ms;
    total.warmCpu += runs.warm.cpu;
    total.coldCpu += runs.cold.cpu;
    const r = runs.warm.r;
    unused += (r.prestarted?.started ?? 0) - (r.prestarted?.taken ?? 0);
    const started = r.checks.reduce((n, c) => n + (c.children ?? 0), 0);
    children += started;
    for (const c of r.checks) {
      costs.push({ lab: lab.id, check: c.id, ms: c.durationMs, children: c.children ?? 0 });
    }
    for (const way of ["warm", "cold"] as const) {
      const run = runs[way].r;
      if (!run.passed) {
        const failed = run.checks.filter((c) => c.status !== "passed").map((c) => c.id);
        failures.push(
          `${lab.id} (children ${way === "warm" ? "started ahead" : "started on demand"}): ` +
            `the reference solution failed ${failed.join(", ") || run.error}`,
        );
      }
    }
    results.push({
      id: `profile.${lab.id}`,
      group: "each lab, reference solution (children started ahead; on demand)",
      name: `${lab.id} (${r.checks.length} checks, ${plural(started, "child", "children")})`,
      unit: "ms",
      ops: 1,
      samples: [runs.warm.ms],
      median: runs.warm.ms,
      min: runs.warm.ms,
      max: runs.warm.ms,
      also: `${(runs.cold.ms / 1000).toFixed(2)} s on demand; CPU ${
        (runs.warm.cpu / 1000).toFixed(1)
      } / ${(runs.cold.cpu / 1000).toFixed(1)} s`,
    });
  }

  const start = summarize(bare.wall).min; // the least disturbed start
  const startCpu = summarize(bare.cpu).min;
  const startup = children * start;
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const notes = [
    `${labs.length} lab(s) one after another, children started on demand: ${s(total.cold)}, ` +
    `${children} child processes; at ${start.toFixed(0)} ms a bare start, start-up alone is ` +
    `about ${s(startup)} (${Math.round((100 * startup) / total.cold)}% of the total), ` +
    "the rest is the checks' own work (stress runs, freezes, waits)",
    `children started ahead of their tasks (the runner's way): ${s(total.warm)} ` +
    `(${total.warm <= total.cold ? "saves" : "costs"} ${s(Math.abs(total.cold - total.warm))}); ` +
    `CPU of all children ${s(total.warmCpu)} against ${s(total.coldCpu)} on demand ` +
    `(${unused} started ahead and never taken); a start costs ${startCpu.toFixed(0)} ms of CPU, ` +
    `${s(children * startCpu)} for ${children} children`,
    "slowest checks: " +
    costs.sort((a, b) => b.ms - a.ms).slice(0, 8).map((c) =>
      `${c.lab.slice(0, 2)} ${c.check} ${(c.ms / 1000).toFixed(1)} s (${
        plural(c.children, "child", "children")
      })`
    ).join("; "),
  ];
  if (opts.quick) notes.push("--quick: lab 00 only");
  return {
    id: "5",
    title: TITLE,
    description: [
      "wall time of each lab's checks on its reference solution, in this process (no runner",
      "start-up, no type check), children started ahead of their tasks, then on demand; a bare",
      "child is the cost every child pays before its work",
    ],
    results,
    ratios: [],
    notes,
    ...(failures.length ? { failures } : {}),
  };
}
