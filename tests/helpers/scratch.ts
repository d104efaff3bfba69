/**
 * Scratch space and child processes for the lib/ tests.
 *
 * Scratch files live under `<project>/.mmap-lab/test-scratch/`: the only place
 * `deno test -P` may write, and a disk-backed directory (a tmpfs `/tmp` has no
 * writeback, so `msync` would never clean a page there).
 *
 * @module
 */

/** The project root, resolved from this file's location (`tests/helpers/`). */
export const PROJECT_ROOT: string = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/** Where every test's scratch directory is made. */
export const SCRATCH_ROOT = `${PROJECT_ROOT}/.mmap-lab/test-scratch`;

/** `lib/mod.ts` as an absolute `file:` URL, for child scripts to import. */
export const LIB_URL: string = new URL("../../lib/mod.ts", import.meta.url).href;

/** Creates (if needed) and returns the scratch root. */
export function scratchRoot(): string {
  Deno.mkdirSync(SCRATCH_ROOT, { recursive: true });
  return SCRATCH_ROOT;
}

/**
 * Creates a fresh, uniquely named directory under the scratch root and
 * returns its real path (symlinks resolved, as `/proc/self/maps` shows it).
 */
export function scratchDir(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9_.-]+/g, "-").slice(0, 40);
  const dir = Deno.makeTempDirSync({ dir: scratchRoot(), prefix: `${safe}-` });
  return Deno.realPathSync(dir);
}

/** Removes a scratch directory and everything in it (missing is fine). */
export function removeScratch(dir: string): void {
  if (!dir.startsWith(SCRATCH_ROOT + "/")) {
    throw new Error(`refusing to remove ${dir}: not under ${SCRATCH_ROOT}`);
  }
  try {
    Deno.removeSync(dir, { recursive: true });
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}

/** A scratch directory that removes itself at the end of a `using` scope. */
export interface Scratch extends Disposable {
  /** The directory's real path. */
  readonly dir: string;
  /** A path inside the directory. */
  file(name: string): string;
}

/**
 * A scratch directory for one test, removed when the `using` scope ends.
 * Declare it before any mapping so mappings are disposed of first.
 *
 * @example
 * ```ts
 * using scratch = useScratch("shared-writes");
 * Deno.writeFileSync(scratch.file("a.bin"), new Uint8Array(4096));
 * ```
 */
export function useScratch(name: string): Scratch {
  const dir = scratchDir(name);
  return {
    dir,
    file: (file: string) => `${dir}/${file}`,
    [Symbol.dispose]: () => removeScratch(dir),
  };
}

/**
 * Writes `bytes` to a new file one 4 KiB block per write() and flushes it to
 * storage, so no page starts out dirty and the page cache holds the file in
 * single pages.
 *
 * Measured on Linux 6.18 ext4: a file written with one large write() sits in
 * the page cache as large folios (a 256 KiB write made one 64-page folio);
 * one write fault then maps and dirties the whole folio, and msync of one
 * page cleans all of it, so per-page dirty/clean and fault counts are lost.
 */
export function writeSynced(path: string, bytes: Uint8Array): void {
  using file = Deno.openSync(path, { write: true, create: true, truncate: true });
  const block = 4096;
  for (let at = 0; at < bytes.length; at += block) {
    const chunk = bytes.subarray(at, Math.min(at + block, bytes.length));
    let done = 0;
    while (done < chunk.length) done += file.writeSync(chunk.subarray(done));
  }
  file.syncSync();
}

/** `count` distinct random bytes-worth of nonce. */
export function nonce(count = 16): Uint8Array<ArrayBuffer> {
  return crypto.getRandomValues(new Uint8Array(count));
}

/** Hex text of some bytes. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** What a child Deno process did. */
export interface ChildResult {
  /** Exit code (128 + signal number when killed by a signal). */
  code: number;
  /** The signal that killed it, e.g. `"SIGBUS"`, or `null`. */
  signal: Deno.Signal | null;
  /** Its standard output, as text. */
  stdout: string;
  /** Its standard error, as text. */
  stderr: string;
}

/** Options for {@link runChild}. */
export interface ChildOptions {
  /** The scratch directory: the script is written there, and it is the child's only writable path. */
  dir: string;
  /** TypeScript source; `__LIB__` in it is replaced by `lib/mod.ts`'s absolute file URL. */
  script: string;
  /** Arguments for the script (`Deno.args`). */
  args?: string[];
  /** Extra permission flags, e.g. `["--allow-run"]`. */
  flags?: string[];
  /** Kill the child and fail after this many milliseconds; default 60 000. */
  timeoutMs?: number;
}

let childCount = 0;

/**
 * Runs a TypeScript script in a child Deno process with `--allow-ffi`,
 * `--allow-read` and write access to `dir` only; faults (SIGSEGV, SIGBUS)
 * show up as `signal` instead of killing the test runner.
 */
export async function runChild(options: ChildOptions): Promise<ChildResult> {
  const path = `${options.dir}/child-${++childCount}.ts`;
  Deno.writeTextFileSync(path, options.script.replaceAll("__LIB__", LIB_URL));
  const timeoutMs = options.timeoutMs ?? 60_000;
  const started = performance.now();
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-config",
      "--quiet",
      "--allow-ffi",
      "--allow-read",
      `--allow-write=${options.dir}`,
      ...(options.flags ?? []),
      path,
      ...(options.args ?? []),
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  const decoder = new TextDecoder();
  if (output.signal === "SIGTERM" && performance.now() - started >= timeoutMs) {
    throw new Error(
      `child ${path} did not finish in ${timeoutMs} ms: ${decoder.decode(output.stderr)}`,
    );
  }
  return {
    code: output.code,
    signal: output.signal,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}
