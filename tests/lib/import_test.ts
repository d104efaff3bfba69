/** Importing the library is free: permissions are needed at first use, not at import. */

import assert from "node:assert/strict";
import { toFileUrl } from "../../lib/paths.ts";
import { useScratch } from "../helpers/scratch.ts";

Deno.test("lib/mod.ts imports without any permission; the first call asks for --allow-ffi", async () => {
  using scratch = useScratch("import");
  const script = `${scratch.dir}/import.ts`;
  const mod = toFileUrl(new URL("../../lib/mod.ts", import.meta.url).pathname);
  Deno.writeTextFileSync(
    script,
    `import { mapAnonymous } from "${mod}";\nconsole.log("imported");\nmapAnonymous(4096);\n`,
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-config", "--no-prompt", `--allow-read=${scratch.dir}`, script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(new TextDecoder().decode(out.stdout), "imported\n");
  assert.equal(out.success, false);
  assert.match(new TextDecoder().decode(out.stderr), /Requires ffi access/);
});
