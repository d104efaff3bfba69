/**
 * `deno task lab`: the student's runner.
 *
 * With no arguments it shows progress, opens the first unfinished lab and
 * watches its file: every save re-runs the checks. Subcommands: list, check,
 * hint, reset, solution, trace, show. `deno task lab <command> --help` for
 * each.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  type Catalog,
  checkerFile,
  findLab,
  labFile,
  type LabInfo,
  loadCatalog,
  PROJECT_ROOT,
  solutionFile,
} from "../lib/catalog.ts";
import { type LabResult, runLab } from "../lib/checker/run.ts";
import { describeOutcome, spawnChild } from "../lib/checker/spawn.ts";
import type { Frame } from "../lib/checker/drive.ts";
import { kB } from "../lib/checker/pages.ts";
import { formatCall } from "../lib/trace.ts";
import { drawPages } from "../lib/picture.ts";
import {
  bar,
  isTerminal,
  labTally,
  paint,
  projectLocationProblem,
  renderLab,
  useColor,
} from "./ui.ts";
import { doctorVerdicts, renderDoctor } from "./doctor.ts";
import { kernelProfile, profilePath } from "../lib/profile.ts";
import {
  backupStudentFile,
  fileDigest,
  labState,
  loadState,
  passedAsIs,
  pristineStub,
  rememberStubs,
  saveState,
  type State,
} from "./state.ts";

const HELP: Record<string, string> = {
  main: `mmap-lab: learn memory-mapped files by making them work

Usage: deno task lab [command] [options]

With no command: show progress, open the first unfinished lab, and re-run its
checks every time you save (watch mode). Keys: r re-run, h hint, s pages (labs
with a picture), n next lab (once this one passes), l list, q quit.

Commands:
  watch [lab]       watch mode on this lab (also one already passed)
  list              every lab with its status and points
  check [lab]       run a lab's checks once (all labs with --all); exit 0 only if all pass
  hint <lab>        show the next hint (--all: every hint)
  reset <lab>       restore the stub (your file is backed up first)
  solution <lab>    show the reference solution (after the lab passes, or --force)
  trace <lab>       the mmap/msync/munmap/… calls your code made during the checks
  show <lab>        draw the pages of your mapping as the kernel sees them
  doctor            what this machine's kernel does, measured, and what it means for the labs

A lab is named by number (1, 01), id (01_first_mapping) or slug (first_mapping).
Options: --help on any command; NO_COLOR=1 turns colours off.`,
  watch: `Usage: deno task lab watch [lab]

Watch mode (what \`deno task lab\` does) on the lab you name, even one that
already passes; without a lab, the first unfinished one. It becomes your
current lab. Keys: r re-run, h hint, s pages (labs with a picture), n next lab
(once this one passes), l list, q quit. Not in a terminal: checks the lab once.`,
  list: `Usage: deno task lab list [--verify]

Every lab in order, with its status and points as last checked.
  --verify   re-run every lab's checks first (the truth, not the memory)`,
  check: `Usage: deno task lab check [lab] [--all]

Runs the checks once and prints each result. Without a lab: the current lab.
  --all      every lab, in order
Exit status: 0 only if every check passed (usable in scripts).`,
  hint: `Usage: deno task lab hint <lab> [--all]

Shows the next hint for the lab, one more each time you ask.
  --all      every hint at once`,
  reset: `Usage: deno task lab reset <lab> [--yes]

Restores the lab's stub. Your current file is copied to
.mmap-lab/backups/<lab>/ first: nothing is ever lost.
  --yes      do not ask (needed when not in a terminal)`,
  solution: `Usage: deno task lab solution <lab> [--force]

Prints the reference solution, once the lab passes.
  --force    show it anyway`,
  trace: `Usage: deno task lab trace <lab>

Runs the lab's checks and prints, per check, the libc calls your code made
through the wrapper (like strace): mmap, msync, munmap, mprotect, …`,
  show: `Usage: deno task lab show <lab>

Runs your code and draws the mapping's pages at each step, from
/proc/self/pagemap and smaps: · absent, 0 zero page, ▒ file page,
█ private copy, ▓ shared memory.`,
  doctor: `Usage: deno task lab doctor [--fresh]

Measures what this machine's kernel does where kernels differ (zero page,
fault-around, read-around, page size, writeback of the scratch directory, …),
says what each fact means for the labs, and which labs cannot run here.
The profile is kept in .mmap-lab/kernel-profile.json until the next boot.
  --fresh    measure again`,
};

function fail(message: string, code = 2): never {
  console.error(paint("red", `error: ${message}`));
  Deno.exit(code);
}

function resolveLab(catalog: Catalog, name: string | undefined, state: State): LabInfo {
  if (name === undefined) {
    return currentLab(catalog, state) ?? catalog.labs[catalog.labs.length - 1];
  }
  const lab = findLab(catalog, name);
  if (!lab) {
    fail(`no lab named ${JSON.stringify(name)}; try: ${catalog.labs.map((l) => l.id).join(", ")}`);
  }
  return lab;
}

function currentLab(catalog: Catalog, state: State): LabInfo | undefined {
  const chosen = state.current ? findLab(catalog, state.current) : undefined;
  if (chosen && !passedAsIs(catalog.root, state, chosen)) return chosen;
  return catalog.labs.find((lab) => !passedAsIs(catalog.root, state, lab));
}

function relative(catalog: Catalog, path: string): string {
  return path.startsWith(catalog.root + "/") ? path.slice(catalog.root.length + 1) : path;
}

function record(
  catalog: Catalog,
  state: State,
  result: LabResult,
  digest: string | undefined,
): void {
  const s = labState(state, result.id);
  s.passed = result.passed;
  s.score = result.score;
  s.maxScore = result.maxScore;
  s.checkedAt = new Date().toISOString();
  s.fileDigest = digest;
  saveState(catalog.root, state);
}

async function check(catalog: Catalog, state: State, lab: LabInfo): Promise<LabResult> {
  // The file as it was when the check started: a save during the run makes it "changed".
  const digest = fileDigest(catalog.root, lab);
  const result = await runLab(catalog, lab);
  record(catalog, state, result, digest);
  return result;
}

function progressLine(catalog: Catalog, state: State): string {
  const done = catalog.labs.filter((l) => passedAsIs(catalog.root, state, l)).length;
  const points = catalog.labs.reduce((sum, l) => sum + (state.labs[l.id]?.score ?? 0), 0);
  const max = catalog.labs.reduce((sum, l) => sum + (state.labs[l.id]?.maxScore ?? 0), 0);
  return `${bar(done, catalog.labs.length)} ${done}/${catalog.labs.length} labs passed` +
    (max ? `, ${points}/${max} points checked so far` : "");
}

/**
 * A lab's result for the student. The checks' own hints show once the
 * student has asked for a hint on this lab (rustlings' way: hints on
 * request); until then one line says how to get them.
 */
