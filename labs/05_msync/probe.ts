/**
 * A drive that inspects *another* process for the checker. The student's
 * runner (`deno task lab`) runs the checker without FFI, and without FFI a
 * Deno process cannot read `/proc/PID/smaps` or `/proc/PID/maps`; children
 * have FFI, so the checker asks one of them (with the call record off) while
 * the process under test waits at a checkpoint. Under `deno test` the
 * checker has FFI and reads `/proc` itself.
 *
 * @module
 */
import { defineDrive } from "../../lib/checker/drive.ts";
import { fileSystemOf, procMaps, smaps, sys } from "../../lib/mod.ts";

/** What to read. Addresses travel as decimal strings (JSON has no bigint). */
export type ProbeParams =
  | { what: "pageSize" }
  | { what: "fileSystem"; path: string }
  | { what: "smaps"; pid: number; address: string; length: number }
  | { what: "maps"; pid: number };

export default defineDrive<ProbeParams>((ctx) => {
  const p = ctx.params;
  switch (p.what) {
    case "pageSize":
      return sys.pageSize();
    case "fileSystem":
      return fileSystemOf(p.path);
    case "smaps":
      return smaps(p.pid, { address: BigInt(p.address), length: p.length }).map((e) => ({
        privateDirty: e.privateDirty,
        sharedDirty: e.sharedDirty,
        privateClean: e.privateClean,
        sharedClean: e.sharedClean,
      }));
    case "maps":
      return procMaps(p.pid).map((e) => ({
        ...e,
        start: e.start.toString(),
        end: e.end.toString(),
      }));
  }
});
