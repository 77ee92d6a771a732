// Gists: several files per snippet, revisions pushed live to every open
// page, diffs between revisions, forks, Markdown, embeds on other sites,
// narrow screens, and the form of files without JavaScript.
//
// DOM contract (in addition to helpers.mjs):
//   /s/{id}            .snippet-head: .revision ("revision N"), .count ("3 files"),
//                      .state-label ("Highlighting main.rs… 40%"), button#fork in
//                      form.fork-form, a#edit (owner). After a revision pushed live:
//                      p.updated ("Updated just now: revision N, k lines changed",
//                      a[href="/s/{id}/diff/{old}/{N}"]), article#snippet[data-revision=N],
//                      changed lines: .code-scroll > .changed-mark and .gutter a.changed.
//                      Markdown: .view-switch > input.show-rendered / input.show-source,
//                      .rendered (sanitised; fenced code as pre.hl).
//                      aside.about: .forked-from, .revisions li[data-revision], .embed-code input
//   /s/{id}/edit       form#edit-form: fieldset.file-fields (prefilled), input[name=base_revision],
//                      button#add-file, button#save; refused stale save: .form-error + .conflict
//   /s/{id}/diff/a/b   section.diff-file[data-change=modified|renamed|added|removed][data-name]
//                      > table.diff tr.added / tr.removed / tr.context
//   /s/{id}/embed      <html data-snippet data-revision data-state>, #embed section.file
//   /s/{id}/embed.js   inserts that frame; every embed of a page shares one
//                      /api/events?announce=false&snippets=... stream

import { test, expect } from '@playwright/test';
import http from 'node:http';
import {
  HIGHLIGHT_TIMEOUT,
  collectErrors,
  expectNoReload,
  expectOneOpenEventSource,
  expectSameText,
  fileAnchor,
  fileSection,
  fillFile,
  highlightedText,
  isSnippetUrl,
  markNoReload,
  normalizeNewlines,
  recordEventSources,
  saveRevisionViaApi,
  snippetIdFromUrl,
  submitViaApi,
  uniqueTag,
  waitHydrated,
  waitSucceeded,
  waitSucceededViaApi,
  wakeWorkers,
} from './helpers.mjs';

const WEB_ONLY = process.env.E2E_WEB_ONLY_BASE_URL;
/** How long a page may take to hear of a revision and show it. */
const LIVE_TIMEOUT = 30_000;

/**
 * Init script: records every text the snippet page's state label shows
 * (window.__labels), however briefly. Each pushed event is its own task,
 * so each label it causes is seen before the next event arrives.
 */
function recordStateLabels() {
  window.__labels = [];
  const record = () => {
    const text = document.querySelector('article#snippet .state-label')?.textContent?.trim();
    if (text && window.__labels[window.__labels.length - 1] !== text) window.__labels.push(text);
  };
  new MutationObserver(record).observe(document, { subtree: true, childList: true, characterData: true });
}

/** The code of a snippet's files as the JSON API returns them: [{ name, language, code }]. */
async function filesViaApi(request, id) {
  const response = await request.get(`/api/snippets/${id}`);
  expect(response.status()).toBe(200);
  const view = await response.json();
  return view.files.map(({ name, language, code }) => ({ name, language, code }));
}

/** Event streams open on the main node, as /metrics counts them. */
async function openStreams(request) {
  const response = await request.get('/metrics');
  expect(response.status(), '/metrics answers this machine').toBe(200);
  const line = (await response.text()).split('\n').find((l) => l.startsWith('highlighter_event_streams_open '));
  expect(line, 'the open-streams gauge').toBeTruthy();
  return Number(line.split(' ')[1]);
}

// Three files of a gist, and what the owner makes of them in revision 2.
function gistFiles(tag) {
  const main = [
    `// ${tag}`,
    'fn main() {',
    '    let total = add(2, 3);',
    '    println!("{total}");',
    '}',
    '',
    'fn add(a: u32, b: u32) -> u32 {',
    '    a + b',
    '}',
    '',
  ].join('\n');
  const util = ['def greet(name):', '    """Says hello."""', '    return f"Hello, {name}!"', ''].join('\n');
  const lib = ['export function double(x) {', '  return x * 2;', '}', ''].join('\n');
  // Revision 2: main.rs edited (line 3 changed, a line added after line 4),
  // util.py renamed to helpers.py with the same content, lib.js untouched.
  const mainEdited = main
    .replace('    let total = add(2, 3);', '    let total = add(40, 2);')
    .replace('    println!("{total}");', '    println!("{total}");\n    println!("done");');
  return { main, util, lib, mainEdited };
}