function renderResult(state: State, lab: LabInfo, result: LabResult, ask: string): string {
  const hints = (state.labs[lab.id]?.hintsShown ?? 0) > 0;
  const text = renderLab(result, { hints });
  const withheld = !hints && result.checks.some((c) => c.status === "failed" && c.hint);
  return withheld ? `${text}\n${paint("gray", `  stuck? hints: ${ask}`)}` : text;
}

// ---- commands ----

async function cmdList(catalog: Catalog, state: State, verify: boolean): Promise<number> {
  if (verify) {
    for (const lab of catalog.labs) await check(catalog, state, lab);
  }
  const current = currentLab(catalog, state);
  console.log(progressLine(catalog, state));
  const edited = new Set(
    catalog.labs.filter((l) => state.labs[l.id]?.passed && !passedAsIs(catalog.root, state, l))
      .map((l) => l.id),
  );
  for (const lab of catalog.labs) {
    const s = state.labs[lab.id];
    const status = !s?.checkedAt
      ? paint("gray", "not checked")
      : edited.has(lab.id)
      ? paint("yellow", "edited     ")
      : s.passed
      ? paint("green", "passed     ")
      : paint("yellow", "in progress");
    const points = s?.checkedAt ? `${s.score}/${s.maxScore}` : "";
    const marker = lab.id === current?.id ? paint("cyan", "▶") : " ";
    console.log(`${marker} ${lab.id.padEnd(24)} ${status}  ${points.padStart(7)}  ${lab.title}`);
  }
  if (edited.size) {
    console.log(paint("gray", "edited: passed, but the file changed since; `check` it again"));
  }
  return 0;
}

