/**
 * Grading packages (`deno task grade package <platform>`): the instructor's
 * tree (its checkers, hidden checks included, `lib/`, `cli/`, `labs.json`)
 * with the scripts each platform runs, checked before and after it is
 * written:
 *
 * - **Gradescope**: a zip with `setup.sh` and `run_autograder` at its root
 *   (Gradescope unpacks it into `/autograder/source`);
 * - **Autolab**: `autograde-Makefile` and `autograde.tar` (the tree under
 *   `mmap-lab/`), with a `Dockerfile` for the grading image;
 * - **PrairieLearn** (external grader): a zip to unpack at the root of the
 *   course repository: the tree in `serverFilesCourse/mmap-lab/`, one question
 *   per lab in `questions/mmap-lab/<lab>/`, a `Dockerfile` in
 *   `graders/mmap-lab/`.
 *
 * Deno is installed by `install-deno.sh`, which fetches only what is missing
 * (nothing when the pinned Deno is there; else the release zip with curl,
 * wget or python3; else npm when it is already installed; apt only for
 * curl and unzip as a last resort).
 *
 * @module
 */

import { type LabInfo, loadCatalog } from "../catalog.ts";
import type { ArchiveEntry } from "./archive.ts";

/** The platforms a package is made for. */
export type Platform = "gradescope" | "autolab" | "prairielearn";

/** The platforms, for usage messages. */
export const PLATFORMS: readonly Platform[] = ["gradescope", "autolab", "prairielearn"];

/** Options for {@link packageEntries}. */
export interface PackageOptions {
  /** The instructor's tree. */
  root: string;
  /** The platform. */
  platform: Platform;
  /** The labs the package grades (ids; default every lab). */
  labs?: string[];
  /** The Deno version to install (the pinned one). */
  denoVersion: string;
  /** Grading time budget in seconds (default 480 for Gradescope, 240 for Autolab, 540 for PrairieLearn). */
  budgetSeconds?: number;
  /**
   * Also ship `solutions/` and `tests/wrong/` so the self-test runs in the
   * platform's image (Gradescope: `setup.sh` runs it, then deletes them
   * before any submission is graded).
   */
  selftest?: boolean;
}

/** Thrown when a package cannot be made, or what was made lacks what it needs. */
export class PackageError extends Error {
  /** Every problem found. */
  readonly problems: string[];
  /**
   * A refusal with its problems.
   *
   * @example
   * ```ts
   * console.log(new PackageError(["no setup.sh"]).message); // "no setup.sh"
   * ```
   */
  constructor(problems: string[]) {
    super(problems.join("; "));
    this.name = "PackageError";
    this.problems = problems;
  }
}

const encoder = new TextEncoder();

function text(path: string, content: string, mode = 0o644): ArchiveEntry {
  return { path, data: encoder.encode(content), mode };
}

