/**
 * A headless Chromium for the browser tests, driven over the DevTools
 * protocol through Deno's own WebSocket: no dependency. (Measured on
 * 2026-12-02: playwright-core 1.65.1 and puppeteer-core 24 both run from
 * `npm:` under `-A`; under the test permission set playwright-core fails at
 * import — its WSL probe reads /proc/sys/fs/binfmt_misc, which Deno grants
 * only to --allow-all — and both need `sys` permissions. This needs only
 * `net` to 127.0.0.1.)
 *
 * The browser is the system's (`/usr/bin/chromium`, Debian's package:
 * `.ci/run` installs it when missing); {@link chromiumMissing} says why the
 * tests cannot run, and they say so loudly instead of passing.
 *
 * @module
 */

/** Where the browser is expected. */
export const CHROMIUM = "/usr/bin/chromium";

/** Why the browser tests cannot run here, or `undefined` when they can. */
export function chromiumMissing(): string | undefined {
  try {
    if (!Deno.statSync(CHROMIUM).isFile) return `${CHROMIUM} is not a file`;
  } catch {
    return `${CHROMIUM} is missing (Debian/Ubuntu: apt-get install -y --no-install-recommends ` +
      "chromium; .ci/run does it when it runs as root)";
  }
  return undefined;
}

/** Writes a notice no one can miss to standard error (directly: `deno test -q` hides console output). */
export function skipNotice(what: string, reason: string): void {
  const line = "!".repeat(78);
  try {
    Deno.stderr.writeSync(
      new TextEncoder().encode(`\n${line}\n!! SKIPPED: ${what}\n!! ${reason}\n${line}\n`),
    );
  } catch { /* no stderr */ }
}

/**
 * Says that browser tests did not run, so that no one takes the run for a
 * pass: a notice on standard error (written directly: `deno test -q` hides
 * console output), and a test named "SKIPPED: …", ignored, which Deno lists
 * with its name and counts as ignored in its summary.
 */
export function warnSkipped(file: string, reason: string): void {
  skipNotice(`${file}: the browser tests did not run.`, reason);
  Deno.test({
    name: `SKIPPED: ${file}: browser tests not run: ${reason}`,
    ignore: true,
    fn() {},
  });
}

const decoder = new TextDecoder();

interface Pending {
  resolve: (value: Record<string, unknown>) => void;
  reject: (err: Error) => void;
  method: string;
}

type Listener = (params: Record<string, unknown>, sessionId?: string) => void;

/** A Chromium process and its DevTools connection. */
export class Chromium implements AsyncDisposable {
  #process: Deno.ChildProcess;
  #socket: WebSocket;
  #profile: string;
  #next = 1;
  #pending = new Map<number, Pending>();
  #listeners = new Set<Listener & { method: string }>();
  #closed = false;

