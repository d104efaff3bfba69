/**
 * The server of `deno task lab web`: `Deno.serve` on 127.0.0.1 only, one
 * lab. It serves the page, the record of the lab's last run (`/run.json`),
 * and server-sent events (`/events`) each time the record changes: it
 * watches `.mmap-lab/web/` (and looks at the file every second too, for file
 * systems whose changes are not reported), so every run of the lab (watch
 * mode on save, `check`, or the page's own "Run again") reaches the page.
 *
 * @module
 */

import type { LabInfo } from "../../lib/catalog.ts";
import { fileDigest } from "../state.ts";
import { loadRunRecord, type RunRecord, runRecordDir, runRecordPath } from "./run_data.ts";
import { labPageHtml, messagePage } from "./page.ts";

/** The port tried first when none is asked for ("mmap" on a phone keypad); then any free one. */
export const DEFAULT_PORT = 6627;

/** Options of {@link serveLab}. */
export interface ServeOptions {
  /** The project root. */
  root: string;
  /** The lab shown. */
  lab: LabInfo;
  /** Labs that have a picture, for the page to name. */
  withPicture: string[];
  /** The port; default {@link DEFAULT_PORT}, or any free port when that one is taken. */
  port?: number;
  /**
   * Runs the lab (checks and picture), which writes a new record; the page's
   * "Run again" button calls it, and so does the server at start when there
   * is no record, or the file changed since it.
   */
  run: () => Promise<unknown>;
  /** Stops the server. */
  signal?: AbortSignal;
}

/** A running server. */
export interface LabServer {
  /** Its address, e.g. `http://127.0.0.1:6627/`. */
  url: string;
  /** Settles when the server has stopped. */
  finished: Promise<void>;
  /** Runs in progress or queued (the start-up run included). */
  idle(): Promise<void>;
}

const encoder = new TextEncoder();

/** Whether the error is "the port is taken". */
function addressInUse(err: unknown): boolean {
  return err instanceof Deno.errors.AddrInUse;
}

/**
 * Starts the server and returns its address. Throws `Deno.errors.AddrInUse`
 * only when the port asked for (`port`) is taken.
 *
 * @example
 * ```ts ignore
 * const server = await serveLab({ root, lab, withPicture: [], run: () => check(lab) });
 * console.log(server.url);
 * await server.finished;
 * ```
 */
