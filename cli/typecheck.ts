/**
 * Type-checking the student's file with `deno check`, on every run of the
 * checks: `deno run` (how the checks run it) strips types without checking
 * them, so `bytes.set("text", 0)` would run and get a wrong-place diagnosis.
 * The compiler's message, with line and column, comes first; the runner
 * gives no logic diagnosis while the file has a type error.
 *
 * `deno check` of a lab file costs 1.5–5 s (it checks `lib/` too), so each
 * verdict is kept by the file's digest: re-running an unchanged file costs
 * nothing, and the check runs alongside the lab's checks. Where the runner
 * checks several labs (`check --all`, `list --verify`, re-verifying every
 * lab), {@link TypeChecker.prefetch} type-checks all their files in one
 * `deno check` (lib/ once: ~2 s for twelve files against ~2.4 s for one), and
 * each diagnostic is attributed to the file it names; whatever cannot be
 * attributed with certainty falls back to one run per file.
 *
 * @module
 */

/** One error the compiler reported. */
export interface TypeDiagnostic {
  /** `TS2345`, or `error` for one that is not a type error (a syntax error, a missing file). */
  code: string;
  /** The message's first line. */
  message: string;
  /** The file, as the compiler named it (a path), when it said. */
  file?: string;
  /** 1-based line, when known. */
  line?: number;
  /** 1-based column, when known. */
  column?: number;
  /** The source line and the compiler's marker under it. */
  context: string[];
}

/** The verdict on one version of a file. */
export interface TypeReport {
  /** No error. */
  ok: boolean;
  /** The errors, in the compiler's order. */
  errors: TypeDiagnostic[];
  /** The compiler could not be run at all (then `ok` is true: the checks decide alone). */
  unavailable?: string;
  /** How long it took, ms (0 when cached). */
  durationMs: number;
}

const AT = /^\s*at (file:\/\/\S+?):(\d+):(\d+)\s*$/;

function pathOf(url: string): string {
  try {
    return decodeURIComponent(new URL(url).pathname);
  } catch {
    return url;
  }
}

/**
 * Parses `deno check` output (without colour) into diagnostics.
 *
 * @example
 * ```ts
 * const [e] = parseDiagnostics(
 *   "TS2322 [ERROR]: Type 'string' is not assignable to type 'number'.\n" +
 *     "  const z: number = \"s\";\n        ^\n    at file:///p/a.ts:5:9\n\nerror: Type checking failed.",
 * );
 * console.log(`${e.file}:${e.line}:${e.column} ${e.code}`); // /p/a.ts:5:9 TS2322
 * ```
 */
export function parseDiagnostics(output: string): TypeDiagnostic[] {
  const errors: TypeDiagnostic[] = [];
  const lines = output.replace(/\r/g, "").split("\n");
  for (let i = 0; i < lines.length; i++) {
    const head = /^(TS\d+) \[ERROR\]: (.*)$/.exec(lines[i]);
    if (!head) continue;
    const error: TypeDiagnostic = { code: head[1], message: head[2], context: [] };
    for (i++; i < lines.length && lines[i].trim() !== ""; i++) {
      const at = AT.exec(lines[i]);
      if (at) {
        error.file = pathOf(at[1]);
        error.line = Number(at[2]);
        error.column = Number(at[3]);
      } else if (error.file === undefined) error.context.push(lines[i]);
    }
    errors.push(error);
  }
  if (errors.length) return errors;
  // Not a type error: a parse error or a module that cannot be found ("error: …").
  const failure = lines.findIndex((l) =>
    l.startsWith("error: ") && !/Type checking failed/.test(l)
  );
  if (failure < 0) return [];
  const text = lines.slice(failure).join("\n").replace(/^error: /, "").trim();
  const at = /at (file:\/\/\S+?):(\d+):(\d+)/.exec(text);
  return [{
    code: "error",
    message: text.split("\n")[0].replace(/ at file:\/\/\S+$/, ""),
    ...(at ? { file: pathOf(at[1]), line: Number(at[2]), column: Number(at[3]) } : {}),
    context: [],
  }];
}

/** A failure of `deno check` that is about fetching its own types (npm, network), not the file. */
const INFRASTRUCTURE =
  /Failed caching npm package|error sending request|invalid peer certificate|dns error|Connection refused|registry\.npmjs\.org/i;

/** What one `deno check` run said. */
interface CompilerRun {
  /** It exited 0. */
  success: boolean;
  /** stdout and stderr, without colour. */
  text: string;
  /** It could not be started at all (why). */
  unavailable?: string;
  /** Wall time, ms. */
  durationMs: number;
}

/** Runs `deno check` on some files (absolute paths). */
async function runCompiler(files: string[], cwd: string): Promise<CompilerRun> {
  const start = performance.now();
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(Deno.execPath(), {
      // No config: the project's excludes (`.mmap-lab/`) would skip a file there silently.
      args: ["check", "-q", "--no-config", ...files],
      cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
    }).output();
  } catch (err) {
    return {
      success: false,
      text: "",
      unavailable: err instanceof Error ? err.message : String(err),
      durationMs: 0,
    };
  }
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { success: out.success, text, durationMs: performance.now() - start };
}