function isDir(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

function walk(root: string, rel: string, out: string[]): void {
  if (!isDir(`${root}/${rel}`)) return;
  for (const e of Deno.readDirSync(`${root}/${rel}`)) {
    if (e.name.startsWith(".")) continue;
    const child = `${rel}/${e.name}`;
    if (e.isDirectory) walk(root, child, out);
    else if (e.isFile) out.push(child);
  }
}

/** The shell-quoted `--lab` arguments for `labs` (none: every lab). */
function labArgs(labs: readonly string[] | undefined): string {
  return (labs ?? []).map((id) => ` --lab ${id}`).join("");
}

/**
 * The tree a package ships, as `prefix`-ed archive entries: `deno.json`
 * (with `resultsDir` added to the grader's writable folders), `deno.lock`,
 * `cli/`, `lib/`, `labs/` (every checker file, the hidden ones too), and
 * with `selftest` `solutions/` and `tests/wrong/`. Hidden files, `grades/`,
 * `submissions/`, `docs/`, the other tests are never shipped.
 */
export function treeEntries(
  root: string,
  options: { prefix?: string; resultsDir?: string; selftest?: boolean } = {},
): ArchiveEntry[] {
  const prefix = options.prefix ?? "";
  const files: string[] = [];
  for (const dir of ["cli", "lib", "labs"]) walk(root, dir, files);
  if (options.selftest) { for (const dir of ["solutions", "tests/wrong"]) walk(root, dir, files); }
  const entries: ArchiveEntry[] = [];
  const config = JSON.parse(Deno.readTextFileSync(`${root}/deno.json`));
  if (options.resultsDir) {
    const grade = config.permissions?.grade;
    if (!grade || !Array.isArray(grade.write)) {
      throw new PackageError(['deno.json has no "grade" permission set with a "write" list']);
    }
    if (!grade.write.includes(options.resultsDir)) grade.write.push(options.resultsDir);
  }
  entries.push(text(`${prefix}deno.json`, JSON.stringify(config, null, 2) + "\n"));
  try {
    entries.push({ path: `${prefix}deno.lock`, data: Deno.readFileSync(`${root}/deno.lock`) });
  } catch { /* no lock file */ }
  for (const file of files.sort()) {
    const info = Deno.statSync(`${root}/${file}`);
    entries.push({
      path: `${prefix}${file}`,
      data: Deno.readFileSync(`${root}/${file}`),
      mode: (info.mode ?? 0o644) & 0o111 ? 0o755 : 0o644,
    });
  }
  return entries;
}

/**
 * `install-deno.sh`: installs Deno `version` into /usr/local/bin (or
 * `$DENO_PREFIX/bin`), fetching only what is missing; checks that `prlimit`
 * and `setsid` (util-linux) are there.
 */
export function installDenoScript(version: string): string {
  return `#!/usr/bin/env bash
# Installs Deno ${version} (made by \`deno task grade package\`), fetching only what is missing:
# nothing when it is installed; else Deno's release zip with curl, wget or python3, unpacked with
# unzip or python3; else npm, when it is there already; apt-get only for curl and unzip, last.
set -euo pipefail
DENO_VERSION="\${DENO_VERSION:-${version}}"
PREFIX="\${DENO_PREFIX:-/usr/local}"
have() { command -v "$1" >/dev/null 2>&1; }

if have deno && deno --version 2>/dev/null | head -n 1 | grep -q "^deno \${DENO_VERSION} "; then
  echo "Deno \${DENO_VERSION} is installed: $(command -v deno)"
else
  case "$(uname -m)" in
    x86_64 | amd64) arch=x86_64 ;;
    aarch64 | arm64) arch=aarch64 ;;
    *) echo "mmap-lab: unsupported machine $(uname -m) (x86-64 and aarch64 only)" >&2; exit 1 ;;
  esac
  url="https://github.com/denoland/deno/releases/download/v\${DENO_VERSION}/deno-\${arch}-unknown-linux-gnu.zip"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  fetch() {
    if have curl; then curl -fsSL --retry 3 -o "$2" "$1"
    elif have wget; then wget -q -O "$2" "$1"
    elif have python3; then python3 -c 'import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])' "$1" "$2"
    else return 1; fi
  }
  unpack() {
    if have unzip; then unzip -q -o "$1" -d "$2"
    elif have python3; then python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$1" "$2"
    else return 1; fi
  }
  if fetch "$url" "$tmp/deno.zip" && unpack "$tmp/deno.zip" "$tmp"; then
    mkdir -p "$PREFIX/bin"
    install -m 0755 "$tmp/deno" "$PREFIX/bin/deno"
  elif have npm; then
    npm install -g "deno@\${DENO_VERSION}"
  elif have apt-get; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends curl unzip ca-certificates
    fetch "$url" "$tmp/deno.zip" && unpack "$tmp/deno.zip" "$tmp"
    mkdir -p "$PREFIX/bin"
    install -m 0755 "$tmp/deno" "$PREFIX/bin/deno"
  else
    echo "mmap-lab: cannot download Deno: no curl, wget, python3, npm or apt-get here" >&2
    exit 1
  fi
  export PATH="$PREFIX/bin:$PATH"
  deno --version | head -n 1
fi

# The children's resource limits and sessions: prlimit and setsid, from util-linux (an essential
# package on Debian and Ubuntu: normally there already).
if ! have prlimit || ! have setsid; then
  if have apt-get; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends util-linux
  else
    echo "mmap-lab: warning: no prlimit/setsid: the children run without their resource limits" >&2
  fi
fi
`;
}

function gradescopeSetup(selftest: boolean): string {
  return `#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image
# (made by \`deno task grade package gradescope\`).
set -euo pipefail
cd "$(dirname "$0")"
bash ./install-deno.sh
export PATH="/usr/local/bin:$PATH"
${
    selftest
      ? `
# The self-test, on this image: every reference solution must score full marks and every
# mistake must lose its points. Its verdict is in the build log; then the solutions and
# mistakes are deleted, before any submission is graded.
echo "== deno task grade selftest"
if deno task -q grade selftest --quiet; then
  echo "== self-test passed"
else
  echo "== SELF-TEST FAILED: read the verdicts above before grading students with this image"
fi
rm -rf solutions tests
`
      : ""
  }`;
}

function gradescopeRun(labs: readonly string[] | undefined, budget: number): string {
  return `#!/usr/bin/env bash
# Gradescope runs this once per submission (made by \`deno task grade package gradescope\`).
# It grades /autograder/submission and writes /autograder/results/results.json, whatever the
# submission does. MMAP_LAB_AUTOGRADER moves /autograder (to try the package elsewhere).
AUTOGRADER="\${MMAP_LAB_AUTOGRADER:-/autograder}"
cd "$AUTOGRADER/source" || exit 1
export PATH="/usr/local/bin:$PATH"
export MMAP_LAB_SUBMISSION="$AUTOGRADER/submission"
export MMAP_LAB_RESULTS="$AUTOGRADER/results/results.json"
mkdir -p "$AUTOGRADER/results"
# Keep --budget (seconds) under the assignment's autograder time limit.
exec deno task -q grade --gradescope --budget ${budget}${labArgs(labs)}
`;
}

function autolabMakefile(labs: readonly string[] | undefined, budget: number): string {
  return `# Autolab runs \`make\` in a folder holding this file (as Makefile), autograde.tar and the
# student's handin (made by \`deno task grade package autolab\`). The handin may be the lab
# file itself (hello.ts, ...) or a tar of the student's files or repository. The last line
# of the output is the scores JSON. The handin folder is passed as an absolute path: a relative
# one is taken from $INIT_CWD when the environment has it (deno task's rule), not from mmap-lab/.
all:
\t@rm -rf mmap-lab handin-files && mkdir handin-files
\t@for f in *; do case "$$f" in Makefile|autograde.tar|handin-files) ;; *.tar) tar xf "$$f" -C handin-files ;; *) cp -R "$$f" handin-files/ ;; esac; done
\t@tar xf autograde.tar
\t@handin="$$PWD/handin-files" && cd mmap-lab && PATH="/usr/local/bin:$$PATH" deno task -q grade --autolab "$$handin" --budget ${budget}${
    labArgs(labs)
  }
`;
}

function dockerfile(platform: string): string {
  return `# The grading image for ${platform} (made by \`deno task grade package\`): Deno and util-linux.
# Start from your course's usual ${platform} image if it has one; build and push it, and name it in
# the ${platform === "Autolab" ? "assessment's settings" : 'questions\' info.json ("image")'}.
FROM ubuntu:22.04
COPY install-deno.sh /tmp/install-deno.sh
RUN bash /tmp/install-deno.sh && rm /tmp/install-deno.sh
`;
}

function prairielearnRun(budget: number): string {
  return `#!/usr/bin/env bash
# PrairieLearn's external grader runs this (through each question's tests/run.sh) with the lab
# to grade (made by \`deno task grade package prairielearn\`). It grades /grade/student and
# writes /grade/results/results.json. MMAP_LAB_GRADE_ROOT moves /grade (to try it elsewhere).
GRADE="\${MMAP_LAB_GRADE_ROOT:-/grade}"
cd "$(dirname "$0")/.." || exit 1
export PATH="/usr/local/bin:$PATH"
export MMAP_LAB_SUBMISSION="$GRADE/student"
export MMAP_LAB_RESULTS="$GRADE/results/results.json"
mkdir -p "$GRADE/results"
exec deno task -q grade --prairielearn --budget ${budget} --lab "$1"
`;
}

/** A UUID that stays the same for the same lab (PrairieLearn keys questions by it). */
async function stableUuid(name: string): Promise<string> {
  const hash = new Uint8Array(
    await crypto.subtle.digest("SHA-256", encoder.encode(`mmap-lab question ${name}`)),
  );
  hash[6] = (hash[6] & 0x0f) | 0x50; // version 5-like: name-based
  hash[8] = (hash[8] & 0x3f) | 0x80;
  const hex = [...hash.slice(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20)
  }`;
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(
    /"/g,
    "&quot;",
  );
}

async function prairielearnQuestion(lab: LabInfo, budget: number): Promise<ArchiveEntry[]> {
  const base = `questions/mmap-lab/${lab.id}`;
  const info = {
    uuid: await stableUuid(lab.id),
    title: `mmap-lab ${lab.id.split("_")[0]}: ${lab.title}`,
    topic: "mmap-lab",
    tags: ["mmap-lab"],
    type: "v3",
    singleVariant: true,
    gradingMethod: "External",
    externalGradingOptions: {
      enabled: true,
      image: "REPLACE-WITH-YOUR-IMAGE/mmap-lab-grader",
      serverFilesCourse: ["mmap-lab/"],
      entrypoint: "/grade/tests/run.sh",
      timeout: budget + 60,
    },
  };
  const html = `<pl-question-panel>
  <p><strong>${escapeHtml(lab.title)}</strong>: ${escapeHtml(lab.goal)}</p>
  <p>Work in <code>labs/${lab.id}/${lab.file}</code> with <code>deno task lab</code>, then upload that file.</p>
</pl-question-panel>

<pl-file-upload file-names="${escapeHtml(lab.file)}"></pl-file-upload>

<pl-submission-panel>
  <pl-external-grader-results></pl-external-grader-results>
  <pl-file-preview></pl-file-preview>
</pl-submission-panel>
`;
  return [
    text(`${base}/info.json`, JSON.stringify(info, null, 2) + "\n"),
    text(`${base}/question.html`, html),
    text(
      `${base}/tests/run.sh`,
      `#!/usr/bin/env bash\n# Made by \`deno task grade package prairielearn\`: grades ${lab.id}.\nexec bash "\${MMAP_LAB_GRADE_ROOT:-/grade}/serverFilesCourse/mmap-lab/prairielearn/run" ${lab.id}\n`,
      0o755,
    ),
  ];
}