export function serveLab(options: ServeOptions): LabServer {
  const { root, lab } = options;
  const clients = new Set<ReadableStreamDefaultController<Uint8Array>>();
  const send = (event: string, data: unknown) => {
    const chunk = encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    for (const c of clients) {
      try {
        c.enqueue(chunk);
      } catch {
        clients.delete(c);
      }
    }
  };

  // Runs, one at a time; a request while one is on waits for it and runs once more.
  let runs: Promise<void> = Promise.resolve();
  let active = 0;
  const runLab = () => {
    active++;
    send("running", {});
    runs = runs.then(() => options.run()).then(() => {}, () => {}).finally(() => {
      if (--active === 0) send("idle", {});
    });
    return runs;
  };

  // The record's changes, from the file system's events and a look every second.
  Deno.mkdirSync(runRecordDir(root), { recursive: true });
  let lastStamp = stamp(root, lab.id);
  const changed = () => {
    const now = stamp(root, lab.id);
    if (now === lastStamp) return;
    lastStamp = now;
    send("run", { recordedAt: loadRunRecord(root, lab.id)?.recordedAt ?? null });
  };
  let watcher: Deno.FsWatcher | undefined;
  try {
    watcher = Deno.watchFs(runRecordDir(root), { recursive: false });
    (async () => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        for await (const event of watcher!) {
          if (!event.paths.some((p) => p.endsWith(`/${lab.id}.json`))) continue;
          clearTimeout(timer);
          timer = setTimeout(changed, 30);
        }
      } catch { /* closed */ }
      clearTimeout(timer);
    })();
  } catch { /* no events here: the look every second does it */ }
  const poll = setInterval(changed, 1000);
  const ping = setInterval(() => {
    for (const c of clients) {
      try {
        c.enqueue(encoder.encode(": ping\n\n"));
      } catch {
        clients.delete(c);
      }
    }
  }, 15_000);

  let port = 0;
  const hosts = () => [`127.0.0.1:${port}`, `localhost:${port}`];
  const handler = (request: Request): Response => {
    // Only pages of this server: a request naming another host (DNS rebinding) is refused.
    if (!hosts().includes(request.headers.get("host") ?? "")) {
      return new Response("wrong host\n", { status: 421 });
    }
    const url = new URL(request.url);
    if (request.method === "GET" && url.pathname === "/") {
      return new Response(labPageHtml(), {
        headers: {
          "content-type": "text/html; charset=utf-8",
          "cache-control": "no-store",
          "content-security-policy":
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; " +
            "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'",
          "x-content-type-options": "nosniff",
        },
      });
    }
    if (request.method === "GET" && url.pathname === "/run.json") {
      return Response.json(runJson(root, lab, options.withPicture), {
        headers: { "cache-control": "no-store" },
      });
    }
    if (request.method === "GET" && url.pathname === "/events") {
      let mine: ReadableStreamDefaultController<Uint8Array> | undefined;
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          mine = controller;
          clients.add(controller);
          controller.enqueue(encoder.encode("retry: 1000\n\n"));
          if (active) controller.enqueue(encoder.encode("event: running\ndata: {}\n\n"));
        },
        cancel() {
          if (mine) clients.delete(mine);
        },
      });
      return new Response(body, {
        headers: {
          "content-type": "text/event-stream",
          "cache-control": "no-store",
          "x-accel-buffering": "no",
        },
      });
    }
    if (request.method === "POST" && url.pathname === "/run") {
      // Only this page's script sends the header (another site's would need our permission).
      const origin = request.headers.get("origin");
      if (
        request.headers.get("x-mmap-lab") !== "run" ||
        (origin !== null && !hosts().map((h) => `http://${h}`).includes(origin))
      ) {
        return new Response("refused\n", { status: 403 });
      }
      runLab();
      return new Response(null, { status: 202 });
    }
    if (url.pathname === "/favicon.ico") return new Response(null, { status: 204 });
    return new Response(messagePage("Not found", `Nothing at ${url.pathname}.`), {
      status: 404,
      headers: { "content-type": "text/html; charset=utf-8" },
    });
  };

  const listen = (wanted: number) =>
    Deno.serve({
      hostname: "127.0.0.1",
      port: wanted,
      signal: options.signal,
      onListen: () => {},
    }, handler);
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = listen(options.port ?? DEFAULT_PORT);
  } catch (err) {
    if (options.port !== undefined || !addressInUse(err)) throw err;
    server = listen(0);
  }
  port = server.addr.port;
  const finished = server.finished.finally(() => {
    watcher?.close();
    clearInterval(poll);
    clearInterval(ping);
    for (const c of clients) {
      try {
        c.close();
      } catch { /* gone */ }
    }
    clients.clear();
  });
  options.signal?.addEventListener("abort", () => {
    for (const c of clients) {
      try {
        c.close();
      } catch { /* gone */ }
    }
  });

  // No record of this lab yet, or the file changed since it: run once now.
  const record = loadRunRecord(root, lab.id);
  if (!record || (record.fileDigest && record.fileDigest !== fileDigest(root, lab))) {
    runLab();
  }
  return { url: `http://127.0.0.1:${port}/`, finished, idle: () => runs };
}

/** The record file's size and time: changes when a run writes a new one. */
function stamp(root: string, labId: string): string {
  try {
    const info = Deno.statSync(runRecordPath(root, labId));
    return `${info.mtime?.getTime()}:${info.size}:${info.ino}`;
  } catch {
    return "none";
  }
}

/** What `/run.json` answers. */
export interface RunJson {
  /** The last run's record, or `null`. */
  record: RunRecord | null;
  /** Why there is none. */
  message?: string;
  /** The student's file changed since the run. */
  stale: boolean;
  /** Labs that have a picture. */
  withPicture: string[];
}

function runJson(root: string, lab: LabInfo, withPicture: string[]): RunJson {
  const record = loadRunRecord(root, lab.id) ?? null;
  return {
    record,
    ...(record ? {} : {
      message: `No run of ${lab.id} recorded yet: it is running now (or run ` +
        `\`deno task lab check ${Number.parseInt(lab.id, 10)}\`).`,
    }),
    stale: !!record?.fileDigest && record.fileDigest !== fileDigest(root, lab),
    withPicture,
  };
}