/** The verdict on one file from a run of `deno check` on that file alone. */
function reportOf(run: CompilerRun): TypeReport {
  const { durationMs, text } = run;
  if (run.unavailable !== undefined) {
    return { ok: true, errors: [], unavailable: run.unavailable, durationMs: 0 };
  }
  if (run.success) return { ok: true, errors: [], durationMs };
  const errors = parseDiagnostics(text);
  if (!errors.some((e) => e.code !== "error") && INFRASTRUCTURE.test(text)) {
    // Not the student's file: the compiler could not fetch what it type-checks with (offline,
    // a proxy, certificates). The checks decide alone; nothing is blamed on the student.
    return { ok: true, errors: [], unavailable: text.trim().split("\n")[0], durationMs };
  }
  if (!errors.length) {
    errors.push({
      code: "error",
      message: text.trim().split("\n")[0] || "deno check failed",
      context: [],
    });
  }
  return { ok: false, errors, durationMs };
}

/**
 * What a run of `deno check` on several files says of each, where that is
 * certain: the verdicts it can attribute, and the files it cannot vouch for.
 *
 * Certain: a clean run (every file is clean); type errors that each name one
 * of the files (each file gets those naming it; a file named by none is
 * clean, since type errors do not stop the compiler). A stopping error (a
 * syntax error, or a module not found on older Deno) is reported alone: the
 * file it names is certainly broken, the others are unknown. Anything else
 * (a diagnostic without a file or naming a file that is not one of `files`,
 * output not understood, the compiler unavailable or unable to fetch its
 * types) vouches for no file.
 *
 * @example
 * ```ts
 * const { verdicts, unknown } = attributeDiagnostics(
 *   "TS2322 [ERROR]: Type 'string' is not assignable to type 'number'.\n" +
 *     "    at file:///p/a.ts:5:9\n\nerror: Type checking failed.",
 *   false,
 *   ["/p/a.ts", "/p/b.ts"],
 * );
 * console.log(verdicts.get("/p/a.ts")?.ok, verdicts.get("/p/b.ts")?.ok, unknown); // false true []
 * ```
 */
export function attributeDiagnostics(
  output: string,
  success: boolean,
  files: string[],
  durationMs = 0,
): { verdicts: Map<string, TypeReport>; unknown: string[] } {
  const verdicts = new Map<string, TypeReport>();
  const none = { verdicts, unknown: [...files] };
  if (success) {
    for (const file of files) verdicts.set(file, { ok: true, errors: [], durationMs });
    return { verdicts, unknown: [] };
  }
  const errors = parseDiagnostics(output);
  const inputs = new Set(files);
  if (!errors.length || errors.some((e) => e.file === undefined || !inputs.has(e.file))) {
    return none;
  }
  const stopping = errors.filter((e) => e.code === "error");
  if (stopping.length) {
    // parseDiagnostics reports a stopping error only when there is no type error: it is alone.
    const [error] = stopping;
    verdicts.set(error.file!, { ok: false, errors: [error], durationMs });
    return { verdicts, unknown: files.filter((f) => f !== error.file) };
  }
  // Type errors only: every other "error: …" line must be the closing one, or it is not understood.
  const others = output.replace(/\r/g, "").split("\n").filter((l) =>
    l.startsWith("error: ") && !/^error: Type checking failed/.test(l)
  );
  if (others.length) return none;
  for (const file of files) {
    const own = errors.filter((e) => e.file === file);
    verdicts.set(file, { ok: own.length === 0, errors: own, durationMs });
  }
  return { verdicts, unknown: [] };
}

/**
 * Whether a file can change other files' verdicts when they are checked
 * together (so it is checked alone): a global augmentation, an ambient
 * module, a triple-slash reference, or an import of another of `inputs` (its
 * own verdict would then include that file's errors).
 */