test('(g1) three files through the form, per-file progress; the owner edits and renames, and a visitor\'s page switches to revision 2 live', async ({
  browser,
  request,
}) => {
  const owner = await browser.newContext();
  const visitor = await browser.newContext();
  try {
    await owner.addInitScript(recordStateLabels);
    await owner.addInitScript(recordEventSources);
    const page = await owner.newPage();
    const { main, util, lib, mainEdited } = gistFiles(uniqueTag('gist'));

    // The owner posts three files through the form, on the node without
    // workers: the snippet waits in the queue until the page below is
    // open, so its progress is seen, not raced. (The owner cookie is
    // the same on both nodes: cookies ignore ports, and they share a
    // database.)
    await page.goto(`${WEB_ONLY}/`);
    await waitHydrated(page);
    const form = page.locator('form#paste-form');
    await fillFile(form, 0, { name: 'main.rs', code: main });
    await markNoReload(page);
    await form.locator('button#add-file').click();
    await expect(form.locator('fieldset.file-fields')).toHaveCount(2);
    await expect(form.locator('button.remove-file')).toHaveCount(2);
    await fillFile(form, 1, { name: 'util.py', code: util });
    await form.locator('button#add-file').click();
    await expect(form.locator('fieldset.file-fields')).toHaveCount(3);
    await fillFile(form, 2, { name: 'lib.js', code: lib });
    // "Add file" worked in place: what was typed is all there.
    await expect(form.locator('textarea#code-0')).toHaveValue(main);
    await expectNoReload(page, 'the paste form');
    await form.locator('button#submit').click();
    await page.waitForURL(isSnippetUrl);
    const id = snippetIdFromUrl(page.url());

    await page.goto(`/s/${id}`);
    await waitHydrated(page);
    const article = page.locator('article#snippet');
    await expect(article).toHaveAttribute('data-owner', 'true');
    await expect(article).toHaveAttribute('data-state', 'queued');
    await expect(page.locator('.snippet-head .count')).toHaveText('3 files');
    await expect(page.locator('#files > section.file')).toHaveCount(3);
    await expect(page.locator('#files > section.file[data-highlighted="false"] pre.source')).toHaveCount(3);
    // Listening before the job starts: progress is pushed, never replayed.
    await expectOneOpenEventSource(page, new RegExp(`/api/snippets/${id}/events\\?`), 'the owner\'s page');

    await wakeWorkers(request);
    await waitSucceeded(page);
    await expect(page.locator('#files > section.file[data-highlighted="true"]')).toHaveCount(3);
    // The state label named the file being highlighted, then the result.
    const labels = await page.evaluate(() => window.__labels);
    expect(labels, 'state labels seen on the owner\'s page').toContainEqual(
      expect.stringMatching(/^Highlighting (main\.rs|util\.py|lib\.js)… \d+%$/),
    );
    await expect(page.locator('.snippet-head .state-label')).toHaveText(/^Highlighted in \d+ ms$/);
    expect(await page.locator('#files > section.file').evaluateAll((s) => s.map((e) => e.id))).toEqual([
      'file-main-rs',
      'file-util-py',
      'file-lib-js',
    ]);
    await expect(page.locator('.snippet-head a#download')).toHaveText('Download all');
    await expect(page.locator('.snippet-head a#raw')).toHaveCount(0);
    await expect(fileSection(page, 'util.py').locator('a.raw')).toHaveAttribute('href', `/s/${id}/raw/util.py`);

    // A visitor opens the page.
    const other = await visitor.newPage();
    await other.goto(`/s/${id}`);
    await waitHydrated(other);
    await waitSucceeded(other);
    await expect(other.locator('article#snippet')).toHaveAttribute('data-owner', 'false');
    await expect(other.locator('article#snippet')).toHaveAttribute('data-revision', '1');
    await expect(other.locator('a#edit')).toHaveCount(0);
    await expect(other.locator('article#snippet .updated')).toHaveCount(0);
    await markNoReload(other);

    // The owner edits main.rs and renames util.py on the edit page.
    await page.locator('.snippet-head a#edit').click();
    await expect(page).toHaveURL(new RegExp(`/s/${id}/edit$`));
    const edit = page.locator('form#edit-form');
    await expect(edit.locator('fieldset.file-fields')).toHaveCount(3);
    await expect(edit.locator('input[name="base_revision"]')).toHaveValue('1');
    await expect(edit.locator('input#name-0')).toHaveValue('main.rs');
    await expect(edit.locator('input#name-1')).toHaveValue('util.py');
    await expect(edit.locator('input#name-2')).toHaveValue('lib.js');
    expect(normalizeNewlines(await edit.locator('textarea#code-0').inputValue())).toBe(main);
    await fillFile(edit, 0, { code: mainEdited });
    await fillFile(edit, 1, { name: 'helpers.py' });
    const errors = collectErrors(page);
    await edit.locator('button#save').click();
    await page.waitForURL((url) => url.pathname === `/s/${id}`).catch((e) => {
      throw new Error(`saving the edit form did not lead back to the snippet; page errors: ${JSON.stringify(errors)}\n${e.message}`);
    });
    await expect(page.locator('article#snippet')).toHaveAttribute('data-revision', '2');

    // The visitor's page switches to revision 2 by itself, without a reload.
    const otherArticle = other.locator('article#snippet');
    await expect(otherArticle).toHaveAttribute('data-revision', '2', { timeout: LIVE_TIMEOUT });
    const updated = other.locator('article#snippet p.updated');
    await expect(updated).toHaveText(/^Updated just now: revision 2, \d+ lines? changed$/);
    await expect(updated.locator('a')).toHaveAttribute('href', `/s/${id}/diff/1/2`);
    await expect(other.locator('.snippet-head .revision')).toHaveText('revision 2');
    await expect(other.locator('.snippet-head .count')).toHaveText('3 files');
    await expect(otherArticle).toHaveAttribute('data-state', 'succeeded');
    await expect(other.locator('#files > section.file[data-highlighted="true"]')).toHaveCount(3);
    expect(await other.locator('#files > section.file').evaluateAll((s) => s.map((e) => e.dataset.name))).toEqual([
      'main.rs',
      'helpers.py',
      'lib.js',
    ]);

    // The edited file: its new code, its changed lines marked.
    const edited = fileSection(other, 'main.rs');
    expectSameText(normalizeNewlines(await highlightedText(other, 'main.rs')), mainEdited, 'main.rs in revision 2');
    await expect(edited.locator('.code-scroll .changed-mark').first()).toBeVisible();
    const changedLines = await edited
      .locator('.gutter a.line-number.changed')
      .evaluateAll((links) => links.map((a) => Number(a.textContent)));
    expect(changedLines, 'changed lines of main.rs').toEqual(expect.arrayContaining([3, 5]));
    expect(changedLines, 'unchanged lines are not marked').not.toContain(1);

    // The renamed file: under its new name and anchor, same content, nothing marked.
    const renamed = fileSection(other, 'helpers.py');
    await expect(renamed).toHaveAttribute('id', fileAnchor('helpers.py'));
    await expect(renamed.locator('.file-head h2')).toHaveText('helpers.py');
    await expect(renamed.locator('a.raw')).toHaveAttribute('href', `/s/${id}/raw/helpers.py`);
    await expect(other.locator('#file-util-py')).toHaveCount(0);
    expectSameText(normalizeNewlines(await highlightedText(other, 'helpers.py')), util, 'helpers.py');
    await expect(renamed.locator('.changed-mark')).toHaveCount(0);
    await expect(fileSection(other, 'lib.js').locator('.changed-mark')).toHaveCount(0);

    await expectNoReload(other, 'the visitor\'s page');
  } finally {
    await owner.close();
    await visitor.close();
  }
});

