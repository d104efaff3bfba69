/**
 * Child side of lab 00: calls the student's writeMessage between two
 * checkpoints, so the checker can read this process's /proc/PID/io around it.
 */
import { defineDrive, studentExport } from "../../../lib/checker/mod.ts";

export default defineDrive<{ path: string; message: string }>(async (ctx) => {
  const writeMessage = studentExport<(path: string, message: string) => void>(ctx, "writeMessage");
  await ctx.checkpoint("before");
  writeMessage(ctx.params.path, ctx.params.message);
  await ctx.checkpoint("after");
  return { done: true };
});