const README = {
  gradescope: (labs: string) =>
    `Upload this zip as the assignment's autograder ("Zip file upload"). It grades ${labs}.
Gradescope runs setup.sh once (it installs Deno, fetching only what is missing) and
run_autograder for each submission. Students submit their repository or their lab files.
`,
};

/**
 * The files of a package, by platform: for Gradescope and PrairieLearn the
 * entries of the zip, for Autolab the files of the output folder.
 *
 * @example
 * ```ts ignore
 * const entries = await packageEntries({ root, platform: "gradescope", labs: ["00_hello_mapping"], denoVersion: "2.9.6" });
 * ```
 */
export async function packageEntries(options: PackageOptions): Promise<ArchiveEntry[]> {
  const catalog = loadCatalog(options.root);
  const labs = options.labs?.length
    ? catalog.labs.filter((l) => options.labs!.includes(l.id))
    : catalog.labs;
  const labIds = options.labs?.length ? labs.map((l) => l.id) : undefined;
  const which = labIds ? labIds.join(", ") : "every lab";
  const install = text("install-deno.sh", installDenoScript(options.denoVersion), 0o755);
  switch (options.platform) {
    case "gradescope": {
      const budget = options.budgetSeconds ?? 480;
      return [
        text("setup.sh", gradescopeSetup(options.selftest ?? false), 0o755),
        text("run_autograder", gradescopeRun(labIds, budget), 0o755),
        install,
        text("README-mmap-lab.txt", README.gradescope(which)),
        ...treeEntries(options.root, { resultsDir: "../results", selftest: options.selftest }),
      ];
    }
    case "autolab": {
      const budget = options.budgetSeconds ?? 240;
      const { makeTar } = await import("./archive.ts");
      const tree = treeEntries(options.root, { prefix: "mmap-lab/", selftest: options.selftest });
      return [
        text("autograde-Makefile", autolabMakefile(labIds, budget)),
        { path: "autograde.tar", data: makeTar(tree) },
        install,
        text("Dockerfile", dockerfile("Autolab")),
        text(
          "README.txt",
          `Autolab (made by \`deno task grade package autolab\`): grades ${which}.
Upload autograde-Makefile and autograde.tar as the assessment's autograder files, name its
problems after the labs (${labs.map((l) => l.id).join(", ")}), and give it an image with Deno
${options.denoVersion} and util-linux (Dockerfile and install-deno.sh here). The handin is the
lab file itself or a tar of the student's files; the last line of the output is the scores JSON.
Each lab's score counts its visible checks only (Autolab shows every score to the student once
released): give each problem its lab's visible points, and grade hidden checks after the deadline
with \`deno task grade\` over the downloaded handins.
`,
        ),
      ];
    }
    case "prairielearn": {
      const budget = options.budgetSeconds ?? 540;
      const tree = treeEntries(options.root, {
        prefix: "serverFilesCourse/mmap-lab/",
        resultsDir: "../../results",
        selftest: options.selftest,
      });
      const questions = (await Promise.all(labs.map((l) => prairielearnQuestion(l, budget))))
        .flat();
      return [
        text("serverFilesCourse/mmap-lab/prairielearn/run", prairielearnRun(budget), 0o755),
        ...tree,
        ...questions,
        { ...install, path: "graders/mmap-lab/install-deno.sh" },
        text("graders/mmap-lab/Dockerfile", dockerfile("PrairieLearn")),
        text(
          "graders/mmap-lab/README.txt",
          `PrairieLearn (made by \`deno task grade package prairielearn\`): unzip at the root of the
course repository. serverFilesCourse/mmap-lab/ is the grader, questions/mmap-lab/ one question
per lab (${which}). Build the image in this folder (docker build -t <you>/mmap-lab-grader .),
push it, and put its name in each question's info.json ("image").
`,
        ),
      ];
    }
  }
}

