/**
 * `procStat`: the named fields of `/proc/PID/stat`, for this process and for
 * a child whose command name has spaces and parentheses in it.
 */

import assert from "node:assert/strict";
import { faultCounts, processState, procStat } from "../../lib/mod.ts";
import { useScratch } from "../helpers/scratch.ts";

Deno.test("procStat names this process's fields", () => {
  const stat = procStat(Deno.pid);
  assert.equal(stat.pid, Deno.pid);
  assert.match(stat.state, /^[RS]$/);
  assert.ok(stat.ppid > 0);
  // 0 when the group or session leader lives outside this PID namespace
  // (a container started by a runtime that does not call setsid).
  assert.ok(Number.isInteger(stat.processGroup) && stat.processGroup >= 0);
  assert.ok(Number.isInteger(stat.session) && stat.session >= 0);
  assert.ok(stat.minorFaults > 0);
  assert.ok(stat.userTicks + stat.systemTicks >= 0);
  assert.equal(procStat("self").session, stat.session);
  assert.ok(faultCounts(Deno.pid).minor >= stat.minorFaults);
  assert.match(processState(Deno.pid)?.state ?? "", /^[RS]$/);
});

Deno.test("procStat reads past a command name with spaces and parentheses", async () => {
  using scratch = useScratch("procstat");
  const odd = scratch.file("a) b (c");
  Deno.copyFileSync("/bin/sleep", odd);
  Deno.chmodSync(odd, 0o755);
  const child = new Deno.Command(odd, { args: ["30"], stdout: "null", stderr: "null" }).spawn();
  try {
    let stat = procStat(child.pid);
    for (let i = 0; i < 100 && stat.command !== "a) b (c"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10)); // still execing
      stat = procStat(child.pid);
    }
    assert.equal(stat.command, "a) b (c");
    assert.equal(stat.pid, child.pid);
    assert.equal(stat.ppid, Deno.pid);
    assert.match(stat.state, /^[RSD]$/);
    assert.equal(stat.session, procStat(Deno.pid).session);
    assert.equal(stat.processGroup, procStat(Deno.pid).processGroup);
  } finally {
    child.kill("SIGKILL");
    await child.status;
  }
  assert.throws(() => procStat(child.pid));
  assert.equal(processState(child.pid), undefined);
});