async function cmdCheck(
  catalog: Catalog,
  state: State,
  name: string | undefined,
  all: boolean,
): Promise<number> {
  const labs = all ? catalog.labs : [resolveLab(catalog, name, state)];
  const scratch = kernelProfile(catalog.root).scratch;
  if (scratch.reason) {
    console.log(paint("gray", `scratch files go to ${scratch.dir}: ${scratch.reason}`));
  }
  const results: LabResult[] = [];
  for (const lab of labs) {
    const result = await check(catalog, state, lab);
    results.push(result);
    console.log(renderResult(state, lab, result, `deno task lab hint ${lab.id.split("_")[0]}`));
    console.log();
  }
  const passed = results.filter((r) => r.passed).length;
  if (all) {
    const score = results.reduce((s, r) => s + r.score, 0);
    const max = results.reduce((s, r) => s + r.maxScore, 0);
    console.log(`${passed} of ${results.length} labs passed, ${score}/${max} points`);
  } else {
    console.log(`${results[0].id}: ${labTally(results[0])}`);
  }
  return passed === results.length ? 0 : 1;
}

function cmdHint(
  catalog: Catalog,
  state: State,
  lab: LabInfo,
  all: boolean,
  again = "run this again",
): number {
  const s = labState(state, lab.id);
  const count = all ? lab.hints.length : Math.min(s.hintsShown + 1, lab.hints.length);
  s.hintsShown = Math.max(s.hintsShown, count);
  saveState(catalog.root, state);
  console.log(paint("bold", `Hints for ${lab.id}: ${lab.title}`));
  lab.hints.slice(0, count).forEach((hint, i) => console.log(`  ${i + 1}. ${hint}`));
  if (count < lab.hints.length) {
    console.log(paint("gray", `  (${lab.hints.length - count} more: ${again})`));
  } else {
    console.log(paint("gray", `  (that is every hint; the lesson is labs/${lab.id}/README.md)`));
  }
  return 0;
}

function cmdReset(catalog: Catalog, lab: LabInfo, yes: boolean): number {
  const stub = pristineStub(catalog.root, lab);
  if (stub === undefined) {
    fail(`cannot find the original stub of ${lab.id} (not a git checkout?)`, 1);
  }
  const path = labFile(catalog.root, lab);
  if (!yes) {
    if (!Deno.stdin.isTerminal()) fail("reset needs --yes when not in a terminal");
    const answer = prompt(
      `Restore the stub of ${relative(catalog, path)}? Your file is backed up first. [y/N]`,
    );
    if (!/^y(es)?$/i.test(answer ?? "")) {
      console.log("nothing changed");
      return 1;
    }
  }
  const backup = backupStudentFile(catalog.root, lab);
  Deno.writeTextFileSync(path, stub);
  console.log(`restored the stub of ${relative(catalog, path)}`);
  console.log(`your previous file is saved as ${relative(catalog, backup)}`);
  return 0;
}

async function cmdSolution(
  catalog: Catalog,
  state: State,
  lab: LabInfo,
  force: boolean,
): Promise<number> {
  if (!force) {
    const result = await check(catalog, state, lab);
    if (!result.passed) {
      console.log(`${lab.id} does not pass yet (${labTally(result)}).`);
      console.log("Finish it first, or ask for a hint: deno task lab hint " + lab.id.split("_")[0]);
      console.log("(--force shows the solution anyway)");
      return 1;
    }
  }
  const path = solutionFile(catalog.root, lab);
  console.log(paint("gray", `// ${relative(catalog, path)}`));
  console.log(Deno.readTextFileSync(path));
  return 0;
}

