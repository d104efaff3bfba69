/**
 * `deno task lab`: the student's runner.
 *
 * With no arguments it shows progress, opens the first unfinished lab and
 * watches its file: every save re-runs the checks. Subcommands: list, check,
 * hint, reset, solution, trace, show, web, doctor. `deno task lab <command>
 * --help` for each.
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
import { type CheckResult, type LabResult, runLab } from "../lib/checker/run.ts";
import { loadLabChecks } from "../lib/checker/load.ts";
import { formatOutput } from "../lib/checker/output.ts";
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
  renderCheck,
  renderTypeErrors,
  useColor,
} from "./ui.ts";
import { type Block, fitScreen } from "./screen.ts";
import { wrapText } from "./wrap.ts";
import { TypeChecker, type TypeReport } from "./typecheck.ts";
import { coursePoints, earnedPoints, type LabStatus, labStatus } from "./progress.ts";
import { describeHolder, takeRunnerLock } from "./lock.ts";
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
  type State,
  updateState,
} from "./state.ts";
import { capturePicture, recordRun } from "./web/run_data.ts";
import { WEB_HELP, webCommand } from "./web/command.ts";

const HELP: Record<string, string> = {
  main: `mmap-lab: learn memory-mapped files by making them work

Usage: deno task lab [command] [options]

With no command: show progress, open the first unfinished lab, and re-run its
checks every time you save (watch mode). Keys: r re-run, h hint, s pages (labs
with a picture), a all of the result (when the screen is too small), n next lab
(once this one passes), l list, q quit.

Commands:
  watch [lab]       watch mode on this lab (also one already passed)
  list              every lab with its status and points
  check [lab]       run a lab's checks once (all labs with --all); exit 0 only if all pass
  hint [lab]        show the next hint (--all: every hint)
  reset <lab>       restore the stub (your file is backed up first)
  solution <lab>    show the reference solution, once the lab passes (if solutions/ has it)
  trace [lab]       the mmap/msync/munmap/… calls your code made during the checks
  show [lab]        draw the pages of your mapping as the kernel sees them
  web [lab]         the same in your browser, step by step beside your calls, live
  doctor            what this machine's kernel does, measured, and what it means for the labs

A lab is named by number (1, 01), id (01_first_mapping) or slug (first_mapping);
[lab] may be left out: the current lab.
Options: --help on any command; NO_COLOR=1 turns colours off.`,
  watch: `Usage: deno task lab watch [lab]

Watch mode (what \`deno task lab\` does) on the lab you name, even one that
already passes; without a lab, the first unfinished one. It becomes your
current lab. Keys: r re-run, h hint, s pages (labs with a picture), a all of
the result, n next lab (once this one passes), l list, q quit. Not in a
terminal: checks the lab once. One watch-mode runner per project at a time.`,
  list: `Usage: deno task lab list [--verify]

Every lab in order, with its status and points as last checked.
  --verify   re-run every lab's checks first (the truth, not the memory)`,
  check: `Usage: deno task lab check [lab] [--all]

Runs the checks once and prints each result. Without a lab: the current lab.
  --all      every lab, in order
Exit status: 0 only if every check passed (usable in scripts).`,
  hint: `Usage: deno task lab hint [lab] [--all]

Shows the next hint for the lab (default: the current lab), one more each
time you ask.
  --all      every hint at once`,
  reset: `Usage: deno task lab reset <lab> [--yes]

Restores the lab's stub. Your current file is copied to
.mmap-lab/backups/<lab>/ first: nothing is ever lost.
  --yes      do not ask (needed when not in a terminal)`,
  solution: `Usage: deno task lab solution <lab> [--force]

Prints the reference solution, once the lab passes. The solutions live in
solutions/, which your instructor may hand out later (a student copy of the
labs has none).
  --force    show it anyway`,
  trace: `Usage: deno task lab trace [lab]

Runs the lab's checks (default: the current lab) and prints, per check, the libc calls your code made
through the wrapper (like strace): mmap, msync, munmap, mprotect, …`,
  show: `Usage: deno task lab show [lab]

Runs your code (default: the current lab's) and draws the mapping's pages at each step, from
/proc/self/pagemap and smaps: · absent, 0 zero page, ▒ file page,
█ private copy, ▓ shared memory.`,
  web: WEB_HELP,
  doctor: `Usage: deno task lab doctor [--fresh]

Measures what this machine's kernel does where kernels differ (zero page,
fault-around, read-around, page size, writeback of the scratch directory, …),
says what each fact means for the labs, and which labs cannot run here.
The profile is kept in .mmap-lab/kernel-profile.json until the next boot.
  --fresh    measure again`,
};

/** The options each command takes (beyond --help). */
const OPTIONS: Record<string, string[]> = {
  main: [],
  watch: [],
  list: ["verify"],
  check: ["all"],
  hint: ["all"],
  reset: ["yes"],
  solution: ["force"],
  trace: [],
  show: [],
  web: ["port"],
  doctor: ["fresh"],
};