test('(g2) the diff of revisions 1 and 2 shows one file modified and one renamed, with highlighted added and removed rows', async ({
  page,
  request,
}) => {
  const { main, util, lib, mainEdited } = gistFiles(uniqueTag('diff'));
  const created = await submitViaApi(request, {
    files: [
      { name: 'main.rs', code: main },
      { name: 'util.py', code: util },
      { name: 'lib.js', code: lib },
    ],
  });
  await waitSucceededViaApi(request, created.id);
  await saveRevisionViaApi(request, created.id, created.owner_token, {
    base_revision: 1,
    files: [
      { name: 'main.rs', code: mainEdited },
      { name: 'helpers.py', code: util },
      { name: 'lib.js', code: lib },
    ],
  });
  await waitSucceededViaApi(request, created.id);

  const response = await page.goto(`/s/${created.id}/diff/1/2`);
  expect(response.status()).toBe(200);
  const files = page.locator('section.diff-file');
  // The unchanged file is not listed.
  await expect(files).toHaveCount(2);
  await expect(page.locator('section.diff-file[data-name="lib.js"]')).toHaveCount(0);

  const modified = page.locator('section.diff-file[data-change="modified"]');
  await expect(modified).toHaveCount(1);
  await expect(modified).toHaveAttribute('data-name', 'main.rs');
  const added = modified.locator('table.diff tr.added');
  const removed = modified.locator('table.diff tr.removed');
  await expect(added).toHaveCount(2);
  await expect(removed).toHaveCount(1);
  await expect(removed.locator('td.text')).toContainText('add(2, 3)');
  await expect(added.first().locator('td.text')).toContainText('add(40, 2)');
  await expect(added.nth(1).locator('td.text')).toContainText('println!("done")');
  // Highlighted: the changed rows carry the highlighter's token classes.
  await expect(added.first().locator('td.text > :not(.sign)').first()).toBeAttached();
  await expect(removed.first().locator('td.text > :not(.sign)').first()).toBeAttached();
  await expect(modified.locator('table.diff tr.context').first()).toBeAttached();
  // Line numbers: the removed line had number 3 in revision 1, the added one has 3 in revision 2.
  await expect(removed.locator('td.old')).toHaveText('3');
  await expect(added.first().locator('td.new')).toHaveText('3');

  const renamed = page.locator('section.diff-file[data-change="renamed"]');
  await expect(renamed).toHaveCount(1);
  await expect(renamed).toHaveAttribute('data-name', 'helpers.py');
  await expect(renamed.locator('.file-head h2')).toHaveText('util.py → helpers.py');
  await expect(renamed.locator('tr.added, tr.removed')).toHaveCount(0);
});

