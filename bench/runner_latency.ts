/**
 * Measures the runner's speed as a student feels it (issue 16), in a
 * throw-away copy of a project tree with every reference solution in place:
 *
 * - `deno task lab check --all`, wall time and CPU time (its children included);
 * - watch mode: from a save of the lab's file to the first check's verdict on
 *   screen, and to the whole verdict (the status line says the lab passes),
 *   for every lab, the runner in a pseudo-terminal (`script`) at 80×24.
 *
 * Not a test (nothing is asserted): a tool for before/after figures. Run it
 * alone on an idle machine, e.g. `deno run -A bench/runner_latency.ts
 * --tree /path/to/before --tree /path/to/after --saves 3 --all-rounds 2`
 * (the trees take turns, lab by lab, to share the machine's load; default:
 * this checkout); it prints medians per tree.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { copyProject } from "./tools.ts";
import { childrenCpuMs } from "./harness.ts";
import { cpSync, rmSync } from "node:fs";

const args = parseArgs({
  args: Deno.args,
  options: {
    tree: { type: "string", multiple: true },
    saves: { type: "string", default: "3" },
    "all-rounds": { type: "string", default: "2" },
    labs: { type: "string" },
    "no-all": { type: "boolean" },
    "no-watch": { type: "boolean" },
    keep: { type: "boolean" },
  },
}).values;

const here = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");
const trees = (args.tree ?? [here]).map((t) => t.replace(/\/$/, ""));
const saves = Number(args.saves);
const allRounds = Number(args["all-rounds"]);
const decoder = new TextDecoder();
const encoder = new TextEncoder();

interface Lab {
  id: string;
  file: string;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** A copy of a tree (stubs committed, as a student's checkout), solutions over the stubs. */
async function makeCopy(tree: string): Promise<{ dir: string; labs: Lab[] }> {
  const dir = Deno.makeTempDirSync({ dir: "/var/tmp", prefix: "runner-latency-" });
  await copyProject(tree, dir);
  let labs: Lab[] = JSON.parse(Deno.readTextFileSync(`${dir}/labs/labs.json`)).labs;
  if (args.labs) {
    const wanted = args.labs.split(",");
    labs = labs.filter((l) => wanted.some((w) => l.id.startsWith(w.padStart(2, "0"))));
  }
  for (const lab of labs) {
    cpSync(`${dir}/solutions/${lab.id}/${lab.file}`, `${dir}/labs/${lab.id}/${lab.file}`);
  }
  return { dir, labs };
}

const LAB = ["run", "-q", "--no-prompt", "-P=lab", "cli/lab.ts"];

