/**
 * Section 3: IPC between two Deno processes. This process produces
 * fixed-size messages; a child process (`bench/ipc_child.ts`) consumes them
 * and times its steady-state rate. Two transports, same processes, same
 * message handling:
 *
 * - a shared-memory SPSC ring (`bench/ring.ts`) in a `mapSharedMemory`
 *   region, which the child maps through `/proc/<pid>/fd/<fd>`;
 * - a pipe (a FIFO under `.mmap-lab/bench/`), one `writeSync` per message,
 *   read in 64 KiB reads.
 *
 * The ring holds 64 KiB of messages, the size of a default pipe buffer.
 *
 * @module
 */

import { mapSharedMemory, MmapError, O, sys } from "../lib/mod.ts";
import {
  type BenchOptions,
  measure,
  progress,
  ratio,
  ratios,
  type Section,
  type Variant,
} from "./harness.ts";
import { WORK_DIR } from "./native.ts";
import { produce, READY, ringBytes, writeSeq } from "./ring.ts";

/** Bytes of messages the ring holds: as much as a default pipe buffer. */
const RING_DATA = 64 * 1024;
const O_NONBLOCK = 0o4000;
const ENXIO = 6;
const TIMEOUT_MS = 30_000;

interface Transfer {
  size: number;
  count: number;
}

interface ChildResult {
  received: number;
  rate: number;
  check: number;
  yields: number;
}

const CHILD = new URL("./ipc_child.ts", import.meta.url).pathname;
const LIB = new URL("../lib/", import.meta.url).pathname;