function fail(message: string, code = 2): never {
  let cols = 0;
  try {
    if (Deno.stderr.isTerminal()) cols = Deno.consoleSize().columns;
  } catch { /* not a terminal */ }
  const text = `error: ${message}`;
  console.error(paint("red", cols ? wrapText(text, cols) : text));
  Deno.exit(code);
}

/** Columns of the terminal (0 in a pipe: no wrapping). */
function columns(): number {
  if (!isTerminal) return 0;
  try {
    return Deno.consoleSize().columns;
  } catch {
    return 0;
  }
}

/** Prints text, wrapped at word boundaries to the terminal's width (as is in a pipe). */
function say(text = ""): void {
  const cols = columns();
  console.log(cols ? wrapText(text, cols) : text);
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

const labNumber = (lab: LabInfo) => lab.id.split("_")[0];

/** A lab's checks, and the type check of its file, as one verdict. */
interface Verdict {
  /** The checks' result. */
  result: LabResult;
  /** The type check (absent when the file is missing). */
  types?: TypeReport;
  /**
   * The picture and the record of the run for `deno task lab web`, made once
   * the verdict is known: show the verdict first, then wait for this before
   * the next run (the picture's child must not compete with the checks').
   */
  after?: Promise<void>;
}

/** {@link check}, and what it does after the verdict. */
async function checkAndRecord(catalog: Catalog, state: State, lab: LabInfo): Promise<Verdict> {
  const verdict = await check(catalog, state, lab);
  await verdict.after;
  return verdict;
}

let typeChecker: TypeChecker | undefined;
/** Points of the whole course (set in main). */
let courseTotal = 0;

/**
 * Before checking several labs: type-checks all their files in one compiler
 * run (lib/ once), whose verdicts each lab's {@link check} then finds. It
 * runs alongside the first lab's checks.
 */
function shareTypeCheck(catalog: Catalog, labs: LabInfo[]): void {
  if (labs.length < 2) return;
  typeChecker ??= new TypeChecker(catalog.root);
  void typeChecker.prefetch(
    labs.map((lab) => ({
      file: labFile(catalog.root, lab),
      digest: fileDigest(catalog.root, lab),
    })),
  );
}

function record(catalog: Catalog, state: State, result: LabResult, digest?: string): void {
  updateState(catalog.root, state, (fresh) => {
    const s = labState(fresh, result.id);
    s.passed = result.passed;
    s.score = result.score;
    s.maxScore = result.maxScore || s.maxScore;
    s.checkedAt = new Date().toISOString();
    s.fileDigest = digest;
  });
}

/** Why the lab cannot run: its file is missing; `undefined` when it is there. */
function missingFile(catalog: Catalog, lab: LabInfo): string | undefined {
  const path = labFile(catalog.root, lab);
  try {
    Deno.statSync(path);
    return undefined;
  } catch {
    return `your file ${relative(catalog, path)} is missing (deleted or renamed?). ` +
      `\`deno task lab reset ${Number.parseInt(labNumber(lab), 10)}\` restores the stub` +
      " (a renamed file: rename it back to keep your work).";
  }
}

/** Told as a run goes (watch mode shows each check's verdict as it arrives). */
interface Progress {
  /** A check finished. */
  onCheck?: (result: CheckResult) => void;
  /** The type check's verdict is known. */
  onTypes?: (report: TypeReport) => void;
  /**
   * Start each child ahead of its task (runLab's `prestart`; default true):
   * a lab run alone finds its children started (about 5% faster here). Not
   * when other labs run at the same time: the cores are busy, and each unused
   * start costs CPU they need (check --all: 21.8 s without, 26.4 s with).
   */
  prestart?: boolean;
}

async function check(
  catalog: Catalog,
  state: State,
  lab: LabInfo,
  progress: Progress = {},
): Promise<Verdict> {
  // The file as it was when the check started: a save during the run makes it "changed".
  const digest = fileDigest(catalog.root, lab);
  const missing = missingFile(catalog, lab);
  if (missing || digest === undefined) {
    const result: LabResult = {
      id: lab.id,
      title: lab.title,
      checks: [],
      score: 0,
      maxScore: 0,
      passed: false,
      error: missing ?? "your file cannot be read",
      durationMs: 0,
    };
    record(catalog, state, result, undefined);
    return { result };
  }
  typeChecker ??= new TypeChecker(catalog.root);
  // The compiler and the checks run side by side; a type error holds back the checks' verdicts.
  const [result, types] = await Promise.all([
    runLab(catalog, lab, { onCheck: progress.onCheck, prestart: progress.prestart }),
    typeChecker.check(labFile(catalog.root, lab), digest).then((types) => {
      progress.onTypes?.(types);
      return types;
    }),
  ]);
  if (!types.ok) result.passed = false;
  record(catalog, state, result, digest);
  // Then the picture `deno task lab web` shows (labs with one), after the checks so that its
  // child never competes with theirs for the CPU, and the record of the run for the page: after
  // the verdict, which the student sees at once.
  const after = capturePicture(catalog, lab).catch(() => undefined)
    .then((picture) => {
      recordRun(catalog, lab, { result, types, digest, picture });
    })
    .catch(() => {/* the page's record is a convenience; the verdict is saved */});
  return { result, types, after };
}

function progressLine(catalog: Catalog, state: State): string {
  const done = catalog.labs.filter((l) => passedAsIs(catalog.root, state, l)).length;
  const points = courseTotal ? ` · ${earnedPoints(catalog, state)} of ${courseTotal} points` : "";
  return `${bar(done, catalog.labs.length)} ${done}/${catalog.labs.length} labs passed${points}`;
}

/**
 * A verdict in blocks: the lab's heading, then either the type errors (and
 * what the code printed, check by check) or every check. The heading and the
 * first failing check are the key blocks: on screen whatever its size. The
 * checks' own hints show once the student has asked for a hint on this lab
 * (rustlings' way: hints on request); until then one line says how.
 */
function verdictBlocks(
  catalog: Catalog,
  state: State,
  lab: LabInfo,
  verdict: Verdict,
  ask: string,
): Block[] {
  const { result, types } = verdict;
  const typeError = types !== undefined && !types.ok;
  const tally = typeError
    ? "type error: checks held back"
    : result.error && !result.checks.length
    ? "not checked"
    : labTally(result);
  const head = [
    `${paint("bold", `Lab ${labNumber(lab)}`)} · ${result.title}  ${paint("gray", tally)}`,
  ];
  if (result.error) head.push(paint("red", `  ${result.error}`));
  const blocks: Block[] = [{ text: head.join("\n"), key: true }];
  if (typeError) {
    blocks.push({ text: renderTypeErrors(types, (p) => relative(catalog, p)), key: true });
    for (const c of result.checks) {
      const printed = formatOutput(c.output);
      if (!printed.length) continue;
      blocks.push({
        text: [
          `  ${paint("gray", "·")} ${paint("bold", c.id)}`,
          ...printed.map((l) => `      ${paint("gray", l)}`),
        ]
          .join("\n"),
      });
    }
    return blocks;
  }
  const hints = (state.labs[lab.id]?.hintsShown ?? 0) > 0;
  let first = true;
  for (const c of result.checks) {
    const failed = c.status === "failed";
    blocks.push({
      text: renderCheck(c, { hints }),
      key: failed && first,
      summary: renderCheck(c, { hints, output: false }).split("\n")[0],
    });
    if (failed) first = false;
  }
  if (!hints && result.checks.some((c) => c.status === "failed" && c.hint)) {
    blocks.push({ text: paint("gray", `  stuck? hints: ${ask}`) });
  }
  return blocks;
}

/** A run under way in watch mode: the lab's checks, those done so far, the type check once known. */
interface RunUnderWay {
  lab: LabInfo;
  /** The lab's checks in order (undefined until listed, or when they cannot be). */
  checks?: { id: string; title: string }[];
  /** The checks done so far, in the order they finished. */
  done: CheckResult[];
  /** The type check's verdict, once known. */
  types?: TypeReport;
}

/** The lab's checks as the student runner runs them (no hidden ones); undefined if they do not load. */
async function listChecks(catalog: Catalog, lab: LabInfo) {
  try {
    return (await loadLabChecks(catalog.root, lab)).map(({ id, title }) => ({ id, title }));
  } catch {
    return undefined; // the run says why
  }
}

const RUN_MARK: Record<CheckResult["status"], [string, Parameters<typeof paint>[0]]> = {
  passed: ["✓", "green"],
  failed: ["✗", "red"],
  skipped: ["·", "gray"],
};

/** `text` cut to `room` characters, "…" marking the cut (0: no limit). */
function cut(text: string, room: number): string {
  const chars = [...text];
  return room <= 0 || chars.length <= room
    ? text
    : chars.slice(0, Math.max(0, room - 1)).join("") + "…";
}

/**
 * A run under way in blocks, one line each (titles cut to `cols`): the lab's
 * heading, each check done so far (✓/✗/·, its points), the rest pending, and
 * one line while the type check runs. A type error replaces the checks'
 * verdicts, as on the final screen.
 */
function runBlocks(catalog: Catalog, run: RunUnderWay, cols: number): Block[] {
  const total = Math.max(run.checks?.length ?? 0, run.done.length);
  const typeError = run.types !== undefined && !run.types.ok;
  const tally = typeError
    ? "type error: checks held back"
    : `checking: ${run.done.length} of ${total} done`;
  const blocks: Block[] = [{
    text: `${paint("bold", `Lab ${labNumber(run.lab)}`)} · ${run.lab.title}  ${
      paint("gray", tally)
    }`,
    key: true,
  }];
  if (typeError) {
    blocks.push({ text: renderTypeErrors(run.types!, (p) => relative(catalog, p)), key: true });
    return blocks;
  }
  const done = new Map(run.done.map((c) => [c.id, c]));
  const order = [
    ...(run.checks ?? []),
    ...run.done.filter((c) => !run.checks?.some((k) => k.id === c.id)),
  ];
  let first = true;
  for (const { id, title } of order) {
    const c = done.get(id);
    if (!c) {
      const room = cols ? cols - `  … ${id}  `.length : 0;
      blocks.push({ text: paint("gray", `  … ${id}  ${cut(title, room)}`) });
      continue;
    }
    const [mark, style] = RUN_MARK[c.status];
    const points = `(${c.score}/${c.maxScore})`;
    const room = cols ? cols - `  ${mark} ${id}    ${points}`.length : 0;
    const failed = c.status === "failed";
    blocks.push({
      text: `  ${paint(style, mark)} ${paint("bold", id)}  ${cut(c.title, room)}  ${
        paint("gray", points)
      }`,
      key: failed && first,
    });
    if (failed) first = false;
  }
  if (!run.types) blocks.push({ text: paint("gray", "  … type-checking your file (deno check)") });
  return blocks;
}

function renderVerdict(
  catalog: Catalog,
  state: State,
  lab: LabInfo,
  verdict: Verdict,
  ask: string,
): string {
  return verdictBlocks(catalog, state, lab, verdict, ask).map((b) => b.text).join("\n");
}

// ---- commands ----

const STATUS_STYLE: Record<LabStatus, Parameters<typeof paint>[0]> = {
  "not started": "gray",
  "in progress": "yellow",
  passed: "green",
  edited: "yellow",
  missing: "red",
};

async function cmdList(catalog: Catalog, state: State, verify: boolean): Promise<number> {
  if (verify) {
    shareTypeCheck(catalog, catalog.labs);
    for (const lab of catalog.labs) await checkAndRecord(catalog, state, lab);
  }
  const current = currentLab(catalog, state);
  say(progressLine(catalog, state));
  const statuses = catalog.labs.map((lab) => labStatus(catalog.root, state, lab));
  catalog.labs.forEach((lab, i) => {
    const s = state.labs[lab.id];
    const status = statuses[i];
    const shown = paint(STATUS_STYLE[status], status.padEnd(11));
    const points = s?.checkedAt && status !== "not started" && status !== "missing"
      ? `${s.score}/${s.maxScore}`
      : "";
    const marker = lab.id === current?.id ? paint("cyan", "▶") : " ";
    say(`${marker} ${lab.id.padEnd(24)} ${shown}  ${points.padStart(7)}  ${lab.title}`);
  });
  if (statuses.includes("edited")) {
    say(paint("gray", "edited: passed, but the file changed since; `check` it again"));
  }
  if (statuses.includes("missing")) {
    say(
      paint("gray", "missing: the lab's file is gone; `deno task lab reset N` restores the stub"),
    );
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
    say(paint("gray", `scratch files go to ${scratch.dir}: ${scratch.reason}`));
  }
  // Several labs at once, as the grader does (a lab's checks mostly wait: for a child to start,
  // for a frozen process, for a stress run), up to one per core; verdicts are printed in order.
  const jobs = Math.max(1, Math.min(navigator.hardwareConcurrency ?? 1, labs.length));
  shareTypeCheck(catalog, labs);
  const pending: Promise<Verdict>[] = [];
  let started = 0;
  const startNext = (): void => {
    if (started >= labs.length) return;
    const verdict = check(catalog, state, labs[started++], { prestart: jobs === 1 });
    pending.push(verdict);
    verdict.then(startNext, startNext);
  };
  for (let i = 0; i < jobs; i++) startNext();
  const verdicts: Verdict[] = [];
  for (let i = 0; i < labs.length; i++) {
    const verdict = await pending[i];
    verdicts.push(verdict);
    const lab = labs[i];
    say(renderVerdict(catalog, state, lab, verdict, `deno task lab hint ${labNumber(lab)}`));
    say();
  }
  await Promise.all(verdicts.map((v) => v.after));
  const results = verdicts.map((v) => v.result);
  const passed = results.filter((r) => r.passed).length;
  if (all) {
    const score = results.reduce((s, r) => s + r.score, 0);
    const max = results.reduce((s, r) => s + r.maxScore, 0);
    say(`${passed} of ${results.length} labs passed, ${score}/${max} points`);
  } else {
    const typeError = verdicts[0].types && !verdicts[0].types.ok;
    say(
      `${results[0].id}: ${labTally(results[0])}${
        typeError ? " (held back: your file has a type error)" : ""
      }`,
    );
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
  let count = 0;
  updateState(catalog.root, state, (fresh) => {
    const s = labState(fresh, lab.id);
    count = all ? lab.hints.length : Math.min(s.hintsShown + 1, lab.hints.length);
    s.hintsShown = Math.max(s.hintsShown, count);
  });
  say(paint("bold", `Hints for ${lab.id}: ${lab.title}`));
  lab.hints.slice(0, count).forEach((hint, i) => say(`  ${i + 1}. ${hint}`));
  if (count < lab.hints.length) {
    say(paint("gray", `  (${lab.hints.length - count} more: ${again})`));
  } else {
    say(paint("gray", `  (that is every hint; the lesson is labs/${lab.id}/README.md)`));
  }
  return 0;
}

function cmdReset(catalog: Catalog, lab: LabInfo, yes: boolean): number {
  const stub = pristineStub(catalog.root, lab);
  if (stub === undefined) {
    fail(`cannot find the original stub of ${lab.id} (not a git checkout?)`, 1);
  }
  const path = labFile(catalog.root, lab);
  const exists = missingFile(catalog, lab) === undefined;
  if (!yes && exists) {
    if (!Deno.stdin.isTerminal()) fail("reset needs --yes when not in a terminal");
    const answer = prompt(
      `Restore the stub of ${relative(catalog, path)}? Your file is backed up first. [y/N]`,
    );
    if (!/^y(es)?$/i.test(answer ?? "")) {
      say("nothing changed");
      return 1;
    }
  }
  const backup = exists ? backupStudentFile(catalog.root, lab) : undefined;
  Deno.writeTextFileSync(path, stub);
  say(`restored the stub of ${relative(catalog, path)}`);
  if (backup) say(`your previous file is saved as ${relative(catalog, backup)}`);
  return 0;
}

async function cmdSolution(
  catalog: Catalog,
  state: State,
  lab: LabInfo,
  force: boolean,
): Promise<number> {
  const path = solutionFile(catalog.root, lab);
  let solution: string;
  try {
    solution = Deno.readTextFileSync(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    say(`There is no reference solution of ${lab.id} in this copy of the labs.`);
    say(
      "The solutions come from your instructor (after the deadline, perhaps): once " +
        `${relative(catalog, path)} is here, this command shows it.`,
    );
    return 1;
  }
  if (!force) {
    const { result } = await checkAndRecord(catalog, state, lab);
    if (!result.passed) {
      say(`${lab.id} does not pass yet (${labTally(result)}).`);
      say("Finish it first, or ask for a hint: deno task lab hint " + labNumber(lab));
      say("(--force shows the solution anyway)");
      return 1;
    }
  }
  console.log(paint("gray", `// ${relative(catalog, path)}`));
  console.log(solution);
  return 0;
}

async function cmdTrace(catalog: Catalog, lab: LabInfo): Promise<number> {
  const missing = missingFile(catalog, lab);
  if (missing) {
    say(paint("red", missing));
    return 1;
  }
  const result = await runLab(catalog, lab);
  say(paint("bold", `Calls your code made in ${lab.id}, check by check:`));
  for (const c of result.checks) {
    say(`\n${paint("bold", c.id)}  ${c.title}`);
    if (c.calls.length === 0) {
      const why = c.status === "skipped"
        ? `skipped: ${c.message}`
        : c.sharedWith
        ? `this check looked at the same run as ${c.sharedWith}: its calls are listed there`
        : "no calls recorded in this check";
      say(paint("gray", `  (${why})`));
      continue;
    }
    const shown = c.calls.slice(0, 60);
    for (const call of shown) {
      say(`  ${call.error ? paint("red", formatCall(call)) : formatCall(call)}`);
    }
    if (c.calls.length > shown.length) {
      say(paint("gray", `  … ${c.calls.length - shown.length} more`));
    }
  }
  say(`\n${lab.id}: ${labTally(result)}`);
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
    say(
      `${lab.id} has no picture to show.${withShow.length ? ` Try: ${withShow.join(", ")}` : ""}`,
    );
    return 1;
  }
  const missing = missingFile(catalog, lab);
  if (missing) {
    say(paint("red", missing));
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
    const printed = formatOutput(
      { stdout: result.stdout, stderr: result.stderr, truncated: result.outputTruncated },
      { maxLines: 8 },
    );
    if (result.outcome !== "ok") {
      say(paint("red", `your code ${describeOutcome(result)}`));
      if (result.error?.stack) say(result.error.stack.split("\n").slice(0, 8).join("\n"));
      for (const line of printed) say(paint("gray", line));
      return 1;
    }
    for (const line of printed) say(paint("gray", line));
    const { frames } = result.value as { frames: Frame[] };
    for (const frame of frames) {
      say(paint("bold", frame.title));
      console.log(drawPages(frame.pages.map((state) => ({ state })), { color: useColor }));
      const s = frame.smaps;
      say(
        paint(
          "gray",
          `  smaps: Rss ${kB(s.rss)}, Private_Dirty ${kB(s.privateDirty)}, Private_Clean ${
            kB(s.privateClean)
          }, Shared_Dirty ${kB(s.sharedDirty)}, Anonymous ${kB(s.anonymous)}`,
        ),
      );
      say();
    }
    return 0;
  } finally {
    Deno.removeSync(scratch, { recursive: true });
  }
}

// ---- watch mode ----

async function watch(catalog: Catalog, state: State, chosen?: LabInfo): Promise<number> {
  const interactive = isTerminal && Deno.stdin.isTerminal();
  const taken = interactive ? await takeRunnerLock(catalog.root) : undefined;
  if (taken && "pid" in taken) fail(describeHolder(taken), 1);
  using lock = taken;
  if (chosen && state.current !== chosen.id) {
    updateState(catalog.root, state, (fresh) => fresh.current = chosen.id);
  }
  let lab = chosen ?? currentLab(catalog, state);
  if (!lab) {
    say(paint("green", "Every lab passes. Re-verifying all of them…"));
    return await cmdCheck(catalog, state, undefined, true);
  }
  if (!interactive || !lock) {
    // A pipe: no prompts, no escape codes. Check the current lab once.
    say(progressLine(catalog, state));
    say(`current lab: ${lab.id} (${relative(catalog, labFile(catalog.root, lab))})`);
    say("watch mode needs a terminal; checking once:\n");
    return await cmdCheck(catalog, state, lab.id, false);
  }
  lock.watching(lab.id);

  let running: Promise<void> | undefined;
  let last: Verdict | undefined;
  /** A run is on. */
  let checking = false;
  /**
   * The run under way. The previous verdict stays on screen until the run's
   * first check verdict (or a type error) arrives; then the checks done so
   * far replace it, the rest pending.
   */
  let run: RunUnderWay | undefined;
  const showRun = () =>
    checking && run !== undefined &&
    (run.done.length > 0 || (run.types !== undefined && !run.types.ok) || !last);
  let note: string | undefined;
  const encoder = new TextEncoder();
  const write = (text: string) => {
    const bytes = encoder.encode(text);
    let done = 0;
    while (done < bytes.length) done += Deno.stdout.writeSync(bytes.subarray(done));
  };

  const header = (l: LabInfo) => [
    progressLine(catalog, state),
    "",
    paint("bold", `Lab ${labNumber(l)} · ${l.title}`),
    l.goal,
    `Edit ${paint("cyan", relative(catalog, labFile(catalog.root, l)))}  ·  lesson: ${
      relative(catalog, `${catalog.root}/labs/${l.id}/README.md`)
    }`,
    "",
  ];

  const keys = (passed: boolean, shortened = false) =>
    paint(
      "gray",
      `keys: r re-run · h hint · ${lab?.show ? "s pages · " : ""}${shortened ? "a all · " : ""}${
        passed ? "n next lab · " : ""
      }l list · q quit`,
    );

  const status = (v: Verdict | undefined): string => {
    if (checking && showRun() && run!.done.length) {
      const total = Math.max(run!.checks?.length ?? 0, run!.done.length);
      return paint("gray", `checking… ${run!.done.length} of ${total} checks done`);
    }
    if (checking || !v) return paint("gray", "checking…");
    if (note) return note;
    if (v.result.passed) {
      return paint("green", `${lab!.id} passes! Press n for the next lab when you are ready.`);
    }
    return "Save the file to re-run the checks.";
  };

  /** Draws the whole screen from what is known, fitted to the terminal's size now. */
  let drawnAt = 0;
  let drawLater: ReturnType<typeof setTimeout> | undefined;
  const draw = () => {
    clearTimeout(drawLater);
    drawLater = undefined;
    drawnAt = performance.now();
    const { columns: cols, rows } = Deno.consoleSize();
    const body = showRun()
      ? runBlocks(catalog, run!, cols)
      : last
      ? verdictBlocks(catalog, state, lab!, last, "press h")
      : [];
    const passed = !checking && (last?.result.passed ?? false);
    let screen = fitScreen(
      { header: header(lab!), body, footer: [status(last), keys(passed)] },
      cols,
      rows,
      paint("gray", "  … more: press a (or run `deno task lab check` in another terminal)"),
    );
    if (screen.shortened) {
      screen = fitScreen(
        { header: header(lab!), body, footer: [status(last), keys(passed, true)] },
        cols,
        rows,
        paint("gray", "  … more: press a (or run `deno task lab check` in another terminal)"),
      );
    }
    write("\x1b[2J\x1b[H" + screen.lines.join("\n"));
  };

  /** After a key's output (hint, list, all): the screen scrolled; show what to do next. */
  const footerAgain = () => say(`\n${keys(!checking && (last?.result.passed ?? false))}`);

  const runOnce = async () => {
    const current = lab!;
    checking = true;
    note = undefined;
    const thisRun: RunUnderWay = { lab: current, done: [] };
    run = thisRun;
    // Checks that finish together are drawn together: at most one screen per 50 ms while the
    // run goes on (each draw costs CPU that the checks and the compiler need).
    const redraw = () => {
      if (run !== thisRun || !checking || drawLater !== undefined) return;
      const wait = drawnAt + 50 - performance.now();
      if (wait <= 0) draw();
      else {
        drawLater = setTimeout(() => {
          drawLater = undefined;
          if (run === thisRun && checking) draw();
        }, wait);
      }
    };
    listChecks(catalog, current).then((checks) => {
      thisRun.checks = checks;
      if (showRun()) redraw();
    });
    draw();
    const passedBefore = passedAsIs(catalog.root, state, current);
    const verdict = await check(catalog, state, current, {
      onCheck: (c) => {
        thisRun.done.push(c);
        redraw();
      },
      onTypes: (types) => {
        thisRun.types = types;
        if (showRun()) redraw();
      },
    });
    if (run === thisRun) run = undefined;
    if (current !== lab) { // moved on meanwhile (n)
      await verdict.after;
      return;
    }
    last = verdict;
    checking = false;
    draw(); // the verdict first; the picture for `lab web` is made after it
    await verdict.after;
    if (verdict.result.passed) {
      const isLast = catalog.labs.every((l) => passedAsIs(catalog.root, state, l));
      // Re-verify everything once, when the last lab has just turned green.
      if (isLast && !passedBefore) {
        note = paint("green", "That was the last lab. Re-verifying every lab…");
        draw();
        const all: LabResult[] = [];
        shareTypeCheck(catalog, catalog.labs);
        for (const l of catalog.labs) all.push((await checkAndRecord(catalog, state, l)).result);
        const ok = all.filter((r) => r.passed).length;
        note = `${ok} of ${all.length} labs pass.${ok === all.length ? " Well done!" : ""}`;
        draw();
      }
    }
  };
  const chain = (fn: () => Promise<void> | void) => {
    running = (running ?? Promise.resolve()).then(fn).catch((err) => {
      say(paint("red", `runner error: ${err instanceof Error ? err.message : err}`));
    });
    return running;
  };
  const rerun = () => chain(runOnce);

  let watcher: Deno.FsWatcher | undefined;
  const watchLab = (l: LabInfo) => {
    watcher?.close();
    watcher = undefined;
    try {
      watcher = Deno.watchFs(`${catalog.root}/labs/${l.id}`, { recursive: false });
    } catch (err) {
      note = paint(
        "yellow",
        `cannot watch labs/${l.id}: ${err instanceof Error ? err.message : err}; press r to re-run`,
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

  // A resized terminal gets the screen again, fitted to its new size.
  let resized: ReturnType<typeof setTimeout> | undefined;
  const onResize = () => {
    clearTimeout(resized);
    resized = setTimeout(() => chain(draw), 50);
  };
  try {
    Deno.addSignalListener("SIGWINCH", onResize);
  } catch { /* no SIGWINCH: no redraw on resize */ }

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
        const shown = lab;
        chain(() => {
          say();
          cmdHint(catalog, state, shown, false, "press h again");
          footerAgain();
        });
      }
      if (key === "a") {
        chain(() => {
          if (!last) return;
          say(`\n${renderVerdict(catalog, state, lab!, last, "press h")}`);
          footerAgain();
        });
      }
      if (key === "s" && lab.show) {
        const shown = lab;
        // Chained like a re-run, so a save meanwhile waits for the picture.
        chain(async () => {
          say();
          await cmdShow(catalog, shown);
          footerAgain();
        });
      }
      if (key === "l") {
        chain(async () => {
          say();
          await cmdList(catalog, state, false);
          footerAgain();
        });
      }
      if (key === "n") {
        chain(() => {
          if (checking || !last) {
            say(
              paint(
                "yellow",
                "\nn: the checks are still running; n moves on once this lab passes.",
              ),
            );
            return;
          }
          if (!last.result.passed) {
            const why = last.types && !last.types.ok
              ? "your file has a type error"
              : `${labTally(last.result)}`;
            say(paint("yellow", `\nn moves on once this lab passes: not yet (${why}).`));
            footerAgain();
            return;
          }
          const next = catalog.labs.find((l) => !passedAsIs(catalog.root, state, l));
          if (!next) {
            say(paint("green", "\nEvery lab passes: there is no next lab."));
            return;
          }
          lab = next;
          updateState(catalog.root, state, (fresh) => fresh.current = next.id);
          lock.watching(next.id);
          last = undefined;
          watchLab(next);
          rerun();
        });
      }
    }
  } finally {
    Deno.stdin.setRaw(false);
    watcher?.close();
    try {
      Deno.removeSignalListener("SIGWINCH", onResize);
    } catch { /* never added */ }
    clearTimeout(resized);
  }
  await running;
  clearTimeout(drawLater);
  say(`\n${progressLine(catalog, state)}`);
  return 0;
}

// ---- main ----

/** Our own words for a command line parseArgs refuses. */
function usageError(err: unknown, command: string): never {
  const message = err instanceof Error ? err.message : String(err);
  const option = /'(-[^'\s]*)'/.exec(message)?.[1];
  const what = /does not take an argument/.test(message)
    ? `option ${option} takes no value`
    : option
    ? `unknown option ${option}`
    : message.split(".")[0];
  const name = command === "main" ? "" : ` ${command}`;
  fail(`${what} (deno task lab${name} --help lists the options)\n\n${HELP[command]}`);
}

