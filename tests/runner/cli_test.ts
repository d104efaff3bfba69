/**
 * `deno task lab` as a student uses it, in a pipe, in a throw-away copy of
 * the project (so reset and state never touch the real tree).
 */

import assert from "node:assert/strict";
import { lab, makeProject } from "../helpers/project.ts";

const STUDENT = "labs/00_hello_mapping/hello.ts";
const SOLUTION = "solutions/00_hello_mapping/hello.ts";

Deno.test("the runner works in a pipe: no escape codes, exit codes for scripts, every subcommand", async (t) => {
  const dir = makeProject();
  try {
    await t.step("no command in a pipe checks the current lab once", async () => {
      const r = await lab(dir);
      assert.equal(r.code, 1);
      assert.match(r.out, /watch mode needs a terminal/);
      assert.match(r.out, /00_hello_mapping: 1 of 3 checks passed/);
      assert.match(r.out, /stuck\? hints: deno task lab hint 00/);
      assert.doesNotMatch(r.out, /^\s+hint: /m, "a check's hint only once the student asks");
      // (No Deno warning about config permissions: the task runs deno with -q.)
      assert.ok(!r.stdout.includes("\x1b["), r.stdout);
    });
    await t.step(
      "doctor prints the measured profile, each fact with its meaning, and keeps it",
      async () => {
        const r = await lab(dir, "doctor");
        const profile = JSON.parse(Deno.readTextFileSync(`${dir}/.mmap-lab/kernel-profile.json`));
        const blocking = !profile.scratch.msyncCleans;
        assert.equal(r.code, blocking ? 1 : 0, r.out);
        assert.match(r.out, new RegExp(`Linux ${profile.release.replaceAll(".", "\\.")}`));
        for (
          const fact of ["page size", "reading fresh private anonymous memory", "fault-around"]
        ) {
          assert.match(r.out, new RegExp(`^[✓≠] ${fact}`, "m"));
        }
        assert.match(
          r.out,
          profile.zeroPage ? /maps the shared zero page/ : /allocates a zeroed page of the process/,
        );
        assert.match(r.out, blocking ? /lab 05 cannot run here/ : /Every lab can run here/);
        assert.match(r.out, /(saved|kept) in\s+\.mmap-lab\/kernel-profile\.json/);
        assert.ok(!r.stdout.includes("\x1b["), r.stdout);
        const again = await lab(dir, "doctor");
        assert.match(again.out, /kept in\s+\.mmap-lab\/kernel-profile\.json/);
        assert.ok(again.out.includes(profile.measuredAt), "the second run reads the kept profile");
      },
    );
    await t.step("watch <lab> in a pipe checks that lab once", async () => {
      const r = await lab(dir, "watch", "hello_mapping");
      assert.equal(r.code, 1);
      assert.match(r.out, /current lab: 00_hello_mapping/);
      assert.match(r.out, /watch mode needs a terminal/);
    });
    await t.step(
      "list: a lab never touched is not started, and the course total is known",
      async () => {
        const r = await lab(dir, "list");
        assert.equal(r.code, 0);
        // The stub passes "runs" (1 point) by doing nothing: that is not progress.
        assert.match(r.out, /00_hello_mapping\s+not started\s+Hello/);
        assert.match(r.out, /0\/1 labs passed · 0 of 5 points/);
      },
    );
    await t.step("what the student's code prints is shown, labelled per check", async () => {
      const original = Deno.readTextFileSync(`${dir}/${STUDENT}`);
      Deno.writeTextFileSync(
        `${dir}/${STUDENT}`,
        original.replace(
          /(export function writeMessage\([^)]*\)[^{]*\{)/,
          '$1\n  console.log("DEBUG from writeMessage");\n  console.error("warned");',
        ),
      );
      const r = await lab(dir, "check");
      assert.equal(r.code, 1);
      assert.match(
        r.out,
        /✓ runs .*\n\s+your code printed \(stdout\):\n\s+\| DEBUG from writeMessage/,
      );
      assert.match(r.out, /your code printed \(stderr\):\n\s+\| warned/);
      const list = await lab(dir, "list");
      assert.match(list.out, /00_hello_mapping\s+in progress\s+1\/5/);
      Deno.writeTextFileSync(`${dir}/${STUDENT}`, original);
    });
    await t.step(
      "a type error comes first, with its line; no logic diagnosis meanwhile",
      async () => {
        const original = Deno.readTextFileSync(`${dir}/${STUDENT}`);
        Deno.writeTextFileSync(
          `${dir}/${STUDENT}`,
          original + '\nexport const wrong: number = "text";\n',
        );
        const line = original.split("\n").length + 1;
        const r = await lab(dir, "check", "0");
        assert.equal(r.code, 1);
        assert.match(
          r.out,
          new RegExp(`labs/00_hello_mapping/hello\\.ts:${line}:14  TS2322: Type 'string'`),
        );
        assert.doesNotMatch(r.out, /likely mistake|expected:/);
        assert.match(r.out, /held back: your file has a type error/);
        Deno.writeTextFileSync(`${dir}/${STUDENT}`, original);
      },
    );
    await t.step("a missing file says so, and how to get the stub back", async () => {
      Deno.renameSync(`${dir}/${STUDENT}`, `${dir}/${STUDENT}.moved`);
      const r = await lab(dir, "check", "0");
      assert.equal(r.code, 1);
      assert.match(
        r.out,
        /hello\.ts is missing \(deleted or renamed\?\)\. `deno task lab reset 0` restores/,
      );
      assert.doesNotMatch(r.out, /Module not found/);
      assert.match((await lab(dir, "list")).out, /00_hello_mapping\s+missing/);
      Deno.renameSync(`${dir}/${STUDENT}.moved`, `${dir}/${STUDENT}`);
    });
    await t.step("hint shows one more hint each time (of the current lab by default)", async () => {
      const first = await lab(dir, "hint");
      assert.match(first.out, /1\. /);
      assert.doesNotMatch(first.out, /2\. /);
      const second = await lab(dir, "hint", "0");
      assert.match(second.out, /2\. /);
    });
    await t.step("once the student asked for a hint, failed checks show theirs", async () => {
      const r = await lab(dir, "check", "0");
      assert.equal(r.code, 1);
      assert.match(r.out, /^\s+hint: /m);
      assert.doesNotMatch(r.out, /stuck\?/);
    });
    await t.step("solution is withheld until the lab passes", async () => {
      const r = await lab(dir, "solution", "0");
      assert.equal(r.code, 1);
      assert.match(r.out, /does not pass yet/);
      const forced = await lab(dir, "solution", "0", "--force");
      assert.equal(forced.code, 0);
      assert.match(forced.out, /using mapping = mapFile/);
    });
    await t.step("check exits 0 once the student's file is right", async () => {
      Deno.copyFileSync(`${dir}/${SOLUTION}`, `${dir}/${STUDENT}`);
      const r = await lab(dir, "check", "0");
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /3 of 3 checks passed, 5\/5 points/);
    });
    await t.step("list marks a passed lab whose file changed since as edited", async () => {
      const passed = await lab(dir, "list");
      assert.match(passed.out, /00_hello_mapping\s+passed\s+5\/5/);
      const original = Deno.readTextFileSync(`${dir}/${STUDENT}`);
      Deno.writeTextFileSync(`${dir}/${STUDENT}`, original + "\n");
      const edited = await lab(dir, "list");
      assert.match(edited.out, /00_hello_mapping\s+edited\s+5\/5/);
      assert.match(edited.out, /0\/1 labs passed/);
      Deno.writeTextFileSync(`${dir}/${STUDENT}`, original);
      assert.match((await lab(dir, "list")).out, /00_hello_mapping\s+passed/);
    });
    await t.step("trace shows the calls by name (of the current lab by default)", async () => {
      const r = await lab(dir, "trace");
      assert.match(r.out, /mmap\(NULL, \d+, PROT_READ\|PROT_WRITE, MAP_SHARED, \d+, 0\) = 0x/);
      assert.match(r.out, /munmap\(0x[0-9a-f]+, \d+\) = 0/);
    });
    await t.step("reset refuses without --yes in a pipe, then restores with a backup", async () => {
      const refused = await lab(dir, "reset", "0");
      assert.equal(refused.code, 2);
      assert.match(refused.out, /--yes/);
      const r = await lab(dir, "reset", "0", "--yes");
      assert.equal(r.code, 0, r.out);
      const restored = Deno.readTextFileSync(`${dir}/${STUDENT}`);
      assert.match(restored, /\/\/ TODO/);
      const backups = [...Deno.readDirSync(`${dir}/.mmap-lab/backups/00_hello_mapping`)];
      assert.equal(backups.length, 1);
      const saved = Deno.readTextFileSync(
        `${dir}/.mmap-lab/backups/00_hello_mapping/${backups[0].name}`,
      );
      assert.equal(saved, Deno.readTextFileSync(`${dir}/${SOLUTION}`));
    });
    await t.step("show explains when a lab has no picture", async () => {
      const r = await lab(dir, "show", "0");
      assert.equal(r.code, 1);
      assert.match(r.out, /has no picture/);
    });
    await t.step("--help works on every subcommand; unknown commands fail", async () => {
      for (
        const command of [
          "watch",
          "list",
          "check",
          "hint",
          "reset",
          "solution",
          "trace",
          "show",
          "web",
        ]
      ) {
        const r = await lab(dir, command, "--help");
        assert.equal(r.code, 0);
        assert.match(r.out, new RegExp(`Usage: deno task lab ${command}`));
      }
      const bad = await lab(dir, "frobnicate");
      assert.equal(bad.code, 2);
      assert.match(bad.out, /unknown command/);
      const option = await lab(dir, "check", "--frobnicate");
      assert.equal(option.code, 2);
      assert.match(
        option.out,
        /^error: unknown option --frobnicate \(deno task lab check --help lists/,
      );
      assert.doesNotMatch(option.out, /positional argument/, "our words, not parseArgs'");
      const misplaced = await lab(dir, "hint", "--verify");
      assert.match(misplaced.out, /unknown option --verify/);
      const noLab = await lab(dir, "hint", "42");
      assert.equal(noLab.code, 2);
      assert.match(noLab.out, /no lab named "42"/);
    });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
