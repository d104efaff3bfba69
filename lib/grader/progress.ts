/**
 * Progress while a class is graded, on standard error: a bar redrawn in
 * place on a terminal, one plain line per graded lab in a pipe or a log.
 *
 * @module
 */

import type { ProgressEvent } from "./batch.ts";
import { sanitize } from "./formats.ts";

/** Where progress goes and how it looks. */
export interface ProgressOptions {
  /** Redraw one line (a terminal) or print a line per lab (a pipe). */
  tty: boolean;
  /** Use colour (only on a terminal, and never with NO_COLOR). */
  color?: boolean;
  /** Width of the terminal (default 80). */
  columns?: number;
  /** Writes text (default: to standard error). */
  write?: (text: string) => void;
}

const encoder = new TextEncoder();

function writeStderr(text: string): void {
  const bytes = encoder.encode(text);
  let done = 0;
  while (done < bytes.length) done += Deno.stderr.writeSync(bytes.subarray(done));
}

/**
 * A progress display fed with {@link ProgressEvent}s.
 *
 * @example
 * ```ts
 * import { Progress } from "./progress.ts";
 * const lines: string[] = [];
 * const progress = new Progress({ tty: false, write: (t) => lines.push(t) });
 * progress.update({ kind: "done", student: "ada", lab: "00_hello_mapping", done: 1, total: 1 });
 * console.log(lines[0]); // "[1/1] ada 00_hello_mapping\n"
 * ```
 */
export class Progress {
  #running = new Map<string, string>();
  #last = "";
  readonly #options: Required<ProgressOptions>;
  #started = performance.now();

  /** Creates a display. */
  constructor(options: ProgressOptions) {
    this.#options = { color: false, columns: 80, write: writeStderr, ...options };
  }

  /** Takes an event from `gradeSubmissions`' `onProgress`. */
  update(event: ProgressEvent): void {
    const key = `${event.student}\u0000${event.lab}`;
    if (event.kind === "start") this.#running.set(key, `${event.student} ${event.lab}`);
    else this.#running.delete(key);
    if (this.#options.tty) this.#draw(event);
    else if (event.kind === "done") {
      const g = event.grade;
      const points = g
        ? g.status === "missing"
          ? " not submitted"
          : ` ${g.score}/${g.maxScore}${g.status === "error" ? " (grading problem)" : ""} ${
            (g.durationMs / 1000).toFixed(1)
          } s`
        : "";
      this.#options.write(
        `[${event.done}/${event.total}] ${sanitize(event.student)} ${event.lab}${points}\n`,
      );
    }
  }

  #draw(event: ProgressEvent): void {
    const width = 24;
    const filled = event.total ? Math.round((event.done / event.total) * width) : width;
    const bar = "#".repeat(filled) + "-".repeat(width - filled);
    const elapsed = ((performance.now() - this.#started) / 1000).toFixed(0);
    const now = [...this.#running.values()].map(sanitize).join(", ");
    let line = `[${bar}] ${event.done}/${event.total} ${elapsed} s  ${now}`;
    if (line.length > this.#options.columns - 1) {
      line = line.slice(0, this.#options.columns - 2) + "…";
    }
    if (line === this.#last) return;
    this.#last = line;
    const shown = this.#options.color ? `\x1b[36m${line}\x1b[0m` : line;
    this.#options.write(`\r\x1b[2K${shown}`);
  }

  /** Clears the bar (on a terminal) before the table is printed. */
  finish(): void {
    if (this.#options.tty && this.#last) this.#options.write("\r\x1b[2K");
    this.#last = "";
  }
}