async function cmdTrace(catalog: Catalog, lab: LabInfo): Promise<number> {
  const result = await runLab(catalog, lab);
  console.log(paint("bold", `Calls your code made in ${lab.id}, check by check:`));
  for (const c of result.checks) {
    console.log(`\n${paint("bold", c.id)}  ${c.title}`);
    if (c.calls.length === 0) {
      const why = c.status === "skipped"
        ? `skipped: ${c.message}`
        : c.sharedWith
        ? `this check looked at the same run as ${c.sharedWith}: its calls are listed there`
        : "no calls recorded in this check";
      console.log(paint("gray", `  (${why})`));
      continue;
    }
    const shown = c.calls.slice(0, 60);
    for (const call of shown) {
      console.log(`  ${call.error ? paint("red", formatCall(call)) : formatCall(call)}`);
    }
    if (c.calls.length > shown.length) {
      console.log(paint("gray", `  … ${c.calls.length - shown.length} more`));
    }
  }
  console.log(`\n${lab.id}: ${labTally(result)}`);
  return result.passed ? 0 : 1;
}

function cmdDoctor(catalog: Catalog, fresh: boolean): number {
  const known = !fresh && existsFile(profilePath(catalog.root));
  const profile = kernelProfile(catalog.root, { fresh });
  const width = isTerminal ? Deno.consoleSize().columns : 80;
  const source = known
    ? `kept in ${relative(catalog, profilePath(catalog.root))} (--fresh measures again)`
    : `saved in ${relative(catalog, profilePath(catalog.root))}`;
  console.log(renderDoctor(profile, { width, source }));
  return doctorVerdicts(profile).some((v) => v.blocking) ? 1 : 0;
}

function existsFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

async function cmdShow(catalog: Catalog, lab: LabInfo): Promise<number> {
  const drive = checkerFile(catalog.root, lab, "show.ts");
  try {
    Deno.statSync(drive);
  } catch {
    const withShow = catalog.labs.filter((l) => l.show).map((l) => l.id);
    console.log(
      `${lab.id} has no picture to show.${withShow.length ? ` Try: ${withShow.join(", ")}` : ""}`,
    );
    return 1;
  }
  const scratchRoot = kernelProfile(catalog.root).scratch.dir;
  Deno.mkdirSync(scratchRoot, { recursive: true });
  const scratch = Deno.makeTempDirSync({ dir: scratchRoot, prefix: `show-${lab.id}-` });
  try {
    const result = await spawnChild({
      drive,
      student: labFile(catalog.root, lab),
      scratch,
      readable: [catalog.root],
      timeoutMs: 10_000,
    }).result();
    if (result.outcome !== "ok") {
      console.log(paint("red", `your code ${describeOutcome(result)}`));
      if (result.stderr.trim()) console.log(result.stderr.trim().split("\n").slice(-8).join("\n"));
      return 1;
    }
    const { frames } = result.value as { frames: Frame[] };
    for (const frame of frames) {
      console.log(paint("bold", frame.title));
      console.log(drawPages(frame.pages.map((state) => ({ state })), { color: useColor }));
      const s = frame.smaps;
      console.log(
        paint(
          "gray",
          `  smaps: Rss ${kB(s.rss)}, Private_Dirty ${kB(s.privateDirty)}, Private_Clean ${
            kB(s.privateClean)
          }, Shared_Dirty ${kB(s.sharedDirty)}, Anonymous ${kB(s.anonymous)}`,
        ),
      );
      console.log();
    }
    return 0;
  } finally {
    Deno.removeSync(scratch, { recursive: true });
  }
}

// ---- watch mode ----

