/**
 * Stops with one plain sentence when this Deno is outside the range mmap-lab
 * supports, before any flag a version might not know (`-P` permission sets
 * arrived in Deno 2.5) is parsed. Every task runs it first, with
 * `--no-config`: it must run on any Deno 1.x or 2.x and use nothing newer.
 *
 *     deno run -q --no-config cli/require_deno.ts [--tests]
 *
 * @module
 */

/**
 * The oldest Deno that runs every lab and the grader (measured: every reference solution passes
 * `lab check --all` on it; CI checks it). Permission sets (`-P`) arrived in 2.5.
 */
export const OLDEST = "2.5.0";
/**
 * The oldest Deno that passes the contributors' whole test suite (`deno task test`): before 2.8
 * its resource sanitizer counts the libc library that the library opens once, on first use, as
 * a leak of whichever test opened it.
 */
export const OLDEST_FOR_TESTS = "2.8.0";
/** The version CI and grading pin, and the one to install. */
export const PINNED = "2.9.6";
/** The newest major version known to work: a new major may change FFI or permissions. */
export const NEWEST_MAJOR = 2;

function parts(version: string): number[] {
  return version.split(/[.+-]/).slice(0, 3).map((n) => Number(n) || 0);
}

function older(a: string, b: string): boolean {
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] < y[i];
  return false;
}

/**
 * The sentence to print for Deno `version`, or `undefined` when it is
 * supported.
 *
 * @example
 * ```ts
 * console.log(versionProblem("2.3.7") !== undefined); // true
 * console.log(versionProblem("2.9.6")); // undefined
 * ```
 */
export function versionProblem(version: string, oldest: string = OLDEST): string | undefined {
  const install = `Install Deno ${PINNED}: \`deno upgrade ${PINNED}\` (or \`npm install -g ` +
    `deno@${PINNED}\`, or run without installing: \`npx -y deno@${PINNED} task lab\`).`;
  if (older(version, oldest)) {
    const what = oldest === OLDEST ? "mmap-lab needs" : "the test suite needs";
    return `${what} Deno ${oldest} or newer, and this is Deno ${version}. ${install}`;
  }
  if (parts(version)[0] > NEWEST_MAJOR) {
    return `mmap-lab is tested with Deno ${OLDEST} to ${NEWEST_MAJOR}.x, and this is Deno ` +
      `${version}: a new major version may change FFI or permissions, which the labs rely on. ` +
      install;
  }
  return undefined;
}

if (import.meta.main) {
  const problem = versionProblem(
    Deno.version.deno,
    Deno.args[0] === "--tests" ? OLDEST_FOR_TESTS : OLDEST,
  );
  if (problem) {
    console.error(problem);
    Deno.exit(1);
  }
}
