/**
 * The consumer process of the IPC benchmark (section 3), started by
 * `bench/ipc.ts`:
 *
 *     deno run --allow-ffi --allow-read=DIR bench/ipc_child.ts ring|pipe PATH SIZE SLOTS COUNT WARMUP TIMEOUT_MS
 *
 * `ring`: maps PATH (the producer's memfd, `/proc/<pid>/fd/<fd>`) and reads
 * the ring in it. `pipe`: opens the FIFO at PATH and reads it in 64 KiB
 * reads. Either way it checks every message's sequence number and prints one
 * JSON line: `{"received", "rate", "check", "yields"}`.
 *
 * @module
 */

import { mapFile } from "../lib/mod.ts";
import { consume, consumeMessage, type ConsumeResult, READY } from "./ring.ts";

function consumePipe(path: string, size: number, warmup: number): ConsumeResult {
  using file = Deno.openSync(path, { read: true });
  const buffer = new Uint8Array(64 * 1024 + size);
  let fill = 0;
  let received = 0;
  let check = 0;
  let start = performance.now();
  for (;;) {
    const n = file.readSync(buffer.subarray(fill, fill + 64 * 1024));
    if (n === null) break;
    fill += n;
    let offset = 0;
    for (; fill - offset >= size; offset += size) {
      check = (check + consumeMessage(buffer, offset, size, received)) | 0;
      if (++received === warmup) start = performance.now();
    }
    if (offset > 0) {
      buffer.copyWithin(0, offset, fill);
      fill -= offset;
    }
  }
  const seconds = (performance.now() - start) / 1000;
  return { received, rate: (received - warmup) / seconds, check, yields: 0 };
}

function main(args: string[]): void {
  const [transport, path] = args;
  const [size, slots, count, warmup, timeoutMs] = args.slice(2).map(Number);
  const deadline = performance.now() + timeoutMs;
  let result: ConsumeResult;
  if (transport === "ring") {
    using m = mapFile(path, { access: "readwrite" });
    const region = m.bytes;
    Atomics.store(new Int32Array(region.buffer, 0, 64), READY, 1);
    result = consume(region, slots, size, count, warmup, deadline);
  } else if (transport === "pipe") {
    result = consumePipe(path, size, warmup);
  } else {
    throw new Error(`unknown transport ${transport}`);
  }
  console.log(JSON.stringify(result));
}

if (import.meta.main) main(Deno.args);
