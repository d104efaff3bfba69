/**
 * A real pseudo-terminal for runner tests: a private tmux server (its own
 * socket, no user config) whose screen can be read back as the student sees
 * it, resized, and typed into.
 *
 * @module
 */

const decoder = new TextDecoder();

/** Whether tmux can be run here; a reason when not. */
export function tmuxMissing(): string | undefined {
  try {
    const r = new Deno.Command("tmux", { args: ["-V"], stdout: "null", stderr: "null" })
      .outputSync();
    return r.success ? undefined : "tmux -V failed";
  } catch {
    return "tmux is not installed (apt-get install tmux): the pseudo-terminal tests need it";
  }
}

/** A tmux server with one session, running one command in a terminal of a given size. */
export class Tmux implements AsyncDisposable {
  readonly socket = `mmap-lab-test-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;

  /** Starts `command` (argv) in `cwd` on a `cols` × `rows` terminal. */
  constructor(cwd: string, command: string[], cols: number, rows: number) {
    this.#tmux([
      "new-session",
      "-d",
      "-s",
      "lab",
      "-x",
      String(cols),
      "-y",
      String(rows),
      "-c",
      cwd,
      command.map(quote).join(" "),
    ]);
    // Keep a window whose program has ended, so its last words can be read.
    this.#tmux(["set-option", "-g", "remain-on-exit", "on"]);
    this.#tmux(["set-option", "-t", "lab:0", "remain-on-exit", "on"]);
  }

  #tmux(args: string[]): string {
    const r = new Deno.Command("tmux", {
      args: ["-L", this.socket, "-f", "/dev/null", ...args],
      stdout: "piped",
      stderr: "piped",
    }).outputSync();
    if (!r.success) throw new Error(`tmux ${args[0]}: ${decoder.decode(r.stderr)}`);
    return decoder.decode(r.stdout);
  }

  /**
   * The screen of a window (default: the first), one string per row, trailing
   * blanks cut; for another window, with the lines scrolled off it.
   */
  screen(window = "lab:0", joined = false): string[] {
    const history = window === "lab:0" ? [] : ["-S", "-"];
    const text = this.#tmux([
      "capture-pane",
      "-p",
      ...history,
      ...(joined ? ["-J"] : []),
      "-t",
      window,
    ]);
    return text.replace(/\n+$/, "").split("\n").map((l) => l.trimEnd());
  }

  /** Waits until `ready(screen)` holds, and returns that screen; throws with the screen on time-out. */
  async waitFor(
    ready: (screen: string) => boolean,
    what: string,
    options: { timeoutMs?: number; window?: string } = {},
  ): Promise<string[]> {
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    for (;;) {
      const screen = this.screen(options.window);
      if (ready(screen.join("\n"))) return screen;
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${what}; the screen:\n${screen.join("\n")}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Resizes the terminal (the program gets SIGWINCH). */
  resize(cols: number, rows: number): void {
    this.#tmux(["resize-window", "-t", "lab", "-x", String(cols), "-y", String(rows)]);
  }

  /** Types keys (tmux key names or text). */
  keys(...keys: string[]): void {
    this.#tmux(["send-keys", "-t", "lab:0", ...keys]);
  }

  /** Opens a second window running `command` in `cwd`; returns its target name. */
  window(cwd: string, command: string[]): string {
    this.#tmux(["new-window", "-d", "-t", "lab:1", "-c", cwd, command.map(quote).join(" ")]);
    return "lab:1";
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#tmux(["kill-server"]);
    } catch { /* already gone */ }
    await Promise.resolve();
  }
}

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}
