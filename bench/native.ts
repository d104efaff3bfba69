/**
 * The C side of the benchmarks: builds `bench/c/*.c` with `cc -O2` into
 * `.mmap-lab/bench/` (once per source version: the output name carries a hash
 * of the source and flags) and runs the baseline program.
 *
 * When there is no `cc`, {@link buildNative} says why and the C variants are
 * left out (ratios against C then read "n/a").
 *
 * @module
 */

/** The project's root directory (the parent of `bench/`). */
export const ROOT: string = new URL("../", import.meta.url).pathname;
/** Where benchmark files and binaries go: `.mmap-lab/bench/`. */
export const WORK_DIR: string = `${ROOT}.mmap-lab/bench`;

/** The built helpers, or why there are none. */
export interface Native {
  /** Path of the `mmapbench` baseline program. */
  program?: string;
  /** Path of the helper library loaded into the process (`c/inprocess.c`). */
  library?: string;
  /** `cc --version`, first line. */
  compiler?: string;
  /** Why the C side is missing, when it is. */
  missing?: string;
}

async function hashOf(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest).slice(0, 6), (b) => b.toString(16).padStart(2, "0"))
    .join("");
}

async function compile(source: string, output: string, flags: string[]): Promise<void> {
  const { code, stderr } = await new Deno.Command("cc", {
    args: [...flags, "-o", output, source],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    throw new Error(`cc ${flags.join(" ")} ${source} failed:\n${new TextDecoder().decode(stderr)}`);
  }
}

async function fileExists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/** Builds `c/NAME.c` into `WORK_DIR/PREFIX-HASH[SUFFIX]` unless built already; drops older builds. */
async function build(name: string, flags: string[], prefix: string, suffix = "") {
  const source = new URL(`./c/${name}.c`, import.meta.url).pathname;
  const text = await Deno.readTextFile(source);
  const file = `${prefix}-${await hashOf(flags.join(" ") + "\n" + text)}${suffix}`;
  const path = `${WORK_DIR}/${file}`;
  if (!(await fileExists(path))) {
    const tmp = `${path}.tmp${Deno.pid}`;
    await compile(source, tmp, flags);
    await Deno.rename(tmp, path);
    for await (const entry of Deno.readDir(WORK_DIR)) {
      const stale = entry.name.startsWith(`${prefix}-`) && entry.name.endsWith(suffix) &&
        entry.name !== file && !entry.name.includes(".tmp");
      if (stale) await Deno.remove(`${WORK_DIR}/${entry.name}`).catch(() => {});
    }
  }
  return path;
}

/** Builds the C helpers with `cc -O2` (cached by source hash), or reports that `cc` is missing. */
export async function buildNative(): Promise<Native> {
  await Deno.mkdir(WORK_DIR, { recursive: true });
  let compiler: string;
  try {
    const { code, stdout } = await new Deno.Command("cc", { args: ["--version"] }).output();
    if (code !== 0) return { missing: "`cc --version` failed" };
    compiler = new TextDecoder().decode(stdout).split("\n")[0].trim();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      return { missing: "no C compiler `cc` on PATH: C baselines skipped" };
    }
    throw err;
  }
  const program = await build("mmapbench", ["-O2", "-Wall"], "mmapbench");
  const library = await build(
    "inprocess",
    ["-O2", "-Wall", "-shared", "-fPIC"],
    "libinprocess",
    ".so",
  );
  return { program, library, compiler };
}

/** What one run of the C program reports. */
export interface NativeRun {
  /** Nanoseconds of the timed part. */
  ns: number;
  /** Operations (cycles, bytes or reads) timed. */
  ops: number;
  /** Checksum of what was read (mod 2^32). */
  sum: number;
}

/** Runs `mmapbench MODE ARGS…` and parses its JSON line. */
export async function runNative(program: string, args: (string | number)[]): Promise<NativeRun> {
  const { code, stdout, stderr } = await new Deno.Command(program, {
    args: args.map(String),
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(stdout).trim();
  if (code !== 0) {
    throw new Error(
      `${program} ${args.join(" ")} exited ${code}: ${new TextDecoder().decode(stderr)}`,
    );
  }
  return JSON.parse(text) as NativeRun;
}