test('(g3) a visitor forks a snippet: a new snippet of theirs with the same files, saying where it came from', async ({
  browser,
  request,
}) => {
  const { main, util, lib } = gistFiles(uniqueTag('fork'));
  const original = await submitViaApi(request, {
    files: [
      { name: 'main.rs', code: main },
      { name: 'util.py', code: util },
      { name: 'lib.js', code: lib },
    ],
    visibility: 'public',
  });
  await waitSucceededViaApi(request, original.id);

  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`/s/${original.id}`);
    await waitHydrated(page);
    await waitSucceeded(page);
    await expect(page.locator('article#snippet')).toHaveAttribute('data-owner', 'false');
    await expect(page.locator('aside.about .forked-from')).toHaveCount(0);

    await page.locator('form.fork-form button#fork').click();
    await page.waitForURL((url) => isSnippetUrl(url) && url.pathname !== `/s/${original.id}`);
    const forkId = snippetIdFromUrl(page.url());
    await waitHydrated(page);
    await waitSucceeded(page);

    // Theirs now: they may edit it.
    await expect(page.locator('article#snippet')).toHaveAttribute('data-owner', 'true');
    await expect(page.locator('.snippet-head a#edit')).toHaveAttribute('href', `/s/${forkId}/edit`);
    const forkedFrom = page.locator('aside.about .forked-from');
    await expect(forkedFrom).toHaveText(`Forked from ${original.id}`);
    await expect(forkedFrom.locator('a')).toHaveAttribute('href', `/s/${original.id}`);

    // The same files, the same code.
    expect(await page.locator('#files > section.file').evaluateAll((s) => s.map((e) => e.dataset.name))).toEqual([
      'main.rs',
      'util.py',
      'lib.js',
    ]);
    expectSameText(normalizeNewlines(await highlightedText(page, 'util.py')), util, 'util.py in the fork');
    expect(await filesViaApi(request, forkId)).toEqual(await filesViaApi(request, original.id));

    // A fork of an unlisted snippet does not give away the original's link.
    const hidden = await submitViaApi(request, { files: [{ name: 'secret.rs', code: main }] });
    const forkResponse = await request.post(`/api/snippets/${hidden.id}/fork`);
    expect(forkResponse.status()).toBe(201);
    const hiddenFork = await forkResponse.json();
    expect(hiddenFork.id).not.toBe(hidden.id);
    expect(hiddenFork.owner_token).toMatch(/^[0-9A-Za-z]{32}$/);
    await page.goto(`/s/${hiddenFork.id}`);
    await expect(page.locator('aside.about .forked-from')).toHaveText('Forked from an unlisted snippet');
    await expect(page.locator(`aside.about a[href="/s/${hidden.id}"]`)).toHaveCount(0);
    expect(await page.content()).not.toContain(hidden.id);
  } finally {
    await context.close();
  }
});

