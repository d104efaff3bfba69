/** Child side of lab 00: calls the student's writeMessage. */
import { defineDrive, studentExport } from "../../../lib/checker/mod.ts";

export default defineDrive<{ path: string; message: string }>((ctx) => {
  const writeMessage = studentExport<(path: string, message: string) => void>(ctx, "writeMessage");
  writeMessage(ctx.params.path, ctx.params.message);
  return { done: true };
});