async function watch(catalog: Catalog, state: State, chosen?: LabInfo): Promise<number> {
  if (chosen && state.current !== chosen.id) {
    state.current = chosen.id;
    saveState(catalog.root, state);
  }
  let lab = chosen ?? currentLab(catalog, state);
  if (!lab) {
    console.log(paint("green", "Every lab passes. Re-verifying all of them…"));
    return await cmdCheck(catalog, state, undefined, true);
  }
  const interactive = isTerminal && Deno.stdin.isTerminal();
  console.log(progressLine(catalog, state));
  if (!interactive) {
    // A pipe: no prompts, no escape codes. Check the current lab once.
    console.log(`current lab: ${lab.id} (${relative(catalog, labFile(catalog.root, lab))})`);
    console.log("watch mode needs a terminal; checking once:\n");
    return await cmdCheck(catalog, state, lab.id, false);
  }

  let running: Promise<void> | undefined;
  let lastResult: LabResult | undefined;
  const encoder = new TextEncoder();
  const clear = () => Deno.stdout.writeSync(encoder.encode("\x1b[2J\x1b[H"));

  const header = (l: LabInfo) =>
    [
      progressLine(catalog, state),
      "",
      `${paint("bold", `Lab ${l.id.split("_")[0]} · ${l.title}`)}`,
      l.goal,
      `Edit ${paint("cyan", relative(catalog, labFile(catalog.root, l)))}  ·  lesson: ${
        relative(catalog, `${catalog.root}/labs/${l.id}/README.md`)
      }`,
      "",
    ].join("\n");

  const keys = (passed: boolean) =>
    paint(
      "gray",
      `keys: r re-run · h hint · ${lab?.show ? "s pages · " : ""}${
        passed ? "n next lab · " : ""
      }l list · q quit`,
    );

  const runOnce = async () => {
    const current = lab!;
    clear();
    console.log(header(current));
    console.log(paint("gray", "checking…"));
    const passedBefore = passedAsIs(catalog.root, state, current);
    const result = await check(catalog, state, current);
    lastResult = result;
    clear();
    console.log(header(current));
    console.log(renderResult(state, current, result, "press h"));
    console.log();
    if (result.passed) {
      const isLast = catalog.labs.every((l) => passedAsIs(catalog.root, state, l));
      // Re-verify everything once, when the last lab has just turned green.
      if (isLast && !passedBefore) {
        console.log(paint("green", "That was the last lab. Re-verifying every lab…"));
        const all: LabResult[] = [];
        for (const l of catalog.labs) all.push(await check(catalog, state, l));
        const ok = all.filter((r) => r.passed).length;
        console.log(`${ok} of ${all.length} labs pass.${ok === all.length ? " Well done!" : ""}`);
      } else {
        console.log(
          paint("green", `${current.id} passes! Press n for the next lab when you are ready.`),
        );
      }
    } else {
      console.log("Save the file to re-run the checks.");
    }
    console.log(keys(result.passed));
  };
  const rerun = () => {
    running = (running ?? Promise.resolve()).then(runOnce).catch((err) => {
      console.log(paint("red", `runner error: ${err instanceof Error ? err.message : err}`));
    });
  };

  let watcher: Deno.FsWatcher | undefined;
  const watchLab = (l: LabInfo) => {
    watcher?.close();
    watcher = undefined;
    try {
      watcher = Deno.watchFs(`${catalog.root}/labs/${l.id}`, { recursive: false });
    } catch (err) {
      console.log(
        paint(
          "yellow",
          `cannot watch labs/${l.id}: ${
            err instanceof Error ? err.message : err
          }; press r to re-run`,
        ),
      );
      return;
    }
    const w = watcher;
    (async () => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        for await (const event of w) {
          if (!event.paths.some((p) => p.endsWith(`/${l.file}`))) continue;
          clearTimeout(timer);
          timer = setTimeout(rerun, 250);
        }
      } catch { /* closed */ }
    })();
  };

  watchLab(lab);
  rerun();
  Deno.stdin.setRaw(true);
  try {
    const buf = new Uint8Array(16);
    for (;;) {
      const n = await Deno.stdin.read(buf);
      if (n === null) break;
      const key = String.fromCharCode(buf[0]);
      if (key === "q" || buf[0] === 3 || buf[0] === 4) break;
      if (key === "r" || key === "\r") rerun();
      if (key === "h") {
        await running;
        console.log();
        cmdHint(catalog, state, lab, false, "press h again");
        console.log(keys(lastResult?.passed ?? false));
      }
      if (key === "s" && lab.show) {
        const shown = lab;
        // Chained like a re-run, so a save meanwhile waits for the picture.
        running = (running ?? Promise.resolve()).then(async () => {
          console.log();
          await cmdShow(catalog, shown);
          console.log(keys(lastResult?.passed ?? false));
        }).catch((err) => {
          console.log(paint("red", `runner error: ${err instanceof Error ? err.message : err}`));
        });
      }
      if (key === "l") {
        await running;
        console.log();
        await cmdList(catalog, state, false);
        console.log(keys(lastResult?.passed ?? false));
      }
      if (key === "n" && lastResult?.passed) {
        await running;
        const next = catalog.labs.find((l) => !passedAsIs(catalog.root, state, l));
        if (next) {
          lab = next;
          state.current = next.id;
          saveState(catalog.root, state);
          lastResult = undefined;
          watchLab(next);
          rerun();
        }
      }
    }
  } finally {
    Deno.stdin.setRaw(false);
    watcher?.close();
  }
  await running;
  console.log(`\n${progressLine(catalog, state)}`);
  return 0;
}

