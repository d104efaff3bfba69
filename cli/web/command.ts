/**
 * `deno task lab web [lab]`: starts the page's server, prints its address,
 * and runs until Ctrl-C. Opens no browser.
 *
 * @module
 */

import type { Catalog, LabInfo } from "../../lib/catalog.ts";
import { DEFAULT_PORT, serveLab } from "./server.ts";

/** Options of {@link webCommand}. */
export interface WebCommandOptions {
  /** The catalog. */
  catalog: Catalog;
  /** The lab shown. */
  lab: LabInfo;
  /** `--port` as given, if given. */
  port?: string;
  /** Runs the lab's checks and picture (the runner's own check, which records the run). */
  run: () => Promise<unknown>;
  /** Prints a line. */
  say: (text: string) => void;
}

/** Help of the command. */
export const WEB_HELP = `Usage: deno task lab web [lab] [--port N]

Serves a page on http://127.0.0.1 (this machine only) that shows your last run
of the lab (default: the current lab) step by step: each picture of your
mapping's pages (absent, zero page, file page, private copy, dirty, clean after
msync, guard), the calls your code made between them, faults, Rss, the checks,
and your kernel's facts that matter to the lab. It follows every run: keep
\`deno task lab watch\` open in a terminal and save, or press "Run again" on the
page. Prints the address and opens nothing; Ctrl-C stops it.
  --port N   the port (default ${DEFAULT_PORT}, or any free port when it is taken;
             0: any free port)`;

/**
 * Runs the command; resolves with the exit status once the server stops
 * (Ctrl-C, SIGTERM).
 *
 * @example
 * ```ts ignore
 * Deno.exit(await webCommand({ catalog, lab, run: () => check(lab), say: console.log }));
 * ```
 */
export async function webCommand(options: WebCommandOptions): Promise<number> {
  const { catalog, lab, say } = options;
  let port: number | undefined;
  if (options.port !== undefined) {
    port = Number(options.port);
    if (!/^\d+$/.test(options.port) || port > 65535) {
      say(`error: --port needs a port number, 0 to 65535 (0: any free port), not ${options.port}`);
      return 2;
    }
  }
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    try {
      Deno.addSignalListener(signal, onSignal);
    } catch { /* no such signal here */ }
  }
  try {
    let server;
    try {
      server = serveLab({
        root: catalog.root,
        lab,
        withPicture: catalog.labs.filter((l) => l.show).map((l) => l.id),
        port,
        run: options.run,
        signal: stop.signal,
      });
    } catch (err) {
      if (err instanceof Deno.errors.AddrInUse) {
        say(`error: port ${port} is taken; choose another (--port 0: any free port)`);
        return 1;
      }
      if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
        say(`error: no permission to serve on 127.0.0.1 (${err.message})`);
        return 1;
      }
      throw err;
    }
    say(`lab web: ${lab.id} at ${server.url}`);
    say(
      "Open it in your browser. It follows every run of the lab: keep `deno task lab watch` " +
        "open and save, or press Run again on the page. Ctrl-C stops.",
    );
    await server.finished;
    await server.idle();
    return 0;
  } finally {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      try {
        Deno.removeSignalListener(signal, onSignal);
      } catch { /* never added */ }
    }
  }
}