test('(g4) a Markdown README is rendered, with its fenced code highlighted; Source shows the code; its <script> never runs', async ({
  page,
  request,
}) => {
  const tag = uniqueTag('md');
  const readme = [
    `# Read me ${tag}`,
    '',
    'Some *emphasis* and a [link](https://example.com).',
    '',
    '```rust',
    'fn main() {',
    '    println!("hello");',
    '}',
    '```',
    '',
    '<script>window.__markdownXss = 1</script>',
    '<img src="x" onerror="window.__markdownXss = 2">',
    '',
  ].join('\n');
  const created = await submitViaApi(request, {
    files: [
      { name: 'README.md', code: readme },
      { name: 'main.rs', code: 'fn main() {}\n' },
    ],
  });
  await waitSucceededViaApi(request, created.id);

  await page.goto(`/s/${created.id}`);
  await waitHydrated(page);
  await waitSucceeded(page);
  const file = fileSection(page, 'README.md');
  await expect(file).toHaveAttribute('data-language', 'Markdown');

  // Rendered first.
  const rendered = file.locator('.rendered');
  const codeView = file.locator('.code-view');
  await expect(file.locator('.view-switch input.show-rendered')).toBeChecked();
  await expect(file.locator('.view-switch input.show-source')).not.toBeChecked();
  await expect(rendered).toBeVisible();
  await expect(codeView).toBeHidden();
  await expect(rendered.locator('h1')).toHaveText(`Read me ${tag}`);
  await expect(rendered.locator('em')).toHaveText('emphasis');
  await expect(rendered.locator('a[href="https://example.com"]')).toHaveText('link');
  await expect(rendered.locator('pre.hl code > *').first()).toBeVisible();
  await expect(rendered.locator('pre.hl')).toContainText('println!("hello");');
  // Sanitised: no script, no event handler.
  await expect(rendered.locator('script')).toHaveCount(0);
  await expect(page.locator('#files script, #files [onerror]')).toHaveCount(0);
  expect(await page.evaluate(() => typeof window.__markdownXss)).toBe('undefined');
  // Other files are code views, with no switch.
  await expect(fileSection(page, 'main.rs').locator('.view-switch')).toHaveCount(0);
  await expect(fileSection(page, 'main.rs').locator('.code-view')).toBeVisible();

  // Source: the code view, the markup as text.
  await file.locator('.view-switch label[for$="-source"]').click();
  await expect(file.locator('.view-switch input.show-source')).toBeChecked();
  await expect(codeView).toBeVisible();
  await expect(rendered).toBeHidden();
  await expect(codeView.locator('.gutter a.line-number')).toHaveCount(readme.split('\n').length - 1);
  expectSameText(normalizeNewlines(await highlightedText(page, 'README.md')), readme, 'README.md source');
  await expect(codeView.locator('.highlighted')).toContainText('<script>window.__markdownXss = 1</script>');
  expect(await page.evaluate(() => typeof window.__markdownXss)).toBe('undefined');

  // And back.
  await file.locator('.view-switch label[for$="-rendered"]').click();
  await expect(rendered).toBeVisible();
  await expect(codeView).toBeHidden();
});

test('(g5) three embeds on another site share one stream and all follow a new revision', async ({ browser, request, baseURL }) => {
  const tag = uniqueTag('embed');
  const created = await submitViaApi(request, {
    files: [
      { name: 'main.rs', code: `fn main() {\n    println!("${tag} one");\n}\n` },
      { name: 'notes.txt', code: 'first revision\n' },
    ],
  });
  await waitSucceededViaApi(request, created.id);

  // Another origin: `localhost` on a port of its own (the app is at 127.0.0.1).
  const script = `<script src="${baseURL}/s/${created.id}/embed.js"></script>`;
  const host = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><html><head><title>A blog</title></head><body>
      <h1>A blog post</h1>${script}<p>Some words between.</p>${script}<p>More words.</p>${script}
      </body></html>`);
  });
  await new Promise((resolve) => host.listen(0, 'localhost', resolve));
  const hostUrl = `http://localhost:${host.address().port}/`;

  const context = await browser.newContext({ viewport: { width: 1000, height: 2000 } });
  try {
    const streams = [];
    context.on('request', (r) => {
      const { pathname } = new URL(r.url());
      if (/^\/api\/(snippets\/[^/]+\/)?events$/.test(pathname)) streams.push(r.url());
    });
    const page = await context.newPage();
    // The server's count too: a shared worker's requests are not all reported to the context.
    const openBefore = await openStreams(request);
    await page.goto(hostUrl);
    expect(new URL(page.url()).origin).not.toBe(new URL(baseURL).origin);

    const frames = () => page.frames().filter((f) => f.url().startsWith(`${baseURL}/s/${created.id}/embed`));
    await expect.poll(() => frames().length, { message: 'embed frames' }).toBe(3);
    for (const frame of frames()) {
      await expect(frame.locator('html')).toHaveAttribute('data-snippet', created.id);
      await expect(frame.locator('html')).toHaveAttribute('data-revision', '1');
      await expect(frame.locator('html')).toHaveAttribute('data-state', 'succeeded');
      await expect(frame.locator('#embed section.file')).toHaveCount(2);
      await expect(frame.locator('#embed section.file[data-name="notes.txt"]')).toContainText('first revision');
    }
    const loadedAt = Date.now();
    // The page's one stream, opened by the embed script for all three.
    await expect.poll(() => streams.length, { message: 'event streams opened' }).toBeGreaterThanOrEqual(1);
    expect(streams[0]).toMatch(/\/api\/events\?announce=false&snippets=/);
    expect(streams[0]).toContain(created.id);

    // A new revision, through the API: every frame follows.
    await saveRevisionViaApi(request, created.id, created.owner_token, {
      base_revision: 1,
      files: [
        { name: 'main.rs', code: `fn main() {\n    println!("${tag} two");\n}\n` },
        { name: 'notes.txt', code: 'second revision\n' },
      ],
    });
    for (const frame of frames()) {
      await expect(frame.locator('html')).toHaveAttribute('data-revision', '2', { timeout: LIVE_TIMEOUT });
      await expect(frame.locator('#embed section.file[data-name="notes.txt"]')).toContainText('second revision');
      await expect(frame.locator('#embed section.file[data-name="main.rs"]')).toContainText(`${tag} two`);
      await expect(frame.locator('#embed')).not.toContainText('first revision');
    }

    // Unavoidable wait: a frame nobody follows opens a stream of its own
    // 1.5 s after loading. Let that moment pass, then count.
    const settled = loadedAt + 2_500 - Date.now();
    if (settled > 0) await page.waitForTimeout(settled);
    expect(streams, 'event streams the host page and its frames opened').toHaveLength(1);
    expect(await openStreams(request), 'streams open on the server, against before the page').toBeLessThanOrEqual(
      openBefore + 1,
    );

    // Blog engines that embed a bare link ask oEmbed: an iframe of the same frame.
    const oembed = await request.get(`/api/oembed?url=${encodeURIComponent(`${baseURL}/s/${created.id}`)}`);
    expect(oembed.status()).toBe(200);
    const answer = await oembed.json();
    expect(answer).toMatchObject({ version: '1.0', type: 'rich', provider_name: 'Highlighter' });
    expect(answer.html).toContain(`<iframe src="${baseURL}/s/${created.id}/embed"`);
  } finally {
    await context.close();
    await new Promise((resolve) => host.close(resolve));
  }
});

