/**
 * The server of `deno task lab web`, in this process: it runs the lab when
 * there is no record, pushes an event when a run writes one, answers only
 * requests naming its own address, and runs again only for its own page.
 */

import assert from "node:assert/strict";
import { serveLab } from "../../cli/web/server.ts";
import { buildRunRecord, saveRunRecord } from "../../cli/web/run_data.ts";
import { loadCatalog, PROJECT_ROOT } from "../../lib/catalog.ts";
import { kernelProfile } from "../../lib/profile.ts";

/** Reads server-sent events from a response body, one `{ event, data }` at a time. */
async function* events(body: ReadableStream<Uint8Array>) {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of body) {
    pending += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = pending.indexOf("\n\n")) >= 0) {
      const block = pending.slice(0, end);
      pending = pending.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event) yield { event, data: data ? JSON.parse(data) : undefined };
    }
  }
}

/** A GET request written by hand, with the Host header given; returns the response's head. */
async function rawGet(port: number, path: string, host: string): Promise<string> {
  using conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const request = `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;
  await conn.write(new TextEncoder().encode(request));
  const buf = new Uint8Array(4096);
  let text = "";
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    text += new TextDecoder().decode(buf.subarray(0, n));
    if (text.includes("\r\n\r\n")) break;
  }
  return text;
}

Deno.test("lab web's server: a run when there is none, an event per new record, its own page only", async (t) => {
  const root = Deno.makeTempDirSync({ dir: `${PROJECT_ROOT}/.mmap-lab`, prefix: "web-server-" });
  const catalog = { ...loadCatalog(PROJECT_ROOT), root };
  const lab = catalog.labs.find((l) => l.id === "03_private_cow")!;
  const profile = kernelProfile(PROJECT_ROOT);
  let runs = 0;
  const stop = new AbortController();
  const server = serveLab({
    root,
    lab,
    withPicture: ["03_private_cow"],
    port: 0,
    // A stand-in for the runner's check: each run records a new record.
    run: async () => {
      runs++;
      await new Promise((resolve) => setTimeout(resolve, 20));
      saveRunRecord(root, buildRunRecord(catalog, lab, {}, profile));
    },
    signal: stop.signal,
  });
  try {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const stream = await fetch(`${server.url}events`);
    assert.equal(stream.headers.get("content-type"), "text/event-stream");
    const feed = events(stream.body!);

    await t.step(
      "no record yet: it runs the lab once, and says so when the record lands",
      async () => {
        await server.idle();
        assert.equal(runs, 1);
        for (;;) {
          const { value } = await feed.next();
          if (value?.event === "run") {
            assert.match(value.data.recordedAt, /^\d{4}-\d\d-\d\dT/);
            break;
          }
        }
        const json = await (await fetch(`${server.url}run.json`)).json();
        assert.equal(json.record.lab.id, lab.id);
        assert.equal(json.stale, false);
      },
    );

    await t.step("the page: one HTML file that may load nothing from elsewhere", async () => {
      const page = await fetch(server.url);
      assert.equal(page.status, 200);
      assert.match(page.headers.get("content-security-policy") ?? "", /default-src 'none'/);
      const html = await page.text();
      assert.match(html, /^<!doctype html>/);
      assert.doesNotMatch(html, /<link|src=["']?https?:|url\(https?:/i);
    });

    await t.step(
      "another host name (DNS rebinding) and another site's request are refused",
      async () => {
        // (fetch sends the URL's host whatever it is told: the request is written by hand.)
        const port = Number(new URL(server.url).port);
        assert.match(await rawGet(port, "/run.json", "evil.example"), /^HTTP\/1\.1 421 /);
        assert.match(await rawGet(port, "/run.json", `localhost:${port}`), /^HTTP\/1\.1 200 /);
        const forged = await fetch(`${server.url}run`, { method: "POST" });
        assert.equal(forged.status, 403);
        await forged.body?.cancel();
        const foreign = await fetch(`${server.url}run`, {
          method: "POST",
          headers: { "x-mmap-lab": "run", origin: "http://evil.example" },
        });
        assert.equal(foreign.status, 403);
        await foreign.body?.cancel();
        assert.equal(runs, 1, "no run for them");
      },
    );

    await t.step("Run again from the page: a run, and its event", async () => {
      const again = await fetch(`${server.url}run`, {
        method: "POST",
        headers: { "x-mmap-lab": "run", origin: server.url.replace(/\/$/, "") },
      });
      assert.equal(again.status, 202);
      const seen: string[] = [];
      for (;;) {
        const { value } = await feed.next();
        if (!value) break;
        seen.push(value.event);
        if (value.event === "run") break;
      }
      assert.ok(seen.includes("running"), `running announced: ${seen}`);
      await server.idle();
      assert.equal(runs, 2);
    });
    await stream.body?.cancel().catch(() => {});
  } finally {
    stop.abort();
    await server.finished;
    Deno.removeSync(root, { recursive: true });
  }
});