/** What every package must hold from the tree, under its prefix. */
function requiredTree(labs: readonly LabInfo[]): string[] {
  return [
    "deno.json",
    "cli/grade.ts",
    "cli/require_deno.ts",
    "lib/catalog.ts",
    "lib/checker/run.ts",
    "lib/checker/harness.ts",
    "lib/grader/batch.ts",
    "labs/labs.json",
    ...labs.flatMap((l) => [`labs/${l.id}/${l.file}`, `labs/${l.id}/checker/check.ts`]),
  ];
}

/**
 * What a package lacks, or holds that it must not: the platform's scripts
 * (executable), the grader, every graded lab's stub and checker; no
 * solutions or mistakes unless `selftest`, no grades or submissions.
 * Empty when it is complete.
 *
 * @example
 * ```ts ignore
 * const problems = verifyPackage("gradescope", readZip(Deno.readFileSync("autograder.zip")), labs, false);
 * ```
 */
export function verifyPackage(
  platform: Platform,
  files: readonly { path: string; mode?: number }[],
  labs: readonly LabInfo[],
  selftest: boolean,
): string[] {
  const byPath = new Map(files.map((f) => [f.path, f]));
  const problems: string[] = [];
  const need = (path: string, executable = false) => {
    const f = byPath.get(path);
    if (!f) problems.push(`it has no ${path}`);
    else if (executable && !((f.mode ?? 0) & 0o100)) problems.push(`${path} is not executable`);
  };
  const prefix = platform === "autolab"
    ? "mmap-lab/"
    : platform === "prairielearn"
    ? "serverFilesCourse/mmap-lab/"
    : "";
  if (platform === "gradescope") {
    need("setup.sh", true);
    need("run_autograder", true);
    need("install-deno.sh", true);
  } else if (platform === "prairielearn") {
    need(`${prefix}prairielearn/run`, true);
    need("graders/mmap-lab/Dockerfile");
    for (const lab of labs) {
      need(`questions/mmap-lab/${lab.id}/info.json`);
      need(`questions/mmap-lab/${lab.id}/question.html`);
      need(`questions/mmap-lab/${lab.id}/tests/run.sh`, true);
    }
  }
  for (const path of requiredTree(labs)) need(`${prefix}${path}`);
  for (const path of byPath.keys()) {
    const rel = path.startsWith(prefix) ? path.slice(prefix.length) : path;
    if (/^(grades|submissions|\.mmap-lab|\.git)\//.test(rel) || /(^|\/)\.mmap-lab\//.test(rel)) {
      problems.push(`it must not hold ${path}`);
    }
    if (!selftest && (/^solutions\//.test(rel) || /\.mistake$/.test(rel))) {
      problems.push(`it holds ${path}: a solution or mistake, readable by a submission's code`);
    }
  }
  return problems;
}
