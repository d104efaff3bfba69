/**
 * `deno task lab show 03`: your draft's pages at each step, as pagemap and
 * smaps show them: absent, the file's page-cache page (▒), your own copy (█).
 */
import {
  defineDrive,
  type Frame,
  type Mapping,
  snapshot,
  studentExport,
  sys,
} from "../../../lib/checker/mod.ts";

export default defineDrive((ctx) => {
  const openDraft = studentExport<(path: string) => Mapping>(ctx, "openDraft");
  const edit = studentExport<(draft: Mapping, offset: number, text: string) => void>(ctx, "edit");
  const revertPage = studentExport<(draft: Mapping, page: number) => void>(ctx, "revertPage");

  const pageCount = 16;
  const path = `${ctx.scratch}/show.txt`;
  const line = "the quick brown fox jumps over the lazy dog, again and again....\n";
  {
    using file = Deno.openSync(path, { write: true, create: true, truncate: true });
    file.writeSync(
      new TextEncoder().encode(line.repeat((pageCount * sys.pageSize()) / line.length)),
    );
    file.syncSync(); // on disk now: the page cache holds clean pages, so smaps can tell them apart
  }

  const frames: Frame[] = [];
  const draft = openDraft(path);
  const ps = draft.pageSize;
  frames.push(snapshot(`openDraft: ${draft.pageCount} pages mapped, none touched yet`, draft, ctx));

  let sum = 0;
  for (let at = 0; at < draft.length; at += ps) sum += draft.bytes[at];
  void sum;
  frames.push(snapshot("after reading every page: each is the file's page-cache page", draft, ctx));

  const edited = [2, 5, 6, 11].filter((p) => p < draft.pageCount);
  for (const p of edited) edit(draft, p * ps + 100, `EDITED PAGE ${p}`);
  frames.push(
    snapshot(
      `after edit() on pages ${edited.join(", ")}: each got its own copy (Anonymous grows)`,
      draft,
      ctx,
    ),
  );

  const revert = edited[1];
  revertPage(draft, revert);
  frames.push(snapshot(`after revertPage(draft, ${revert}): the copy is gone`, draft, ctx));

  sum += draft.bytes[revert * ps];
  frames.push(
    snapshot(`after reading page ${revert} again: the file's page once more`, draft, ctx),
  );

  draft.unmap();
  return { frames };
});