test('(g6) at 390 px wide a snippet of three files scrolls only inside its code, never the page', async ({
  browser,
  request,
}) => {
  const tag = uniqueTag('narrow');
  const created = await submitViaApi(request, {
    files: [
      {
        name: 'main.rs',
        code: `fn main() {\n    let message = "${tag} ${'a long line that is far wider than a phone '.repeat(4)}";\n    println!("{message}");\n}\n`,
      },
      { name: 'README.md', code: `# ${tag}\n\nSee https://example.com/${'a-very-long-path-segment/'.repeat(6)} for more.\n\n\`\`\`rust\nfn wide() { let x = "${'x'.repeat(150)}"; }\n\`\`\`\n` },
      { name: 'config.toml', code: `[package]\nname = "narrow"\ndescription = "${'wide '.repeat(40)}"\n` },
    ],
  });
  await waitSucceededViaApi(request, created.id);

  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  try {
    const page = await context.newPage();
    await page.goto(`/s/${created.id}`);
    await waitHydrated(page);
    await waitSucceeded(page);
    await expect(page.locator('#files > section.file')).toHaveCount(3);
    const overflow = await page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth,
      innerWidth: window.innerWidth,
    }));
    expect(overflow.scrollWidth, `page width ${overflow.scrollWidth} in a ${overflow.innerWidth} px window`).toBeLessThanOrEqual(
      overflow.innerWidth,
    );
    // The long line is there, scrolling inside its file's code view.
    const codeView = fileSection(page, 'main.rs').locator('.code-view');
    const scrolls = await codeView.evaluate((view) =>
      [view, ...view.querySelectorAll('*')].some(
        (el) => el.scrollWidth > el.clientWidth + 1 && /auto|scroll/.test(getComputedStyle(el).overflowX),
      ),
    );
    expect(scrolls, 'something inside the code view scrolls sideways').toBe(true);
    const box = await codeView.boundingBox();
    expect(box.x + box.width, 'the code view ends within the window').toBeLessThanOrEqual(390);
    await page.screenshot({ path: 'test-results/gist-390.png', fullPage: true });
  } finally {
    await context.close();
  }
});

