/**
 * Type-checking the student's file with `deno check`, on every run of the
 * checks: `deno run` (how the checks run it) strips types without checking
 * them, so `bytes.set("text", 0)` would run and get a wrong-place diagnosis.
 * The compiler's message, with line and column, comes first; the runner
 * gives no logic diagnosis while the file has a type error.
 *
 * `deno check` of a lab file costs 1.5–5 s (it checks `lib/` too), so each
 * verdict is kept by the file's digest: re-running an unchanged file costs
 * nothing, and the check runs alongside the lab's checks.
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

/** Runs `deno check` on one file. */
async function runDenoCheck(file: string, cwd: string): Promise<TypeReport> {
  const start = performance.now();
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(Deno.execPath(), {
      // No config: the project's excludes (`.mmap-lab/`) would skip a file there silently.
      args: ["check", "-q", "--no-config", file],
      cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
    }).output();
  } catch (err) {
    return {
      ok: true,
      errors: [],
      unavailable: err instanceof Error ? err.message : String(err),
      durationMs: 0,
    };
  }
  const durationMs = performance.now() - start;
  if (out.success) return { ok: true, errors: [], durationMs };
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
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
 * Type-checks files, keeping each verdict by the file's digest (one runner
 * session checks each version of a file once).
 */
export class TypeChecker {
  readonly #cache = new Map<string, Promise<TypeReport>>();
  /** @param root The project root (the compiler runs there). */
  constructor(readonly root: string) {}

  /**
   * The verdict on `file` as it is now. `digest` names this version of it
   * (e.g. a hash of its bytes); the same digest again is answered from the
   * cache. A missing file is not type-checked (the checks say it is missing).
   *
   * @example
   * ```ts ignore
   * const report = await new TypeChecker(root).check(file, fileDigest(root, lab));
   * if (!report.ok) console.log(report.errors[0].message);
   * ```
   */
  check(file: string, digest: string | undefined): Promise<TypeReport> {
    if (digest === undefined) return Promise.resolve({ ok: true, errors: [], durationMs: 0 });
    const key = `${file}\0${digest}`;
    let report = this.#cache.get(key);
    if (!report) {
      report = runDenoCheck(file, this.root);
      this.#cache.set(key, report);
      if (this.#cache.size > 64) this.#cache.delete(this.#cache.keys().next().value!);
    }
    return report;
  }
}