  private constructor(process: Deno.ChildProcess, socket: WebSocket, profile: string) {
    this.#process = process;
    this.#socket = socket;
    this.#profile = profile;
    socket.onmessage = (event) => {
      const message = JSON.parse(String(event.data));
      if (typeof message.id === "number") {
        const pending = this.#pending.get(message.id);
        if (!pending) return;
        this.#pending.delete(message.id);
        if (message.error) {
          pending.reject(new Error(`${pending.method}: ${message.error.message}`));
        } else pending.resolve(message.result ?? {});
        return;
      }
      for (const listener of this.#listeners) {
        if (listener.method === message.method) listener(message.params ?? {}, message.sessionId);
      }
    };
    socket.onclose = () => {
      for (const p of this.#pending.values()) p.reject(new Error(`${p.method}: browser closed`));
      this.#pending.clear();
    };
  }

  /**
   * Starts a headless Chromium with a fresh profile in `profileParent` and
   * connects to it.
   */
  static async launch(profileParent: string): Promise<Chromium> {
    Deno.mkdirSync(profileParent, { recursive: true });
    const profile = Deno.makeTempDirSync({ dir: profileParent, prefix: "chromium-profile-" });
    const process = new Deno.Command(CHROMIUM, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        "--force-color-profile=srgb",
        `--user-data-dir=${profile}`,
        "--remote-debugging-port=0",
        "about:blank",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    // "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/ID" on stderr.
    const reader = process.stderr.getReader();
    let seen = "";
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`chromium did not start in 60 s:\n${seen.slice(-2000)}`)),
        60_000,
      );
      (async () => {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          seen += decoder.decode(value, { stream: true });
          const match = /DevTools listening on (ws:\/\/\S+)/.exec(seen);
          if (match) {
            clearTimeout(timer);
            resolve(match[1]);
            break;
          }
        }
        clearTimeout(timer);
        reject(new Error(`chromium exited before listening:\n${seen.slice(-2000)}`));
      })().catch(reject);
    });
    // Keep reading stderr (unread, a full pipe would block the browser).
    (async () => {
      try {
        for (;;) if ((await reader.read()).done) break;
      } catch { /* closed */ }
    })();
    const socket = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      socket.onopen = () => resolve();
      socket.onerror = () => reject(new Error(`cannot connect to ${url}`));
    });
    return new Chromium(process, socket, profile);
  }

  /** Sends one DevTools command and returns its result. */
  send(
    method: string,
    params: Record<string, unknown> = {},
    sessionId?: string,
  ): Promise<Record<string, unknown>> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, method });
      this.#socket.send(
        JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }),
      );
    });
  }

  /** Calls `listener` on every event named `method`; returns a function that stops it. */
  on(method: string, listener: Listener): () => void {
    const entry = Object.assign(
      (params: Record<string, unknown>, sessionId?: string) => listener(params, sessionId),
      { method },
    );
    this.#listeners.add(entry);
    return () => this.#listeners.delete(entry);
  }

  /** A new tab of `width` × `height` CSS pixels (`scale`: device pixels per CSS pixel). */
  async newPage(width = 1280, height = 900, scale = 1): Promise<Page> {
    const { targetId } = await this.send("Target.createTarget", { url: "about:blank" });
    const { sessionId } = await this.send("Target.attachToTarget", { targetId, flatten: true });
    const page = new Page(this, String(sessionId));
    await page.send("Page.enable");
    await page.send("Runtime.enable");
    await page.setViewport(width, height, scale);
    return page;
  }

  /** Closes the browser, waits for it to end, and removes its profile. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await Promise.race([
        this.send("Browser.close"),
        new Promise((resolve) => setTimeout(resolve, 5000)),
      ]);
    } catch { /* already gone */ }
    try {
      this.#socket.close();
    } catch { /* closed */ }
    const ended = await Promise.race([
      this.#process.status.then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 10_000)),
    ]);
    if (!ended) {
      try {
        this.#process.kill("SIGKILL");
      } catch { /* ended meanwhile */ }
      await this.#process.status;
    }
    try {
      Deno.removeSync(this.#profile, { recursive: true });
    } catch { /* a late child still writing: left for the next clean */ }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** What a page's script threw, with the page's own message. */
export class PageError extends Error {}

/** Key codes of the keys the tests press. */
const KEYS: Record<string, { code: string; keyCode: number }> = {
  ArrowLeft: { code: "ArrowLeft", keyCode: 37 },
  ArrowRight: { code: "ArrowRight", keyCode: 39 },
  Home: { code: "Home", keyCode: 36 },
  End: { code: "End", keyCode: 35 },
  Tab: { code: "Tab", keyCode: 9 },
  Enter: { code: "Enter", keyCode: 13 },
};

/** One tab. */
export class Page {
  #browser: Chromium;
  #session: string;
  /** Uncaught errors of the page's scripts, and `console.error` lines. */
  readonly errors: string[] = [];

  constructor(browser: Chromium, session: string) {
    this.#browser = browser;
    this.#session = session;
    browser.on("Runtime.exceptionThrown", (params, sessionId) => {
      if (sessionId !== session) return;
      const details = params.exceptionDetails as {
        text?: string;
        exception?: { description?: string };
      };
      this.errors.push(details.exception?.description ?? details.text ?? "an exception");
    });
    browser.on("Runtime.consoleAPICalled", (params, sessionId) => {
      if (sessionId !== session || params.type !== "error") return;
      const args = params.args as { value?: unknown; description?: string }[];
      this.errors.push(args.map((a) => String(a.value ?? a.description)).join(" "));
    });
  }

  /** Sends a command to this tab. */
  send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    return this.#browser.send(method, params, this.#session);
  }

  /** Sets the viewport: `scale` 2 with half the width is what a 200 % zoom shows. */
  async setViewport(width: number, height: number, scale = 1): Promise<void> {
    await this.send("Emulation.setDeviceMetricsOverride", {
      width,
      height,
      deviceScaleFactor: scale,
      mobile: false,
    });
  }

  /** Loads `url` and waits for its load event. */
  async goto(url: string): Promise<void> {
    const loaded = new Promise<void>((resolve) => {
      const stop = this.#browser.on("Page.loadEventFired", (_, sessionId) => {
        if (sessionId !== this.#session) return;
        stop();
        resolve();
      });
    });
    const result = await this.send("Page.navigate", { url });
    if (result.errorText) throw new Error(`cannot load ${url}: ${result.errorText}`);
    await loaded;
  }

  /** Evaluates a JavaScript expression in the page (awaiting a promise) and returns its value. */
  async evaluate<T>(expression: string): Promise<T> {
    const result = await this.send("Runtime.evaluate", {
      expression,
      returnByValue: true,
      awaitPromise: true,
    });
    const details = result.exceptionDetails as
      | { text?: string; exception?: { description?: string } }
      | undefined;
    if (details) {
      throw new PageError(
        `${expression.slice(0, 80)}: ${details.exception?.description ?? details.text}`,
      );
    }
    return (result.result as { value?: T }).value as T;
  }

  /**
   * Waits until `expression` is truthy in the page (looked at every 50 ms),
   * and returns its value; after `timeoutMs` throws, naming `what`.
   */
  async waitFor<T>(expression: string, what: string, timeoutMs = 30_000): Promise<T> {
    const end = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
      try {
        last = await this.evaluate<T>(expression);
        if (last) return last as T;
      } catch (err) {
        last = err instanceof Error ? err.message : err;
      }
      if (Date.now() > end) {
        throw new Error(`waited ${timeoutMs / 1000} s for ${what}; last: ${JSON.stringify(last)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Presses and releases a key (as the keyboard does: the page's key handlers see it). */
  async press(key: keyof typeof KEYS): Promise<void> {
    const { code, keyCode } = KEYS[key];
    const common = { key, code, windowsVirtualKeyCode: keyCode, nativeVirtualKeyCode: keyCode };
    await this.send("Input.dispatchKeyEvent", { type: "rawKeyDown", ...common });
    await this.send("Input.dispatchKeyEvent", { type: "keyUp", ...common });
  }

  /** Clicks the middle of the first element matching `selector` (scrolled into view). */
  async click(selector: string): Promise<void> {
    const box = await this.evaluate<{ x: number; y: number } | null>(`(() => {
      const e = document.querySelector(${JSON.stringify(selector)});
      if (!e) return null;
      e.scrollIntoView({ block: "center" });
      const r = e.getBoundingClientRect();
      return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
    })()`);
    if (!box) throw new Error(`nothing matches ${selector}`);
    for (const type of ["mousePressed", "mouseReleased"]) {
      await this.send("Input.dispatchMouseEvent", {
        type,
        x: box.x,
        y: box.y,
        button: "left",
        clickCount: 1,
      });
    }
  }

  /**
   * What makes the page wider than the window (a sideways scroll): how many
   * pixels too wide, and the elements past the right edge; empty when none.
   */
  overflow(): Promise<string[]> {
    return this.evaluate<string[]>(`(() => {
      const width = document.documentElement.clientWidth;
      const over = document.documentElement.scrollWidth - width;
      if (over <= 0) return [];
      return [over + " px too wide; past the right edge:"].concat(
        [...document.querySelectorAll("body *")]
          .filter((e) => e.getBoundingClientRect().right > width + 0.5)
          .slice(0, 8)
          .map((e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") +
            (e.className ? "." + e.className : "") + " " +
            JSON.stringify((e.textContent || "").slice(0, 60))));
    })()`);
  }

  /** Saves a PNG of the page (`fullPage`: all of it, not only the viewport). */
  async screenshot(path: string, fullPage = true): Promise<void> {
    const result = await this.send("Page.captureScreenshot", {
      format: "png",
      captureBeyondViewport: fullPage,
      ...(fullPage
        ? {
          clip: await this.evaluate<Record<string, number>>(`({ x: 0, y: 0, scale: 1,
            width: document.documentElement.scrollWidth,
            height: document.documentElement.scrollHeight })`),
        }
        : {}),
    });
    const bytes = Uint8Array.from(atob(String(result.data)), (c) => c.charCodeAt(0));
    Deno.mkdirSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    Deno.writeFileSync(path, bytes);
  }
}