test('(g7) without JavaScript: Add file redraws the form keeping the text, and two files are submitted', async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  try {
    const page = await context.newPage();
    const tag = uniqueTag('nojs_files');
    const first = `# ${tag}\ndef first():\n    return "<one> & 'two'"\n`;
    const second = `fn second() -> u32 {\n    2 // ${tag}\n}\n`;

    await page.goto('/');
    const form = page.locator('form#paste-form');
    await expect(form.locator('fieldset.file-fields')).toHaveCount(1);
    await fillFile(form, 0, { name: 'first.py', code: first });
    const [redraw] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/'),
      form.locator('button#add-file').click(),
    ]);
    expect(redraw.status()).toBe(200);
    await page.waitForLoadState();
    expect(new URL(page.url()).pathname).toBe('/');
    await expect(form.locator('fieldset.file-fields')).toHaveCount(2);
    await expect(form.locator('input#name-0')).toHaveValue('first.py');
    expect(normalizeNewlines(await form.locator('textarea#code-0').inputValue())).toBe(first);
    await expect(form.locator('textarea#code-1')).toHaveValue('');
    await fillFile(form, 1, { name: 'second.rs', code: second });
    await form.locator('button#submit').click();

    await page.waitForURL(isSnippetUrl);
    const id = snippetIdFromUrl(page.url());
    await expect(page.locator('html')).not.toHaveAttribute('data-hydrated', 'true');
    await expect(page.locator('#files > section.file')).toHaveCount(2);
    await expect(fileSection(page, 0)).toHaveAttribute('data-name', 'first.py');
    await expect(fileSection(page, 1)).toHaveAttribute('data-name', 'second.rs');

    // No live updates without JavaScript: reload until highlighted.
    const deadline = Date.now() + HIGHLIGHT_TIMEOUT;
    while ((await page.locator('article#snippet').getAttribute('data-state')) !== 'succeeded' && Date.now() < deadline) {
      await page.waitForTimeout(500);
      await page.reload();
    }
    await waitSucceeded(page);
    expectSameText(normalizeNewlines(await highlightedText(page, 'first.py')), first, 'first.py');
    expectSameText(normalizeNewlines(await highlightedText(page, 'second.rs')), second, 'second.rs');
    await expect(fileSection(page, 'second.rs')).toHaveAttribute('data-language', 'Rust');
    expect(id).toBeTruthy();
  } finally {
    await context.close();
  }
});

test('(g8) without JavaScript the edit page adds a file, and a stale save is refused with the typed text kept', async ({
  browser,
  request,
}) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  try {
    const page = await context.newPage();
    const tag = uniqueTag('nojs_edit');
    await page.goto('/');
    await fillFile(page.locator('form#paste-form'), 0, { name: 'a.py', code: `# ${tag}\nx = 1\n` });
    await page.locator('form#paste-form button#submit').click();
    await page.waitForURL(isSnippetUrl);
    const id = snippetIdFromUrl(page.url());

    await page.goto(`/s/${id}/edit`);
    const form = page.locator('form#edit-form');
    await expect(form.locator('fieldset.file-fields')).toHaveCount(1);
    await expect(form.locator('input[name="base_revision"]')).toHaveValue('1');
    await fillFile(form, 0, { code: `# ${tag}\nx = 2\n` });
    await form.locator('button#add-file').click();
    await expect(form.locator('fieldset.file-fields')).toHaveCount(2);
    expect(normalizeNewlines(await form.locator('textarea#code-0').inputValue())).toBe(`# ${tag}\nx = 2\n`);
    await fillFile(form, 1, { name: 'b.py', code: 'y = 3\n' });

    // Meanwhile another revision lands (as if from another tab).
    const other = await browser.newContext();
    try {
      // The browser's owner cookie, in a context that can save.
      await other.addCookies(await context.cookies());
      const saved = await other.request.put(`/api/snippets/${id}`, {
        data: { base_revision: 1, files: [{ name: 'a.py', code: `# ${tag}\nx = 9\n` }] },
      });
      expect(saved.status(), await saved.text()).toBe(201);
    } finally {
      await other.close();
    }

    const [refused] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === `/s/${id}/edit`),
      form.locator('button#save').click(),
    ]);
    expect(refused.status(), 'a stale save').toBe(409);
    await page.waitForLoadState();
    expect(new URL(page.url()).pathname).toBe(`/s/${id}/edit`);
    await expect(page.locator('section.edit .form-error')).not.toBeEmpty();
    await expect(page.locator('.conflict')).toContainText('Revision 2 was saved while you edited revision 1');
    await expect(page.locator('.conflict a[href$="/diff/1/2"]')).toHaveCount(1);
    await expect(form.locator('fieldset.file-fields')).toHaveCount(2);
    expect(normalizeNewlines(await form.locator('textarea#code-0').inputValue())).toBe(`# ${tag}\nx = 2\n`);
    await expect(form.locator('input#name-1')).toHaveValue('b.py');
    expect(normalizeNewlines(await form.locator('textarea#code-1').inputValue())).toBe('y = 3\n');
    // Nothing was overwritten.
    const view = await (await request.get(`/api/snippets/${id}`)).json();
    expect(view.revision).toBe(2);
    expect(view.files.map((f) => f.code)).toEqual([`# ${tag}\nx = 9\n`]);
  } finally {
    await context.close();
  }
});

