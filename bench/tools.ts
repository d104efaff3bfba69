/**
 * Section 4: the lab's tools (runner and grader). They are not built yet:
 * this section says so until `cli/lab.ts` exists, and then times how long
 * the runner takes to start and print its help (no speed is asserted).
 *
 * @module
 */

import { type BenchOptions, measure, progress, type Section } from "./harness.ts";
import { ROOT } from "./native.ts";

const TITLE = "Tools: runner and grader";

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/** Section 4: a stub until the runner exists. */
export async function toolsSection(opts: BenchOptions): Promise<Section> {
  const runner = `${ROOT}cli/lab.ts`;
  if (!(await exists(runner))) {
    return {
      id: "4",
      title: TITLE,
      description: [],
      results: [],
      ratios: [],
      notes: [],
      skipped: "runner not built yet",
    };
  }
  // TODO(bench): once the runner and grader have settled commands, time a real lab run and a
  // grading pass here. Until then: the runner's cold start with `--help`.
  const rounds = opts.rounds ?? (opts.quick ? 1 : 3);
  progress(`section 4: runner start-up × ${rounds} rounds`);
  const notes: string[] = ["grader: not measured yet (TODO in bench/tools.ts)"];
  const results = await measure([{
    id: "tools.help",
    group: "runner start-up",
    name: "deno run -P=lab cli/lab.ts --help",
    unit: "ms",
    ops: 1,
    run: async () => {
      const t0 = performance.now();
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-P=lab", runner, "--help"],
        cwd: ROOT,
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
      const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
      const status = await child.status;
      clearTimeout(timer);
      if (!status.success) notes.push(`cli/lab.ts --help exited with code ${status.code}`);
      return performance.now() - t0;
    },
  }], rounds);
  return {
    id: "4",
    title: TITLE,
    description: ["wall time of a cold start, ms (includes Deno's own start-up)"],
    results,
    ratios: [],
    notes: [...new Set(notes)],
  };
}
