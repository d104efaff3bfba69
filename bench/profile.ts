/**
 * Section 5: where the time of `lab check --all` goes. Every lab's checks
 * run on its reference solution in this process, one lab after another, as
 * the runner runs them; each check's wall time and the child processes it
 * started are listed. A bare child (the harness, the library and a drive
 * that returns at once) is timed on its own, so the share of process
 * start-up in the total can be read off: the first thing to cut.
 *
 * `--quick`: lab 00 only, and the bare child twice.
 *
 * @module
 */

import { loadCatalog, solutionFile } from "../lib/catalog.ts";
import { runLab } from "../lib/checker/run.ts";
import { spawnChild } from "../lib/checker/spawn.ts";
import { toFileUrl } from "../lib/paths.ts";
import { type BenchOptions, progress, type Result, type Section, summarize } from "./harness.ts";
import { ROOT, WORK_DIR } from "./native.ts";

const TITLE = "Where check --all spends its time";

/** One check's cost. */
interface CheckCost {
  lab: string;
  check: string;
  ms: number;
  children: number;
}

/** Times a child that starts, loads the library and a student module, and returns at once. */
async function bareChild(rounds: number): Promise<number[]> {
  const drive = `${WORK_DIR}/bare_drive.ts`;
  Deno.mkdirSync(WORK_DIR, { recursive: true });
  Deno.writeTextFileSync(
    drive,
    `import { defineDrive } from "${toFileUrl(`${ROOT}lib/checker/mod.ts`)}";\n` +
      "export default defineDrive(() => 0);\n",
  );
  const lab = loadCatalog().labs[0];
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const scratch = Deno.makeTempDirSync({ dir: WORK_DIR, prefix: "bare-" });
    try {
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
      samples.push(performance.now() - t0);
    } finally {
      Deno.removeSync(scratch, { recursive: true });
    }
  }
  return samples;
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
    samples: bare,
    ...summarize(bare),
  });

  let total = 0;
  let children = 0;
  for (const lab of labs) {
    progress(`section 5: ${lab.id} on its reference solution`);
    const t0 = performance.now();
    const r = await runLab(catalog, lab, { studentFile: solutionFile(catalog.root, lab) });
    const ms = performance.now() - t0;
    total += ms;
    const started = r.checks.reduce((n, c) => n + (c.children ?? 0), 0);
    children += started;
    for (const c of r.checks) {
      costs.push({ lab: lab.id, check: c.id, ms: c.durationMs, children: c.children ?? 0 });
    }
    if (!r.passed) {
      const failed = r.checks.filter((c) => c.status !== "passed").map((c) => c.id);
      failures.push(`${lab.id}: the reference solution failed ${failed.join(", ") || r.error}`);
    }
    results.push({
      id: `profile.${lab.id}`,
      group: "each lab, reference solution",
      name: `${lab.id} (${r.checks.length} checks, ${plural(started, "child", "children")})`,
      unit: "ms",
      ops: 1,
      samples: [ms],
      median: ms,
      min: ms,
      max: ms,
    });
  }

  const start = summarize(bare).min; // the least disturbed start
  const startup = children * start;
  const notes = [
    `${labs.length} lab(s) one after another: ${(total / 1000).toFixed(1)} s, ${children} child ` +
    `processes; at ${start.toFixed(0)} ms a bare start, start-up alone is about ` +
    `${(startup / 1000).toFixed(1)} s (${Math.round((100 * startup) / total)}% of the total), ` +
    "the rest is the checks' own work (stress runs, freezes, waits)",
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
      "start-up, no type check); a bare child is the cost every child pays before its work",
    ],
    results,
    ratios: [],
    notes,
    ...(failures.length ? { failures } : {}),
  };
}