test('(g9) a one-line edit on the edit page changes that line only, whichever way the first revision was posted', async ({
  browser,
  request,
}) => {
  // Revision 1 through the paste form with JavaScript (the code as typed),
  // revision 2 through the edit page without (as a browser posts a form).
  const owner = await browser.newContext();
  try {
    const page = await owner.newPage();
    await page.goto('/');
    await waitHydrated(page);
    const form = page.locator('form#paste-form');
    const tag = uniqueTag('one_line');
    await fillFile(form, 0, { name: 'a.py', code: `# ${tag}\nx = 1\ny = 2\nz = 3\n` });
    await form.locator('button#add-file').click();
    await fillFile(form, 1, { name: 'b.py', code: 'b = 1\nc = 2\n' });
    await form.locator('button#submit').click();
    await page.waitForURL(isSnippetUrl);
    const id = snippetIdFromUrl(page.url());
    await waitSucceeded(page);

    const noJs = await browser.newContext({ javaScriptEnabled: false, storageState: await owner.storageState() });
    try {
      const edit = await noJs.newPage();
      await edit.goto(`/s/${id}/edit`);
      await fillFile(edit.locator('form#edit-form'), 0, { code: `# ${tag}\nx = 1\ny = 20\nz = 3\n` });
      await edit.locator('form#edit-form button#save').click();
      await edit.waitForURL((url) => url.pathname === `/s/${id}`);
    } finally {
      await noJs.close();
    }

    const diff = await (await request.get(`/api/snippets/${id}/diff/1/2`)).json();
    expect(
      diff.files.map((f) => `${f.new_name} ${f.change} +${f.lines_added} -${f.lines_removed}`),
      'what revision 2 changed',
    ).toEqual(['a.py modified +1 -1', 'b.py unchanged +0 -0']);
    const files = await filesViaApi(request, id);
    expect(files.map((f) => f.code)).toEqual([`# ${tag}\nx = 1\ny = 20\nz = 3\n`, 'b = 1\nc = 2\n']);
  } finally {
    await owner.close();
  }
});

test('(g10) an old revision\'s page is told of newer ones and stays as it was; the latest lists every revision and its embed code', async ({
  page,
  request,
  baseURL,
}) => {
  const tag = uniqueTag('pinned');
  const revision = (n) => [{ name: 'main.py', language: 'python', code: `# ${tag}\nrevision = ${n}\n` }];
  const created = await submitViaApi(request, { files: revision(1) });
  await waitSucceededViaApi(request, created.id);
  await saveRevisionViaApi(request, created.id, created.owner_token, { base_revision: 1, files: revision(2) });
  await waitSucceededViaApi(request, created.id);

  await page.goto(`/s/${created.id}/r/1`);
  await waitHydrated(page);
  await waitSucceeded(page);
  const article = page.locator('article#snippet');
  await expect(article).toHaveAttribute('data-revision', '1');
  const newer = page.locator('article#snippet p.newer');
  await expect(newer).toContainText('You are reading revision 1. The latest is revision 2.');
  await expect(newer.locator(`a[href="/s/${created.id}"]`)).toHaveCount(1);
  await expect(page.locator('a#edit')).toHaveCount(0);
  await markNoReload(page);

  // Revision 3 lands: the page says so, and shows revision 1 still.
  await saveRevisionViaApi(request, created.id, created.owner_token, { base_revision: 2, files: revision(3) });
  await expect(newer).toContainText('The latest is revision 3.', { timeout: LIVE_TIMEOUT });
  await expect(newer.locator(`a[href="/s/${created.id}/diff/1/3"]`)).toHaveCount(1);
  await waitSucceededViaApi(request, created.id);
  await expect(article).toHaveAttribute('data-revision', '1');
  await expect(page.locator('article#snippet .updated')).toHaveCount(0);
  expect(normalizeNewlines(await highlightedText(page, 'main.py'))).toBe(`# ${tag}\nrevision = 1\n`);
  await expectNoReload(page, 'the page of revision 1');

  // The latest: every revision listed, newest first, and how to embed it.
  await page.goto(`/s/${created.id}`);
  await waitHydrated(page);
  await waitSucceeded(page);
  await expect(page.locator('article#snippet')).toHaveAttribute('data-revision', '3');
  await expect(page.locator('aside.about .revisions li[data-revision]')).toHaveCount(3);
  expect(
    await page.locator('aside.about .revisions li[data-revision]').evaluateAll((li) => li.map((l) => l.dataset.revision)),
  ).toEqual(['3', '2', '1']);
  await expect(page.locator(`aside.about .revisions li[data-revision="2"] a[href="/s/${created.id}/r/2"]`)).toHaveCount(1);
  await expect(page.locator('aside.about .embed-code input')).toHaveValue(
    `<script src="${baseURL}/s/${created.id}/embed.js"></script>`,
  );
});