function spawnConsumer(transport: string, path: string, t: Transfer, slots: number) {
  const warmup = Math.floor(t.count / 10);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-config",
      "--no-prompt",
      "--allow-ffi",
      `--allow-read=${WORK_DIR},${LIB}`,
      CHILD,
      transport,
      path,
      String(t.size),
      String(slots),
      String(t.count),
      String(warmup),
      String(TIMEOUT_MS),
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let exited = false;
  const output = child.output().finally(() => exited = true);
  return {
    child,
    hasExited: () => exited,
    async result(expectedCheck: number): Promise<ChildResult> {
      const out = await output;
      const text = new TextDecoder().decode(out.stdout).trim();
      if (!out.success) {
        throw new Error(
          `${transport} consumer exited ${out.code}: ${new TextDecoder().decode(out.stderr)}`,
        );
      }
      const r = JSON.parse(text) as ChildResult;
      if (r.received !== t.count || (r.check | 0) !== (expectedCheck | 0)) {
        throw new Error(
          `${transport}: received ${r.received}/${t.count} messages, check ${r.check} ` +
            `(expected ${expectedCheck | 0})`,
        );
      }
      return r;
    },
    kill() {
      if (!exited) {
        try {
          child.kill("SIGKILL");
        } catch { /* gone already */ }
      }
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitUntil(
  ready: () => boolean,
  hasExited: () => boolean,
  what: string,
): Promise<void> {
  const deadline = performance.now() + TIMEOUT_MS;
  while (!ready()) {
    if (hasExited()) throw new Error(`consumer exited before ${what}`);
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(1);
  }
}

function message(size: number): Uint8Array {
  return new Uint8Array(size).map((_, i) => (i * 7 + size) & 255);
}

async function ringOnce(t: Transfer): Promise<number> {
  const slots = RING_DATA / t.size;
  using shm = mapSharedMemory(ringBytes(t.size, slots), "mmap-lab-bench-ring");
  const region = shm.bytes;
  const ctl = new Int32Array(region.buffer, 0, 64);
  const consumer = spawnConsumer("ring", shm.path, t, slots);
  try {
    await waitUntil(() => Atomics.load(ctl, READY) === 1, consumer.hasExited, "the ring mapping");
    const msg = message(t.size);
    produce(region, slots, msg, t.count, performance.now() + TIMEOUT_MS);
    return (await consumer.result(t.count * msg[t.size - 1])).rate;
  } finally {
    consumer.kill();
  }
}

let mkfifo: ((path: Uint8Array<ArrayBuffer>, mode: number) => number) | undefined;

async function pipeOnce(t: Transfer): Promise<number> {
  mkfifo ??= Deno.dlopen("libc.so.6", {
    mkfifo: { parameters: ["buffer", "u32"], result: "i32" },
  }).symbols.mkfifo;
  const path = `${WORK_DIR}/ipc-${Deno.pid}.fifo`;
  await Deno.remove(path).catch(() => {});
  if (mkfifo(new TextEncoder().encode(path + "\0"), 0o600) !== 0) {
    throw new Error(`mkfifo ${path} failed (errno ${sys.errno()})`);
  }
  const consumer = spawnConsumer("pipe", path, t, 0);
  try {
    // Open the write end only once the reader has the FIFO open, so a consumer that
    // never starts makes an error here instead of a blocked open().
    let probe = -1;
    await waitUntil(
      () => {
        try {
          probe = sys.open(path, O.WRONLY | O_NONBLOCK | O.CLOEXEC);
          return true;
        } catch (err) {
          if (err instanceof MmapError && err.errno === ENXIO) return false;
          throw err;
        }
      },
      consumer.hasExited,
      "the pipe's reader",
    );
    const msg = message(t.size);
    {
      using pipe = Deno.openSync(path, { write: true });
      sys.close(probe);
      for (let seq = 0; seq < t.count; seq++) {
        writeSeq(msg, 0, seq);
        let written = pipe.writeSync(msg);
        while (written < msg.length) written += pipe.writeSync(msg.subarray(written));
      }
    } // closed: the reader sees end of file
    return (await consumer.result(t.count * msg[t.size - 1])).rate;
  } finally {
    consumer.kill();
    await Deno.remove(path).catch(() => {});
  }
}

/** Section 3: a shared-memory ring vs a pipe between two Deno processes. */
export async function ipcSection(opts: BenchOptions): Promise<Section> {
  const rounds = opts.rounds ?? (opts.quick ? 1 : 7);
  const q = opts.quick;
  const transfers: [string, Transfer, Transfer][] = [
    // [label, ring transfer, pipe transfer]: counts chosen for ~0.1–0.3 s each here.
    ["64-byte messages", { size: 64, count: q ? 5_000 : 2_000_000 }, {
      size: 64,
      count: q ? 5_000 : 200_000,
    }],
    ["4 KiB messages", { size: 4096, count: q ? 1_000 : 200_000 }, {
      size: 4096,
      count: q ? 1_000 : 50_000,
    }],
  ];
  const variants: Variant[] = [];
  for (const [label, ring, pipe] of transfers) {
    const also = (size: number) => (rate: number) => `= ${(rate * size / 1e6).toFixed(0)} MB/s`;
    variants.push(
      {
        id: `ring.${ring.size}`,
        group: label,
        name: `shared-memory ring (${ring.count} msgs)`,
        unit: "msg/s",
        ops: ring.count,
        also: also(ring.size),
        run: () => ringOnce(ring),
      },
      {
        id: `pipe.${pipe.size}`,
        group: label,
        name: `pipe, writeSync per message (${pipe.count} msgs)`,
        unit: "msg/s",
        ops: pipe.count,
        also: also(pipe.size),
        run: () => pipeOnce(pipe),
      },
    );
  }
  progress(`section 3: ${variants.length} transfers × ${rounds} rounds (one child process each)`);
  const results = await measure(variants, rounds);
  return {
    id: "3",
    title: "IPC between two Deno processes: shared-memory ring vs pipe",
    description: [
      "messages per second at the consumer (child process), timed after its first 10% of " +
      "messages; both transports buffer 64 KiB",
    ],
    results,
    ratios: ratios(
      ratio(results, "ipc.64", "64-byte: ring / pipe", "ring.64", "pipe.64", {
        op: ">=",
        value: 10,
      }),
      ratio(results, "ipc.4096", "4 KiB: ring / pipe", "ring.4096", "pipe.4096"),
    ),
    notes: [
      "ring: SPSC in a memfd mapping (mapSharedMemory), head/tail with Atomics.load/store on an " +
      "Int32Array, spin 2000 polls then sched_yield; the consumer reads messages in place",
      "pipe: a FIFO, one writeSync per message, 64 KiB readSync calls; the consumer handles each " +
      "message the same way (sequence check, last byte)",
      "the students' own ring (lab 08) is compared with a pipe by its checker, shown to the " +
      "student and not graded: `deno task lab check 8`",
    ],
  };
}
