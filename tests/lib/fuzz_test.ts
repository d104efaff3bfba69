/**
 * A seeded fuzz of the public API and the raw `sys` layer (tests/helpers/fuzz.ts):
 * 2,500 calls with good and bad arguments (null, undefined, strings, NaN,
 * negative, huge, floats, objects, bigints, NUL paths, FIFOs, sockets, closed
 * descriptors, unmapped mappings). Each call must succeed with good
 * arguments or throw one of the library's own errors: no crash, no hang, no
 * internal error, no bad value accepted.
 *
 * It runs in a child process, so a crash (SIGSEGV, SIGBUS) or a hang fails
 * this test with the call that caused it. `FUZZ_SEED=N` and `FUZZ_CALLS=N`
 * rerun it with another seed or length; a failure names the seed.
 */

import assert from "node:assert/strict";
import type { FuzzSummary } from "../helpers/fuzz.ts";
import { useScratch } from "../helpers/scratch.ts";

const FUZZER = new URL("../helpers/fuzz.ts", import.meta.url).pathname;
const SEED = Number(Deno.env.get("FUZZ_SEED") ?? 14);
const CALLS = Number(Deno.env.get("FUZZ_CALLS") ?? 2500);
const TIMEOUT_MS = 60_000;

/** Whether this Deno takes `--allow-net=unix:PATH` (2.9 and newer). */
function unixSocketsNeedNet(): boolean {
  const [major, minor] = Deno.version.deno.split(".").map(Number);
  return major > 2 || (major === 2 && minor >= 9);
}

Deno.test(`fuzz: ${CALLS} calls of the API with good and bad arguments (seed ${SEED})`, async () => {
  using scratch = useScratch("fuzz");
  const started = performance.now();
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-config",
      "--quiet",
      "--allow-ffi",
      "--allow-read",
      `--allow-write=${scratch.dir}`,
      // The socket it refuses to map: Deno 2.9 asks for net permission on a Unix socket path
      // (`unix:` values); before, read and write permission on the path were the permission.
      ...(unixSocketsNeedNet() ? [`--allow-net=unix:${scratch.dir}/map/sock`] : []),
      FUZZER,
      String(SEED),
      String(CALLS),
      scratch.dir,
    ],
    cwd: scratch.dir, // a bad path that got through would land here, not in the project
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
    signal: AbortSignal.timeout(TIMEOUT_MS),
  }).output();
  const decoder = new TextDecoder();
  const stderr = decoder.decode(output.stderr).trimEnd().split("\n");
  const lastCall = stderr.findLast((line) => line.startsWith("#")) ?? "(before the first call)";
  const rerun = `seed ${SEED}; rerun with FUZZ_SEED=${SEED} FUZZ_CALLS=${CALLS}`;
  if (output.signal === "SIGTERM" && performance.now() - started >= TIMEOUT_MS) {
    assert.fail(`fuzz hung (killed after ${TIMEOUT_MS} ms, ${rerun}) in ${lastCall}`);
  }
  if (output.signal !== null) {
    assert.fail(`fuzz crashed: killed by ${output.signal} (${rerun}) in ${lastCall}`);
  }
  const tail = stderr.filter((line) => !line.startsWith("#")).slice(-20).join("\n");
  assert.equal(output.code, 0, `fuzz child failed (${rerun}) after ${lastCall}:\n${tail}`);
  const summary: FuzzSummary = JSON.parse(decoder.decode(output.stdout).trim().split("\n").at(-1)!);

  const shown = summary.findings
    .map((f) => `  #${f.index} ${f.outcome} (${f.verdict}): ${f.call} -> ${f.detail}`)
    .join("\n");
  assert.equal(summary.seed, SEED);
  assert.equal(summary.calls, CALLS);
  if (!Deno.env.has("FUZZ_CALLS")) assert.ok(summary.calls >= 2000, `${summary.calls} calls`);
  assert.deepEqual(
    { ...summary.outcomes, ok: 0 },
    { ok: 0, accepted: 0, internal: 0, refused: 0, wrong: 0 },
    `fuzz findings (${rerun}):\n${shown}\nby kind: ${JSON.stringify(summary.kinds, null, 1)}`,
  );
  // It did exercise both sides and every part of the API (with any seed, at this length).
  if (CALLS < 2000) return;
  assert.ok(summary.verdicts.good > CALLS / 5, JSON.stringify(summary.verdicts));
  assert.ok(summary.verdicts.bad > CALLS / 5, JSON.stringify(summary.verdicts));
  for (
    const fn of [
      "mapFile",
      "mapAnonymous",
      "mapDescriptor",
      "mapSharedMemory",
      "resizeFile",
      "Mapping.bytes",
      "Mapping.sync",
      "Mapping.protect",
      "Mapping.advise",
      "Mapping.discard",
      "Mapping.residency",
      "Mapping.smaps",
      "Mapping.pages",
      "Mapping.unmap",
      "sys.mmap",
      "sys.munmap",
      "sys.open",
      "sys.mincore",
    ]
  ) {
    assert.ok((summary.functions[fn] ?? 0) >= 3, `${fn}: ${summary.functions[fn] ?? 0} calls`);
  }
});