function entangled(file: string, text: string, inputs: Set<string>): boolean {
  if (/\bdeclare\s+(global|module)\b|\/\/\/\s*<reference\b/.test(text)) return true;
  const base = new URL(`file://${file.split("/").map(encodeURIComponent).join("/")}`);
  for (const m of text.matchAll(/\b(?:from|import|export)\s*\(?\s*["'`]([^"'`]+)["'`]/g)) {
    const spec = m[1];
    if (!/^(\.{1,2}\/|\/|file:)/.test(spec)) continue;
    try {
      const target = decodeURIComponent(new URL(spec, base).pathname);
      if (target !== file && inputs.has(target)) return true;
    } catch { /* not a URL: the compiler will say */ }
  }
  return false;
}

/** One version of a file to type-check. */
export interface TypeCheckInput {
  /** Its path (absolute, or relative to the root). */
  file: string;
  /** Names this version (as {@link TypeChecker.check} takes it); undefined: missing, skipped. */
  digest: string | undefined;
}

/**
 * Type-checks files, keeping each verdict by the file's digest (one runner
 * session checks each version of a file once).
 */
export class TypeChecker {
  readonly #cache = new Map<string, Promise<TypeReport>>();
  /** Verdicts promised by a shared run: a report, or undefined where it was not certain. */
  readonly #shared = new Map<string, Promise<TypeReport | undefined>>();
  #runs = 0;
  /** @param root The project root (the compiler runs there). */
  constructor(readonly root: string) {}

  /** How many `deno check` processes this checker has started (shared runs included). */
  get compilerRuns(): number {
    return this.#runs;
  }

  #path(file: string): string {
    return file.startsWith("/") ? file : `${this.root}/${file}`;
  }

  #run(files: string[]): Promise<CompilerRun> {
    this.#runs++;
    return runCompiler(files, this.root);
  }

  /**
   * The verdict on `file` as it is now. `digest` names this version of it
   * (e.g. a hash of its bytes); the same digest again is answered from the
   * cache, or from a shared run ({@link prefetch}) that covers it. A missing
   * file is not type-checked (the checks say it is missing).
   *
   * @example
   * ```ts ignore
   * const report = await new TypeChecker(root).check(file, fileDigest(root, lab));
   * if (!report.ok) console.log(report.errors[0].message);
   * ```
   */
  check(file: string, digest: string | undefined): Promise<TypeReport> {
    if (digest === undefined) return Promise.resolve({ ok: true, errors: [], durationMs: 0 });
    const path = this.#path(file);
    const key = `${path}\0${digest}`;
    let report = this.#cache.get(key);
    if (!report) {
      const shared = this.#shared.get(key);
      // A file the shared run could not vouch for gets a run of its own, started only now (the
      // lab's turn), so that fallbacks never pile up side by side.
      report = shared
        ? shared.then((r) => r ?? reportLater(this.#run([path])))
        : reportLater(this.#run([path]));
      this.#cache.set(key, report);
      if (this.#cache.size > 64) this.#cache.delete(this.#cache.keys().next().value!);
    }
    return report;
  }

  /**
   * Type-checks several files in one `deno check` (lib/ is checked once, not
   * once per file), keeping each file's verdict for {@link check}. Call it
   * before checking several labs; each lab's `check` then waits for the shared
   * run (the first one, alongside its checks) instead of starting its own.
   * Sound: a file the shared run cannot vouch for (see
   * {@link attributeDiagnostics}), a file that could sway the others (a
   * global augmentation, an import of another input) and a file that changed
   * during the run get a run of their own when their `check` comes. After a
   * syntax error, the shared run is repeated without the file it blames.
   * Resolves once every shared verdict is known.
   *
   * @example
   * ```ts ignore
   * const types = new TypeChecker(root);
   * await types.prefetch(labs.map((l) => ({ file: labFile(root, l), digest: fileDigest(root, l) })));
   * ```
   */
  prefetch(inputs: TypeCheckInput[]): Promise<void> {
    const wanted = new Map<string, { path: string; key: string }>();
    for (const { file, digest } of inputs) {
      if (digest === undefined) continue;
      const path = this.#path(file);
      const key = `${path}\0${digest}`;
      if (this.#cache.has(key) || this.#shared.has(key)) continue;
      wanted.set(path, { path, key });
    }
    const paths = new Set(wanted.keys());
    const texts = new Map<string, string>();
    for (const path of paths) {
      try {
        texts.set(path, Deno.readTextFileSync(path));
      } catch { /* gone: its own check says so */ }
    }
    const together = [...texts.keys()].filter((p) => !entangled(p, texts.get(p)!, paths));
    // One file gains nothing from sharing: its own check runs it alongside its lab's checks.
    if (together.length < 2) return Promise.resolve();
    const settle = new Map<string, (report: TypeReport | undefined) => void>();
    for (const path of together) {
      const { key } = wanted.get(path)!;
      this.#shared.set(key, new Promise((resolve) => settle.set(path, resolve)));
      if (this.#shared.size > 64) this.#shared.delete(this.#shared.keys().next().value!);
    }
    const work = async () => {
      let left = together;
      while (left.length) {
        const run = await this.#run(left);
        if (run.unavailable !== undefined) break;
        // One file left: its run is the one its own check would make.
        const { verdicts, unknown } = left.length === 1
          ? { verdicts: new Map([[left[0], reportOf(run)]]), unknown: [] }
          : attributeDiagnostics(run.text, run.success, left, run.durationMs);
        for (const [path, report] of verdicts) {
          // The bytes the compiler read must be those the digest named (a save meanwhile).
          let same = false;
          try {
            same = Deno.readTextFileSync(path) === texts.get(path);
          } catch { /* gone */ }
          settle.get(path)!(same ? report : undefined);
        }
        // Progress (a syntax error blamed on one file): the rest again, together.
        if (!verdicts.size || unknown.length === left.length) break;
        left = unknown;
      }
      for (const resolve of settle.values()) resolve(undefined);
    };
    return work().catch(() => {
      for (const resolve of settle.values()) resolve(undefined);
    });
  }
}

/** {@link reportOf} of a run to come. */
async function reportLater(run: Promise<CompilerRun>): Promise<TypeReport> {
  return reportOf(await run);
}