/** `check --all` once: wall time, and CPU time of the runner and all its children. */
async function checkAll(dir: string, labs: Lab[]): Promise<{ ms: number; cpuMs: number }> {
  // Every file edited, as a student's would be: `deno check` keeps the verdict on an unchanged
  // module graph, and a round after the first would find every type check done.
  for (const lab of labs) {
    const path = `${dir}/labs/${lab.id}/${lab.file}`;
    Deno.writeTextFileSync(path, `${Deno.readTextFileSync(path)}\n// edited ${Date.now()}\n`);
  }
  const cpu0 = childrenCpuMs();
  const start = performance.now();
  const r = await new Deno.Command(Deno.execPath(), {
    args: [...LAB, "check", "--all"],
    cwd: dir,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const ms = performance.now() - start;
  const cpuMs = childrenCpuMs() - cpu0;
  const out = decoder.decode(r.stdout);
  console.log(
    `  check --all: ${fmt(ms)} (CPU ${fmt(cpuMs)}), exit ${r.code}: ${
      out.trim().split("\n").at(-1)
    }`,
  );
  return { ms, cpuMs };
}

/** One frame the runner drew (it clears the screen before each), with when it began. */
interface Frame {
  at: number;
  text: string;
}

/** The runner in watch mode on one lab, in a pseudo-terminal. */
class Watch {
  readonly frames: Frame[] = [];
  #child: Deno.ChildProcess;
  #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #reading: Promise<void>;

  constructor(dir: string, lab: Lab) {
    const command = `stty cols 80 rows 24; exec ${Deno.execPath()} ${
      LAB.join(" ")
    } watch ${lab.id}`;
    const child = new Deno.Command("script", {
      args: ["-qfec", command, "/dev/null"],
      cwd: dir,
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
      env: { NO_COLOR: "1", TERM: "xterm" },
    }).spawn();
    this.#child = child;
    this.#stdin = child.stdin.getWriter();
    this.#reading = (async () => {
      for await (const chunk of child.stdout) {
        const now = performance.now();
        const parts = decoder.decode(chunk, { stream: true }).split("\x1b[2J");
        // The first part continues the frame being drawn; each other part begins a frame now.
        const rest = parts.shift()!;
        if (this.frames.length) this.frames[this.frames.length - 1].text += rest;
        for (const text of parts) this.frames.push({ at: now, text });
      }
    })();
  }

  /** The first frame from `index` on that `test` accepts, waiting up to `ms`. */
  async waitFrame(index: number, test: (text: string) => boolean, ms = 60_000): Promise<number> {
    const end = performance.now() + ms;
    for (;;) {
      for (let i = index; i < this.frames.length; i++) {
        if (test(this.frames[i].text)) return i;
      }
      if (performance.now() > end) {
        throw new Error(`no such frame; last:\n${this.frames.at(-1)?.text}`);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  async quit(): Promise<void> {
    await this.#stdin.write(encoder.encode("q"));
    await this.#stdin.close().catch(() => {});
    const timer = setTimeout(() => this.#child.kill(), 10_000);
    await this.#child.status;
    clearTimeout(timer);
    await this.#reading;
  }
}

/** The whole verdict is on screen: the status line is a final one. */
const FULL = (t: string) => /passes!|Save the file to re-run/.test(t) && !/checking…/.test(t);
/** At least one check's verdict of the run under way is on screen (the runner counts them). */
const PARTIAL = (t: string) => /checking… [1-9]\d* of \d+ checks/.test(t);

async function watchLab(
  dir: string,
  lab: Lab,
  name: string,
): Promise<{ first: number[]; full: number[] }> {
  const path = `${dir}/labs/${lab.id}/${lab.file}`;
  const original = Deno.readTextFileSync(path);
  const watch = new Watch(dir, lab);
  const first: number[] = [];
  const full: number[] = [];
  try {
    let index = await watch.waitFrame(0, FULL, 120_000); // the first run, on start
    for (let i = 1; i <= saves; i++) {
      await new Promise((r) => setTimeout(r, 300));
      index = watch.frames.length;
      const t0 = performance.now();
      // A real save: new bytes, so the type check's cache cannot answer.
      Deno.writeTextFileSync(path, `${original}\n// save ${i} ${Date.now()}\n`);
      const done = await watch.waitFrame(index, FULL);
      const shown = await watch.waitFrame(index, (t) => PARTIAL(t) || FULL(t));
      first.push(watch.frames[shown].at - t0);
      full.push(watch.frames[done].at - t0);
      index = done;
    }
  } finally {
    await watch.quit();
    Deno.writeTextFileSync(path, original);
  }
  console.log(
    `  ${name.padEnd(10)} ${lab.id.padEnd(24)} first verdict ${first.map(fmt).join(", ")}; whole ${
      full.map(fmt).join(", ")
    }`,
  );
  return { first, full };
}

// Several trees (before / after a change) take turns, lab by lab, so that they share the load of
// the machine at the time.
const copies = [];
for (const tree of trees) {
  copies.push({ tree, name: tree.split("/").at(-1)!, ...await makeCopy(tree) });
}
const labs = copies[0].labs;
for (const c of copies) {
  console.log(`tree ${c.tree} (${c.name}): copy ${c.dir}, ${c.labs.length} labs`);
}
try {
  if (!args["no-all"]) {
    const runs = copies.map(() => [] as { ms: number; cpuMs: number }[]);
    for (let i = 0; i < allRounds; i++) {
      for (const [k, c] of copies.entries()) {
        console.log(`  ${c.name}:`);
        runs[k].push(await checkAll(c.dir, c.labs));
      }
    }
    for (const [k, c] of copies.entries()) {
      console.log(
        `${c.name}: check --all: median ${fmt(median(runs[k].map((r) => r.ms)))} of ${
          runs[k].length
        }, CPU ${fmt(median(runs[k].map((r) => r.cpuMs)))}`,
      );
    }
  }
  if (!args["no-watch"]) {
    // A fresh state: with every other lab passed, each passing save would re-verify every lab.
    for (const c of copies) rmSync(`${c.dir}/.mmap-lab/state.json`, { force: true });
    const seen = copies.map(() => ({
      firsts: [] as number[],
      fulls: [] as number[],
      perLabFirst: [] as number[],
      perLabFull: [] as number[],
    }));
    for (const lab of labs) {
      for (const [k, c] of copies.entries()) {
        const { first, full } = await watchLab(c.dir, lab, c.name);
        seen[k].firsts.push(...first);
        seen[k].fulls.push(...full);
        seen[k].perLabFirst.push(median(first));
        seen[k].perLabFull.push(median(full));
      }
    }
    for (const [k, c] of copies.entries()) {
      const { firsts, fulls, perLabFirst, perLabFull } = seen[k];
      console.log(
        `${c.name}: watch, save → first check verdict: median ${fmt(median(firsts))} over ` +
          `${firsts.length} saves (median of the labs' medians ${fmt(median(perLabFirst))}, ` +
          `worst lab ${fmt(Math.max(...perLabFirst))})`,
      );
      console.log(
        `${c.name}: watch, save → whole verdict: median ${
          fmt(median(fulls))
        } over ${fulls.length} ` +
          `saves (median of the labs' medians ${fmt(median(perLabFull))}, worst lab ${
            fmt(Math.max(...perLabFull))
          })`,
      );
    }
  }
} finally {
  if (!args.keep) { for (const c of copies) rmSync(c.dir, { recursive: true, force: true }); }
}
