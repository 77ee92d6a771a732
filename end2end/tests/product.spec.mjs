// Product features: the live recent list over one stream, reading aids
// (line anchors, copy, raw, download), the theme toggle and language
// detection.
//
// DOM contract (in addition to the one in helpers.mjs):
//   <html data-theme="dark|light">  set by button#theme-toggle, remembered in
//                localStorage "highlighter-theme", applied before paint
//   /            form#paste-form: per file (key N) textarea#code-N, input#name-N,
//                input#language-N[list=language-list] + datalist#language-list
//                (empty = auto-detect); select[name=expires_in]
//                ("" | 3600 | 86400 | 604800), button#submit; ul#recent > li[data-id]
//                (newest first) with a[href="/s/{id}"] and span.state.state-{state};
//                ONE EventSource (/api/events?...)
//   /s/{id}      #files > section.file#file-{slug}: .file-head span.language,
//                button.copy, a.raw; div.code-view > div.gutter >
//                a.line-number#file-{slug}-L{n}[href="#file-{slug}-L{n}"] (the first
//                file's also name="L{n}", so #L{n} still works; class "marked" for the
//                lines the hash names, with div.line-mark shown over them) and
//                div.highlighted pre; a#raw; a#download; ONE EventSource while pending

import { test, expect } from '@playwright/test';
import {
  HIGHLIGHT_TIMEOUT,
  expectNoReload,
  expectOneOpenEventSource,
  expectSameText,
  eventSources,
  fileAnchor,
  fileSection,
  fillFile,
  generatePython,
  highlightedText,
  isSnippetUrl,
  markNoReload,
  pageBackground,
  recordEventSources,
  snippetIdFromUrl,
  submitPending,
  submitViaApi,
  uniqueTag,
  waitHydrated,
  waitSucceeded,
  waitSucceededViaApi,
  wakeWorkers,
} from './helpers.mjs';

const HOME_STREAM_RE = /\/api\/events(\?|$)/;

/** The gutter links of the snippet page's first file, in order. */
const lineNumbers = (page) => fileSection(page, 0).locator('div.code-view div.gutter a.line-number');
/** Line `n` of the file whose anchor is `anchor` (its section's id). */
const lineNumber = (page, anchor, n) =>
  page.locator(`#files > section.file#${anchor} div.code-view div.gutter a.line-number#${anchor}-L${n}`);

/**
 * Exactly the lines `marked` (1-based) of the file `anchor` carry class
 * "marked", out of `total`, none of any file elsewhere, and the overlay
 * over marked lines shows (or not).
 */
async function expectMarked(page, anchor, marked, total) {
  for (let n = 1; n <= total; n++) {
    const link = lineNumber(page, anchor, n);
    if (marked.includes(n)) {
      await expect(link, `line ${n} is marked`).toHaveClass(/(^|\s)marked(\s|$)/);
    } else {
      await expect(link, `line ${n} is not marked`).not.toHaveClass(/(^|\s)marked(\s|$)/);
    }
  }
  await expect(page.locator('#files div.code-view div.gutter a.line-number.marked')).toHaveCount(marked.length);
  const overlay = page.locator(`#files > section.file#${anchor} .code-view .line-mark`);
  if (marked.length > 0) await expect(overlay, 'the marked lines\' overlay').toBeVisible();
  else await expect(overlay).toBeHidden();
}