// ---- main ----

export async function main(args: string[]): Promise<number> {
  const command = args[0] && !args[0].startsWith("-") ? args[0] : undefined;
  const rest = command === undefined ? args : args.slice(1);
  const options = {
    help: { type: "boolean", short: "h" },
    all: { type: "boolean" },
    verify: { type: "boolean" },
    yes: { type: "boolean", short: "y" },
    force: { type: "boolean" },
    fresh: { type: "boolean" },
  } as const;
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      options,
    });
  } catch (err) {
    fail(`${err instanceof Error ? err.message : err}\n\n${HELP[command ?? "main"] ?? HELP.main}`);
  }
  const { values, positionals } = parsed;
  if (command !== undefined && !(command in HELP && command !== "main")) {
    fail(`unknown command ${JSON.stringify(command)}\n\n${HELP.main}`);
  }
  if (values.help) {
    console.log(HELP[command ?? "main"]);
    return 0;
  }
  const misplaced = projectLocationProblem(PROJECT_ROOT);
  if (misplaced) fail(misplaced);
  const catalog = loadCatalog();
  const state = loadState(catalog.root);
  rememberStubs(catalog.root, catalog.labs);
  const needLab = () => {
    if (!positionals[0]) fail(`which lab?\n\n${HELP[command!]}`);
    return resolveLab(catalog, positionals[0], state);
  };
  switch (command) {
    case undefined:
      return await watch(catalog, state);
    case "watch":
      return await watch(
        catalog,
        state,
        positionals[0] ? resolveLab(catalog, positionals[0], state) : undefined,
      );
    case "list":
      return await cmdList(catalog, state, values.verify ?? false);
    case "check":
      return await cmdCheck(catalog, state, positionals[0], values.all ?? false);
    case "hint":
      return cmdHint(catalog, state, needLab(), values.all ?? false);
    case "reset":
      return cmdReset(catalog, needLab(), values.yes ?? false);
    case "solution":
      return await cmdSolution(catalog, state, needLab(), values.force ?? false);
    case "trace":
      return await cmdTrace(catalog, needLab());
    case "show":
      return await cmdShow(catalog, needLab());
    case "doctor":
      return cmdDoctor(catalog, values.fresh ?? false);
  }
  return 2;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (err) {
    console.error(paint("red", `mmap-lab runner error: ${err instanceof Error ? err.stack : err}`));
    console.error("Your files are untouched. Please report this with the output above.");
    Deno.exit(3);
  }
}
