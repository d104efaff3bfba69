/**
 * Child side of lab 04's shared-memory checks, the other process: maps the
 * creator's shared memory with the student's attachShared(), reads and
 * writes it, then calls the student's release() on it.
 */
import { defineDrive, type Mapping, studentExport } from "../../../lib/checker/mod.ts";
import { type AttachParams, isMapping } from "./shared.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export default defineDrive<AttachParams>(async (ctx) => {
  const attachShared = studentExport<(path: string) => Mapping>(ctx, "attachShared");
  const release = studentExport<(memory: Mapping, first: number, count: number) => void>(
    ctx,
    "release",
  );
  const { path, hello, reply } = ctx.params;
  const text = (m: Mapping, at: number, length: number) =>
    decoder.decode(m.bytes.subarray(at, at + length));

  const memory = attachShared(path);
  if (!isMapping(memory)) throw new TypeError("attachShared must return the Mapping mapFile gives");
  const sawHello = text(memory, hello.offset, hello.length);
  memory.bytes.set(encoder.encode(reply.text), reply.offset);
  await ctx.checkpoint("attached", {
    address: "0x" + memory.address.toString(16),
    pages: memory.pageCount,
  });

  // The creator has read the reply and let go of the memory by now: this process alone holds it.
  const afterClose = text(memory, hello.offset, hello.length);
  // What does release() do to shared memory?
  // A broken release() is release-zeros' business, not attach's: report it, do not throw.
  let releaseError: string | undefined;
  let afterRelease: string | undefined;
  try {
    release(memory, 0, memory.pageCount);
    afterRelease = memory.closed ? undefined : text(memory, hello.offset, hello.length);
  } catch (err) {
    releaseError = err instanceof Error ? err.message : String(err);
  }
  memory.unmap();
  return {
    address: "0x" + memory.address.toString(16),
    sawHello,
    afterClose,
    afterRelease,
    releaseError,
  };
});