test('(p1) two home pages hold one stream each; a snippet submitted on one appears live on the other', async ({
  browser,
}) => {
  const contextA = await browser.newContext();
  const contextB = await browser.newContext();
  try {
    await contextA.addInitScript(recordEventSources);
    await contextB.addInitScript(recordEventSources);
    const pageA = await contextA.newPage();
    const pageB = await contextB.newPage();

    await Promise.all([pageA.goto('/'), pageB.goto('/')]);
    await Promise.all([waitHydrated(pageA), waitHydrated(pageB)]);
    await expectOneOpenEventSource(pageA, HOME_STREAM_RE, 'page A');
    await expectOneOpenEventSource(pageB, HOME_STREAM_RE, 'page B');
    await markNoReload(pageA);

    // Submit through page B's form.
    const code = `# ${uniqueTag('live_list')}\ndef answer():\n    return 42\n`;
    const form = pageB.locator('form#paste-form');
    await fillFile(form, 0, { language: 'Python', code });
    await form.locator('input[name="public"]').check();
    await form.locator('button#submit').click();
    await pageB.waitForURL(isSnippetUrl);
    const id = snippetIdFromUrl(pageB.url());

    // Page A learns of it by push: at the top of the list, then succeeded.
    const first = pageA.locator('ul#recent > li').first();
    await expect(first).toHaveAttribute('data-id', id);
    await expect(first.locator(`a[href="/s/${id}"]`)).toHaveCount(1);
    const state = first.locator('span.state');
    await expect(state).toHaveText('succeeded', { timeout: HIGHLIGHT_TIMEOUT });
    await expect(state).toHaveClass(/(^|\s)state-succeeded(\s|$)/);

    await expectNoReload(pageA, 'page A');
    const sources = await eventSources(pageA);
    expect(sources, 'page A: EventSources created over the whole test').toHaveLength(1);
    expect(sources[0].readyState, 'page A: its stream is still open').toBe(1);
  } finally {
    await contextA.close();
    await contextB.close();
  }
});

test('(p2) #L3-L5 marks lines 3 to 5; clicking line 7 marks only line 7, shift-clicking 9 marks 7 to 9', async ({
  page,
  request,
}) => {
  const lines = Array.from({ length: 10 }, (_, i) => `line_${i + 1} = ${i + 1}  # ${i === 0 ? uniqueTag('lines') : ''}`);
  // No trailing newline: 10 lines whichever way lines are counted.
  const code = lines.join('\n');
  const { id } = await submitViaApi(request, { code, language: 'python', filename: 'lines.py' });
  await waitSucceededViaApi(request, id);
  const anchor = fileAnchor('lines.py');
  expect(anchor).toBe('file-lines-py');

  // The one-file anchors of before still work: they name the first file.
  await page.goto(`/s/${id}#L3-L5`);
  await waitHydrated(page);
  await waitSucceeded(page);

  await expect(fileSection(page, 0)).toHaveAttribute('id', anchor);
  await expect(lineNumbers(page)).toHaveCount(10);
  await expect(lineNumbers(page)).toHaveText(lines.map((_, i) => String(i + 1)));
  for (const n of [1, 10]) {
    await expect(lineNumber(page, anchor, n)).toHaveAttribute('name', `L${n}`);
    await expect(lineNumber(page, anchor, n)).toHaveAttribute('href', `#${anchor}-L${n}`);
  }
  expectSameText(await highlightedText(page), code, 'highlighted text');
  // The numbers are a separate column that is never selected (nor copied).
  const userSelect = await fileSection(page, 0)
    .locator('div.code-view div.gutter')
    .evaluate((el) => getComputedStyle(el).userSelect || getComputedStyle(el).webkitUserSelect);
  expect(userSelect, 'user-select of div.gutter').toBe('none');

  await expectMarked(page, anchor, [3, 4, 5], 10);
  await expect(lineNumber(page, anchor, 3)).toBeInViewport();

  // A click names the line in its file.
  await markNoReload(page);
  await lineNumber(page, anchor, 7).click();
  await expect(page).toHaveURL(new RegExp(`/s/${id}#${anchor}-L7$`));
  expect(await page.evaluate(() => location.hash)).toBe(`#${anchor}-L7`);
  await expectMarked(page, anchor, [7], 10);
  // Shift-click: the range from the line clicked before.
  await lineNumber(page, anchor, 9).click({ modifiers: ['Shift'] });
  await expect(page).toHaveURL(new RegExp(`/s/${id}#${anchor}-L7-L9$`));
  await expectMarked(page, anchor, [7, 8, 9], 10);
  // A file's own range anchor, followed as the hash changes.
  await page.evaluate((a) => {
    location.hash = `#${a}-L2-L4`;
  }, anchor);
  await expectMarked(page, anchor, [2, 3, 4], 10);
  await expectNoReload(page);
});

