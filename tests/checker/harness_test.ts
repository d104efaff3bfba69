/** The child side of a check (lib/checker/harness.ts), on what it sets up before student code runs. */

import assert from "node:assert/strict";
import { spawnChild } from "../../lib/checker/spawn.ts";
import { LIB_URL, PROJECT_ROOT, useScratch } from "../helpers/scratch.ts";

Deno.test("harness: past the file-size limit the student's code gets EFBIG, not a SIGXFSZ death", async () => {
  using scratch = useScratch("harness-fsize");
  const drive = scratch.file("drive.ts");
  // Grows a file past the 64 MiB limit twice, without writing 64 MiB: with ftruncate
  // (resizeFile), and with a one-byte write() at the limit. (Not a smaller limit: Deno itself
  // writes caches of a few MiB as it starts.)
  Deno.writeTextFileSync(
    drive,
    `import { MmapError, resizeFile } from "${LIB_URL}";
    export default (ctx: { scratch: string }) => {
      const out: string[] = [];
      try {
        resizeFile(ctx.scratch + "/big.bin", 65 * 1024 * 1024);
        out.push("resized");
      } catch (err) {
        out.push(err instanceof MmapError ? err.syscall + " " + err.code + ": " + err.hint : String(err));
      }
      try {
        using file = Deno.openSync(ctx.scratch + "/big2.bin", { write: true, create: true });
        file.seekSync(64 * 1024 * 1024, Deno.SeekMode.Start);
        file.writeSync(new Uint8Array(1));
        out.push("written");
      } catch (err) {
        out.push(String((err as Error).message));
      }
      return out;
    };
    `,
  );
  const student = scratch.file("student.ts");
  Deno.writeTextFileSync(student, "export {};\n");
  const result = await spawnChild({
    drive,
    student,
    scratch: scratch.dir,
    readable: [PROJECT_ROOT],
    limits: { fileSizeMiB: 64 },
    timeoutMs: 20_000,
  }).result();
  assert.equal(result.outcome, "ok", `${result.outcome} ${result.signal ?? ""} ${result.stderr}`);
  const [resized, written] = result.value as string[];
  assert.equal(resized, "ftruncate EFBIG: the length is past the file size limit (RLIMIT_FSIZE)");
  assert.match(written, /File too large|os error 27/);
});

Deno.test("harness: the call record is sealed before the student's module loads", async () => {
  using scratch = useScratch("harness-sealed");
  const trace = new URL("../../lib/trace.ts", import.meta.url).href;
  const libcUrl = new URL("../../lib/ffi/libc.ts", import.meta.url).href;
  const drive = scratch.file("drive.ts");
  Deno.writeTextFileSync(
    drive,
    `import { mapAnonymous, recordCalls, startRecording, stopRecording } from "${LIB_URL}";
    import { claimRecorder, recordedCalls, sealRecorder } from "${trace}";
    import { libc } from "${libcUrl}";
    export default (ctx: { calls(): { call: string }[] }) => {
      const out: Record<string, unknown> = {};
      const attempt = (name: string, fn: () => unknown) => {
        try { fn(); out[name] = "allowed"; } catch (err) { out[name] = (err as Error).name; }
      };
      const forged = { call: "mmap", args: {}, result: "0x1" };
      attempt("claimRecorder", () => claimRecorder()(forged));
      attempt("sealRecorder", () => sealRecorder({ log: false }));
      startRecording();
      mapAnonymous(4096).unmap();
      (recordedCalls() as unknown[]).push(forged);
      out.user = stopRecording().map((c) => c.call);
      recordCalls(() => {}); // clears and stops the user's record, not the sealed one
      out.sealed = ctx.calls().map((c) => c.call);
      out.frozenEntry = Object.isFrozen(ctx.calls()[0]);
      out.frozenLibc = Object.isFrozen(libc());
      attempt("patchLibc", () => { (libc() as unknown as Record<string, unknown>).getrusage = () => 0; });
      attempt("thenOnObjects", () => { (Object.prototype as Record<string, unknown>).then = () => 0; });
      return out;
    };
    `,
  );
  const student = scratch.file("student.ts");
  Deno.writeTextFileSync(student, "export {};\n");
  const result = await spawnChild({
    drive,
    student,
    scratch: scratch.dir,
    readable: [PROJECT_ROOT],
  }).result();
  assert.equal(result.outcome, "ok", `${result.outcome} ${result.error?.message} ${result.stderr}`);
  assert.deepEqual(result.value, {
    claimRecorder: "SealedRecordError",
    sealRecorder: "SealedRecordError",
    user: ["mmap", "munmap", "mmap"], // the user's own record: theirs to fill
    sealed: ["mmap", "munmap"],
    frozenEntry: true,
    frozenLibc: true,
    patchLibc: "TypeError",
    thenOnObjects: "TypeError",
  });
  // What the checker received is the sealed record: the two real calls, nothing forged.
  assert.deepEqual(result.calls.map((c) => c.call), ["mmap", "munmap"]);
});
