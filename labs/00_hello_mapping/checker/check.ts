/** Checks of lab 00: the message reaches the file on disk, through a shared mapping. */
import {
  callsTo,
  type CheckContext,
  type ChildResult,
  defineChecks,
  hasFlag,
} from "../../../lib/checker/mod.ts";

interface Run {
  path: string;
  message: string;
  result: ChildResult;
}

async function writeOnce(ctx: CheckContext) {
  return await ctx.once<Run>("write", async () => {
    const message = `hello ${ctx.random.nonce(16)}`;
    const path = ctx.file("message.txt", ".".repeat(message.length));
    const result = await ctx.run("drive.ts", { path, message });
    return { path, message, result };
  });
}

export default defineChecks([
  {
    id: "runs",
    title: "writeMessage runs to the end",
    points: 1,
    stubMayPass: true,
    hint: "Run it yourself: deno task lab check 0. Read the error it prints.",
    async run(ctx) {
      const { result } = await writeOnce(ctx);
      ctx.expectOk(result, "writeMessage");
    },
  },
  {
    id: "file-holds-message",
    title: "the file on disk holds the message",
    points: 2,
    parent: "runs",
    hint: "Copy the encoded bytes into mapping.bytes at offset 0.",
    async run(ctx) {
      const { path, message } = await writeOnce(ctx);
      const onDisk = Deno.readTextFileSync(path);
      ctx.expectEqual(onDisk, message, {
        what: "the file's content",
        mistake: onDisk === ".".repeat(message.length)
          ? "nothing reached the file: a private mapping (MAP_PRIVATE) or no write at all?"
          : "the bytes are not the message: wrong offset or encoding?",
      });
    },
  },
  {
    id: "through-mapping",
    title: "the message went through a shared mapping, not write()",
    points: 2,
    parent: "file-holds-message",
    hint: 'Use mapFile(path, { access: "readwrite" }) (shared is the default mode).',
    async run(ctx) {
      const { result } = await writeOnce(ctx);
      const maps = callsTo(result.calls, "mmap");
      const shared = maps.find((c) => hasFlag(c, "MAP_SHARED") && hasFlag(c, "PROT_WRITE"));
      if (!shared) {
        ctx.fail("no shared, writable mmap() call was made", {
          expected: "mmap(…, PROT_READ|PROT_WRITE, MAP_SHARED, fd, 0)",
          observed: maps.length ? `${maps.length} other mmap call(s)` : "no mmap call",
          mistake: "writing the file with Deno.writeFile/write() instead of through memory",
        });
      }
      if (callsTo(result.calls, "munmap").length === 0) {
        ctx.fail("the mapping was never unmapped", {
          mistake: "forgetting munmap: use `using mapping = mapFile(…)` or call mapping.unmap()",
        });
      }
    },
  },
]);