test('(p2b) a range far down the snippet is scrolled into view on load', async ({ page, request }) => {
  const code = `# ${uniqueTag('scroll')}\n` + generatePython(300);
  const { id } = await submitViaApi(request, { code, language: 'python' });
  await waitSucceededViaApi(request, id);

  await page.goto(`/s/${id}#L250-L252`);
  await waitHydrated(page);
  await waitSucceeded(page);
  const anchor = await fileSection(page, 0).getAttribute('id');
  expect(anchor).toMatch(/^file-/);

  await expect(lineNumber(page, anchor, 250)).toHaveClass(/(^|\s)marked(\s|$)/);
  await expect(lineNumber(page, anchor, 252)).toHaveClass(/(^|\s)marked(\s|$)/);
  await expect(page.locator('#files div.code-view div.gutter a.line-number.marked')).toHaveCount(3);
  await expect(lineNumber(page, anchor, 250)).toBeInViewport();
  await expect.poll(() => page.evaluate(() => window.scrollY), { message: 'window.scrollY' }).toBeGreaterThan(0);
});

test('(p3) the copy button copies the exact code', async ({ page, context, request, baseURL }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: baseURL });
  const code = [
    `# ${uniqueTag('copy')}`,
    'def greet(name):\t# tab inside',
    '\treturn f"héllo {name} ✓ 🎉 — 日本語"   ',
    '',
    'HTML = "<b>bold</b> <script>alert(1)</script> &amp; &lt;"  ',
    '    ',
    'print(greet("<world>"))\t',
    '',
  ].join('\n');
  const { id } = await submitViaApi(request, { code, language: 'python' });

  await page.goto(`/s/${id}`);
  await waitHydrated(page);
  await waitSucceeded(page);

  const copy = fileSection(page, 0).locator('.file-head button.copy');
  await expect(copy).toHaveText('Copy');
  await copy.click();
  await expect(copy).toHaveText(/Copied/);
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  expectSameText(copied, code, 'clipboard text');
});

test('(p4) the theme toggle switches to dark, and the choice survives a reload', async ({ page }) => {
  await page.emulateMedia({ colorScheme: 'light' });
  await page.goto('/');
  await waitHydrated(page);
  const html = page.locator('html');
  await expect(html).not.toHaveAttribute('data-theme', 'dark');
  const lightBackground = await pageBackground(page);

  const toggle = page.locator('button#theme-toggle');
  for (let clicks = 0; clicks < 3; clicks++) {
    const before = await html.getAttribute('data-theme');
    await toggle.click();
    // Each click sets the attribute to the other theme.
    await expect(html).toHaveAttribute('data-theme', before === 'dark' ? 'light' : 'dark');
    if ((await html.getAttribute('data-theme')) === 'dark') break;
  }
  await expect(html).toHaveAttribute('data-theme', 'dark');
  expect(await page.evaluate(() => localStorage.getItem('highlighter-theme'))).toBe('dark');

  // Applied before paint: already there when the document is parsed, before
  // the client has hydrated.
  await page.reload({ waitUntil: 'domcontentloaded' });
  expect(await page.evaluate(() => document.documentElement.getAttribute('data-theme'))).toBe('dark');
  await waitHydrated(page);
  await expect(html).toHaveAttribute('data-theme', 'dark');

  const darkBackground = await pageBackground(page);
  expect(darkBackground, `dark background (light was ${lightBackground})`).not.toBe(lightBackground);
});

