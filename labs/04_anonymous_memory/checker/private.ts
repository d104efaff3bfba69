/**
 * Child side of lab 04's private-memory checks: allocates with the student's
 * allocate(), reads it, writes a few pages, releases some; the checker reads
 * pagemap and smaps at each checkpoint.
 */
import {
  defineDrive,
  type Mapping,
  studentExport,
  threadFaultCounts,
  withoutRecording,
} from "../../../lib/checker/mod.ts";
import { isMapping, PREDICTIONS, type PrivateParams } from "./shared.ts";

export default defineDrive<PrivateParams>(async (ctx) => {
  const allocate = studentExport<(size: number) => Mapping>(ctx, "allocate");
  const release = studentExport<(memory: Mapping, first: number, count: number) => void>(
    ctx,
    "release",
  );
  const { size, writes, release: range } = ctx.params;
  // This thread's faults only: V8's helper threads fault pages of their own at any time. The
  // checker also reads the process's count from /proc/PID/stat, as an upper bound.
  const minor = () => threadFaultCounts().minor;

  const memory = allocate(size);
  if (!isMapping(memory)) {
    throw new TypeError("allocate must return the Mapping mapAnonymous gives");
  }
  // No transparent huge pages, whatever the machine's setting: one fault, one 4 kB page.
  // The checker's own call, so it stays out of the call record.
  withoutRecording(() => {
    try {
      memory.advise("nohugepage");
    } catch { /* not supported here: nothing to turn off */ }
  });
  const ps = memory.pageSize;
  const where = { address: "0x" + memory.address.toString(16), pages: memory.pageCount };
  await ctx.checkpoint("allocated", where);

  const bytes = memory.bytes;
  // One read per page, fault counts around it; then every byte, to see they are all zero.
  let start = minor();
  let sum = 0;
  for (let at = 0; at < bytes.length; at += ps) sum += bytes[at];
  const readFaults = minor() - start;
  let nonZero = sum === 0 ? 0 : 1;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) nonZero++;
  await ctx.checkpoint("read", where);

  start = minor();
  for (const w of writes) bytes[w.page * ps + w.offset] = w.value;
  const writeFaults = minor() - start;
  await ctx.checkpoint("written", where);

  release(memory, range.first, range.count);
  if (memory.closed) throw new Error("release unmapped the whole memory");
  await ctx.checkpoint("released", where);

  const lo = range.first * ps;
  const hi = Math.min((range.first + range.count) * ps, memory.length);
  let nonZeroReleased = 0;
  for (let i = lo; i < hi; i++) if (bytes[i] !== 0) nonZeroReleased++;
  const readBack = writes.map((w) => bytes[w.page * ps + w.offset]);
  const length = memory.length;
  memory.unmap();

  const predictions = Object.fromEntries(PREDICTIONS.map((n) => [n, ctx.student[n] ?? null]));
  return {
    address: where.address,
    length,
    pageSize: ps,
    nonZero,
    readFaults,
    writeFaults,
    nonZeroReleased,
    readBack,
    predictions,
  };
});
