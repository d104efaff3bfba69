/**
 * Child side of lab 04's shared-memory checks, the creator: makes shared
 * memory with the student's createShared(), writes a text into it, reads what
 * the others wrote, and lets go of it with closeShared().
 */
import { defineDrive, type Mapping, studentExport } from "../../../lib/checker/mod.ts";
import { isMapping, type OwnerParams } from "./shared.ts";

interface SharedRegion {
  memory: Mapping;
  fd: number;
  path: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export default defineDrive<OwnerParams>(async (ctx) => {
  const createShared = studentExport<(size: number) => SharedRegion>(ctx, "createShared");
  const closeShared = studentExport<(region: SharedRegion) => void>(ctx, "closeShared");
  const { size, hello, replies } = ctx.params;

  const region = createShared(size);
  if (
    region === null || typeof region !== "object" || !isMapping(region.memory) ||
    typeof region.fd !== "number" || typeof region.path !== "string"
  ) {
    throw new TypeError("createShared must return { memory, fd, path } (see SharedRegion)");
  }
  const memory = region.memory;
  if (memory.length < size) {
    throw new RangeError(`createShared(${size}) mapped only ${memory.length} bytes`);
  }
  memory.bytes.set(encoder.encode(hello.text), hello.offset);
  const where = {
    pid: Deno.pid,
    path: region.path,
    fd: region.fd,
    address: "0x" + memory.address.toString(16),
    pages: memory.pageCount,
  };
  await ctx.checkpoint("created", where);

  // The checker and another process have written their replies by now.
  const seen = replies.map((r) =>
    decoder.decode(memory.bytes.subarray(r.offset, r.offset + r.length))
  );
  await ctx.checkpoint("seen", where);

  closeShared(region);
  await ctx.checkpoint("closed", where);
  return { ...where, seen };
});