test('(p5) with the language left empty, a Python script is detected as Python', async ({ page }) => {
  await page.goto('/');
  await waitHydrated(page);

  const form = page.locator('form#paste-form');
  const language = form.locator('input#language-0[name="files[0][language]"]');
  await expect(language).toHaveAttribute('list', 'language-list');
  await expect(language).toHaveValue('');
  const datalist = page.locator('datalist#language-list');
  await expect(datalist.locator('option[value="Python"]')).toHaveCount(1);
  await expect(datalist.locator('option[value="Rust"]')).toHaveCount(1);
  const expiry = form.locator('select[name="expires_in"] option');
  await expect(expiry).toHaveCount(4);
  expect(await expiry.evaluateAll((options) => options.map((o) => o.value))).toEqual([
    '',
    '3600',
    '86400',
    '604800',
  ]);

  const code = `#!/usr/bin/env python3\nimport sys\nprint(sys.argv)\n# ${uniqueTag('detect')}\n`;
  await fillFile(form, 0, { code });
  await expect(form.locator('input#name-0[name="files[0][name]"]')).toHaveValue('');
  await form.locator('button#submit').click();
  await page.waitForURL(isSnippetUrl);

  const fileLanguage = fileSection(page, 0).locator('.file-head span.language');
  await expect(fileLanguage).toHaveText('Python');
  await waitSucceeded(page);
  await expect(fileLanguage).toHaveText('Python');
  await expect(fileSection(page, 0)).toHaveAttribute('data-language', 'Python');
  await expect(fileSection(page, 0).locator('div.highlighted pre.hl x-k').first()).toBeAttached();
});

test('(p6) raw is plain text, exactly the code; download is an attachment', async ({ request }) => {
  const code = `# ${uniqueTag('raw')}\n<script>alert("x")</script>\n\tcafé ✓ 🎉   \nlast line without newline  `;
  const { id } = await submitViaApi(request, { code, language: 'python', filename: 'hello.py' });

  const raw = await request.get(`/s/${id}/raw`);
  expect(raw.status()).toBe(200);
  const rawHeaders = raw.headers();
  expect(rawHeaders['content-type']).toBe('text/plain; charset=utf-8');
  expect(rawHeaders['x-content-type-options']).toBe('nosniff');
  expectSameText((await raw.body()).toString('utf8'), code, 'raw body');
  // The file's own raw address answers the same.
  const rawFile = await request.get(`/s/${id}/raw/hello.py`);
  expect(rawFile.status()).toBe(200);
  expect(rawFile.headers()['content-type']).toBe('text/plain; charset=utf-8');
  expectSameText((await rawFile.body()).toString('utf8'), code, 'raw file body');

  const download = await request.get(`/s/${id}/download`);
  expect(download.status()).toBe(200);
  const disposition = download.headers()['content-disposition'] ?? '';
  expect(disposition).toContain('attachment');
  expect(disposition).toMatch(/filename\*?=/);
  expect(disposition).toContain('hello.py');
  expectSameText((await download.body()).toString('utf8'), code, 'download body');

  // Without a file name there is still one.
  const { id: unnamed } = await submitViaApi(request, { code, language: 'python' });
  const download2 = await request.get(`/s/${unnamed}/download`);
  expect(download2.status()).toBe(200);
  const disposition2 = download2.headers()['content-disposition'] ?? '';
  expect(disposition2).toContain('attachment');
  expect(disposition2).toMatch(/filename\*?="?[^";\s]+/);
});

test('(p7) a pending snippet page holds one stream', async ({ page, request, playwright }) => {
  await page.addInitScript(recordEventSources);
  const code = `# ${uniqueTag('one_stream')}\n` + generatePython(200);
  const { id } = await submitPending(playwright, { code, language: 'python' });

  await page.goto(`/s/${id}`);
  await waitHydrated(page);
  await expect(page.locator('article#snippet')).toHaveAttribute('data-state', 'queued');
  await expectOneOpenEventSource(page, /\/api\/(snippets\/[^/]+\/)?events(\?|$)/, 'snippet page');

  await wakeWorkers(request);
  await waitSucceeded(page);
  expectSameText(await highlightedText(page), code, 'highlighted text');
  expect(await eventSources(page), 'EventSources created on the snippet page').toHaveLength(1);
});

