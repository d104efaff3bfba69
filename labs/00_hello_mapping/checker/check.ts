/** Checks of lab 00: the message reaches the file, through a shared mapping of that file. */
import {
  type CallRecord,
  callsTo,
  type CheckContext,
  type ChildResult,
  defineChecks,
  hasFlag,
  type IoCounters,
  procIo,
  succeeded,
  witnessWrites,
} from "../../../lib/checker/mod.ts";

interface Run {
  path: string;
  message: string;
  result: ChildResult;
  /** /proc/PID/io of the child just before and just after writeMessage, and the bytes
   * read from its stdout and stderr by then (printing counts in wchar too). */
  before?: { io: IoCounters; stdout: number; stderr: number };
  after?: { io: IoCounters; stdout: number };
  /** Every byte of stderr, read once the child had ended (a pipe of its own: it may lag). */
  stderr: number;
  /** inotify's IN_MODIFY events on the file while the child ran, from any process. */
  writes: number;
}

async function writeOnce(ctx: CheckContext) {
  return await ctx.once<Run>("write", async () => {
    // Long enough that a write() of it stands out from Deno's own 8-byte event-loop wake-ups.
    const message = `hello ${ctx.random.nonce(ctx.random.int(400, 1000))}`;
    const path = Deno.realPathSync(ctx.file("message.txt", ".".repeat(message.length)));
    // The kernel's witness of any write() to the file, by the child or a process it starts.
    using witness = witnessWrites(path);
    const child = ctx.spawn("drive.ts", { path, message });
    const run: Omit<Run, "result" | "stderr" | "writes"> = { path, message };
    if ((await child.checkpoint())?.name === "before") {
      run.before = {
        io: procIo(child.pid),
        stdout: child.stdoutBytes,
        stderr: child.stderrBytes,
      };
      await child.resume();
      if ((await child.checkpoint())?.name === "after") {
        run.after = { io: procIo(child.pid), stdout: child.stdoutBytes };
        await child.resume();
      }
    }
    const result = await child.result();
    return { ...run, result, stderr: child.stderrBytes, writes: witness.writes() };
  });
}

/** The path each call of `open` returned a descriptor for, as of each mmap: fds are reused. */
function mappingsOf(calls: CallRecord[], path: string): CallRecord[] {
  const fdPath = new Map<number, string>();
  const found: CallRecord[] = [];
  for (const c of calls) {
    if (c.call === "open" && !c.error && typeof c.result === "number") {
      fdPath.set(c.result, String(c.args.path));
    } else if (c.call === "close") {
      fdPath.delete(Number(c.args.fd));
    } else if (c.call === "mmap" && !c.error) {
      const opened = fdPath.get(Number(c.args.fd));
      if (opened !== undefined && samePath(opened, path)) found.push(c);
    }
  }
  return found;
}

function samePath(a: string, b: string): boolean {
  if (a === b) return true;
  try {
    return Deno.realPathSync(a) === Deno.realPathSync(b);
  } catch {
    return false;
  }
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
    title: "the file holds the message (read by another process)",
    points: 2,
    parent: "runs",
    hint: "Copy the encoded bytes into mapping.bytes at offset 0.",
    async run(ctx) {
      const { path, message } = await writeOnce(ctx);
      // Read by the checker, another process: what every reader of the file sees (the page
      // cache). Whether it reached the disk yet is msync's business (lab 05), not this lab's.
      const seen = Deno.readTextFileSync(path);
      ctx.expectEqual(seen, message, {
        what: "the file's content",
        mistake: seen === ".".repeat(message.length)
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
    async run(ctx: CheckContext) {
      const run = await writeOnce(ctx);
      const { result, path, message } = run;
      const maps = succeeded(result.calls, "mmap");
      const ofFile = mappingsOf(result.calls, path);
      const shared = ofFile.find((c) => hasFlag(c, "MAP_SHARED") && hasFlag(c, "PROT_WRITE"));
      if (!shared) {
        ctx.fail("no shared, writable mmap() of the message's file was made", {
          expected: `mmap(…, PROT_READ|PROT_WRITE, MAP_SHARED, fd, 0), fd opened on ${path}`,
          observed: ofFile.length
            ? `${ofFile.length} mmap call(s) of that file, none both MAP_SHARED and PROT_WRITE`
            : maps.length
            ? `${maps.length} mmap call(s), none of the message's file (another file, or anonymous memory)`
            : "no mmap call",
          mistake: ofFile.length
            ? 'a read-only or private mapping of the file: map it with access "readwrite" (shared)'
            : "writing the file with Deno.writeFile/write() instead of through memory",
        });
      }
      if (run.writes > 0) {
        ctx.fail(
          "the message's file was changed with write() (or truncated) while writeMessage ran",
          {
            expected: "no IN_MODIFY event on the file: inotify reports write(), truncate and " +
              "fallocate from any process, and never a store through a shared mapping",
            observed: `${run.writes} IN_MODIFY event(s) on ${path}`,
            mistake:
              "writing the file with write() or Deno.writeFile, in this process or another one it " +
              "started (a mapping made on the side does not count); the file already has the " +
              "message's size, so no ftruncate either",
          },
        );
      }
      if (run.before && run.after) {
        // wchar counts what went to stdout and stderr too (the checker's messages, and
        // anything printed, however much): take off the stdout bytes between the two
        // checkpoints, and every stderr byte after the first (lenient: stderr may lag).
        const extra = Math.max(
          0,
          run.after.io.wchar - run.before.io.wchar - (run.after.stdout - run.before.stdout) -
            (run.stderr - run.before.stderr),
        );
        const writes = callsTo(result.calls, "pwrite", "write");
        ctx.note(
          `wchar in /proc/PID/io grew by ${extra} bytes while writeMessage ran, besides what ` +
            "went to stdout and stderr (a few 8-byte writes are Deno waking its own event loop, " +
            "not your code)",
        );
        if (extra >= message.length / 2 || writes.length > 0) {
          ctx.fail("writeMessage wrote to a file with write()", {
            expected:
              `wchar in /proc/PID/io grows by nothing (the message is ${message.length} bytes)`,
            observed: `${extra} bytes written by write() calls` +
              (writes.length ? ` (${writes.length} pwrite/write through sys)` : ""),
            mistake:
              "writing the file with Deno.writeFile/write() instead of through memory (a mapping made on the side does not count)",
          });
        }
      }
      const unmapped = callsTo(result.calls, "munmap").some((c) =>
        BigInt(String(c.args.addr)) === BigInt(String(shared.result))
      );
      if (!unmapped) {
        ctx.fail("the mapping was never unmapped", {
          mistake: "forgetting munmap: use `using mapping = mapFile(…)` or call mapping.unmap()",
        });
      }
    },
  },
]);