export async function main(args: string[]): Promise<number> {
  const command = args[0] && !args[0].startsWith("-") ? args[0] : undefined;
  const rest = command === undefined ? args : args.slice(1);
  if (command !== undefined && !(command in HELP && command !== "main")) {
    fail(`unknown command ${JSON.stringify(command)}\n\n${HELP.main}`);
  }
  const name = command ?? "main";
  const options = {
    help: { type: "boolean", short: "h" },
    all: { type: "boolean" },
    verify: { type: "boolean" },
    yes: { type: "boolean", short: "y" },
    force: { type: "boolean" },
    fresh: { type: "boolean" },
    port: { type: "string" },
  } as const;
  let parsed;
  try {
    parsed = parseArgs({ args: rest, allowPositionals: true, options });
  } catch (err) {
    usageError(err, name);
  }
  const { values, positionals } = parsed;
  for (const [key, value] of Object.entries(values)) {
    if (value !== undefined && key !== "help" && !OPTIONS[name].includes(key)) {
      usageError(new Error(`'--${key}'`), name);
    }
  }
  if (values.help) {
    console.log(HELP[name]);
    return 0;
  }
  const misplaced = projectLocationProblem(PROJECT_ROOT);
  if (misplaced) fail(misplaced);
  const catalog = loadCatalog();
  const state = loadState(catalog.root);
  rememberStubs(catalog.root, catalog.labs);
  courseTotal = await coursePoints(catalog);
  const needLab = () => {
    if (!positionals[0]) fail(`which lab?\n\n${HELP[command!]}`);
    return resolveLab(catalog, positionals[0], state);
  };
  const labOrCurrent = () => resolveLab(catalog, positionals[0], state);
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
      return cmdHint(catalog, state, labOrCurrent(), values.all ?? false);
    case "reset":
      return cmdReset(catalog, needLab(), values.yes ?? false);
    case "solution":
      return await cmdSolution(catalog, state, needLab(), values.force ?? false);
    case "trace":
      return await cmdTrace(catalog, labOrCurrent());
    case "show":
      return await cmdShow(catalog, labOrCurrent());
    case "web": {
      const lab = labOrCurrent();
      return await webCommand({
        catalog,
        lab,
        port: values.port,
        run: () => checkAndRecord(catalog, state, lab),
        say,
      });
    }
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