test('(p8) a hash naming lines far past the end marks only the snippet\'s lines and the tab stays responsive', async ({
  page,
  request,
}) => {
  const code = Array.from({ length: 6 }, (_, i) => `x_${i} = ${i}`).join('\n') + `  # ${uniqueTag('clamp')}\n`;
  const { id } = await submitViaApi(request, { code, language: 'python' });
  await waitSucceededViaApi(request, id);
  await page.goto(`/s/${id}#L1-L4294967295`);
  await waitHydrated(page);
  await waitSucceeded(page);
  const anchor = await fileSection(page, 0).getAttribute('id');
  await expectMarked(page, anchor, [1, 2, 3, 4, 5, 6], 6);
  // Still responsive: a click marks a line at once.
  const started = Date.now();
  await lineNumber(page, anchor, 3).click();
  await expectMarked(page, anchor, [3], 6);
  expect(Date.now() - started, 'ms to handle a click').toBeLessThan(5000);
});

test('(p9) highlighted code in both themes: every token class has a colour of its own, readable on the page', async ({ page, request }) => {
  const samples = [
    ['rust', 'engine.rs', 'use std::collections::HashMap;\n\n/// Counts words.\n#[derive(Debug)]\npub struct Counter<\'a> { counts: HashMap<&\'a str, usize> }\n\nimpl<\'a> Counter<\'a> {\n    pub fn add(&mut self, word: &\'a str) -> usize {\n        let n = self.counts.entry(word).or_insert(0);\n        *n += 1; // one more\n        println!("{word}: {n}\\n");\n        *n\n    }\n}\n'],
    ['python', 'app.py', 'import re\n\n@dataclass\nclass Item:\n    """An item."""\n    name: str = "x"\n\ndef parse(text: str, limit=10) -> list[Item]:\n    # split on commas\n    return [Item(p.strip()) for p in re.split(r",\\s*", text)[:limit] if p]\n'],
  ];
  // WCAG's contrast ratio of two rgb() colours.
  const contrast = (a, b) => {
    const luminance = (rgb) => {
      const [r, g, bl] = rgb.match(/\d+(\.\d+)?/g).slice(0, 3).map(Number).map((c) => {
        const s = c / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
    };
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  };
  for (const [language, filename, code] of samples) {
    const { id } = await submitViaApi(request, { code, language, filename });
    await waitSucceededViaApi(request, id);
    for (const theme of ['light', 'dark']) {
      await page.goto('/');
      await page.evaluate((t) => localStorage.setItem('highlighter-theme', t), theme);
      await page.goto(`/s/${id}`);
      await waitHydrated(page);
      await waitSucceeded(page);
      const colours = await page.evaluate(() => {
        const pre = document.querySelector('#files > section.file div.highlighted pre');
        // The first opaque background from the code outward.
        let background = 'rgb(255, 255, 255)';
        for (let el = pre; el; el = el.parentElement) {
          const c = getComputedStyle(el).backgroundColor;
          if (c !== 'transparent' && !/^rgba\(.*,\s*0\)$/.test(c)) {
            background = c;
            break;
          }
        }
        const byClass = {};
        // Each run is an element named after its class: <x-k> is `k`.
        for (const run of pre.querySelectorAll('code > *')) {
          byClass[run.localName.slice(2)] ??= getComputedStyle(run).color;
        }
        return { background, plain: getComputedStyle(pre).color, byClass };
      });
      const what = `${language} in the ${theme} theme`;
      // Keywords, strings and comments are told apart from plain text
      // and from each other.
      for (const cls of ['k', 's', 'c']) {
        expect(colours.byClass[cls], `${what}: class ${cls} is used`).toBeTruthy();
        expect(colours.byClass[cls], `${what}: class ${cls} has a colour`).not.toBe(colours.plain);
      }
      expect(new Set(['k', 's', 'c'].map((c) => colours.byClass[c])).size, `${what}: three colours`).toBe(3);
      // Every colour is readable on the code's background (WCAG AA for
      // large text and UI: 3:1).
      for (const [cls, colour] of Object.entries(colours.byClass)) {
        expect(contrast(colour, colours.background), `${what}: class ${cls} (${colour} on ${colours.background})`).toBeGreaterThanOrEqual(3);
      }
      await page.locator('#files > section.file div.code-view').first().screenshot({ path: `test-results/themes/${language}-${theme}.png` });
    }
  }
});
