import { test, expect } from '@playwright/test';
import {
  PENDING_STATES,
  expectSameText,
  generatePython,
  fileSection,
  highlightedText,
  saveRevisionViaApi,
  submitPending,
  submitViaApi,
  uniqueTag,
  waitHydrated,
  waitSucceeded,
  wakeWorkers,
} from './helpers.mjs';

const PAYLOAD = '<script>window.__xss=1</script>';
const IMG_PAYLOAD = '<img src="x" onerror="window.__xss=2">';

/** Nothing from the snippet may have turned into live markup inside the article. */
async function expectNoInjectedMarkup(page) {
  await expect(page.locator('article#snippet script')).toHaveCount(0);
  await expect(page.locator('article#snippet img[onerror]')).toHaveCount(0);
}

test('(d) <script> in a snippet is shown as text, pending and highlighted', async ({ browser, page, request, playwright }) => {
  // Submitted so that it stays pending until we wake the workers.

  const tag = uniqueTag('xss');
  const code = `${PAYLOAD}\n${IMG_PAYLOAD}\n# ${tag}\n` + generatePython(3000);
  const created = await submitPending(playwright, { code, language: 'python' });
  const url = `/s/${created.id}`;

  // 1) Raw server-rendered HTML, fetched right after creation (pending view).
  const response = await request.get(url);
  expect(response.status()).toBe(200);
  const pendingHtml = await response.text();
  // Leptos escapes '<' even inside its serialized hydration data, so the
  // literal payload must not appear anywhere in the document.
  expect(pendingHtml).not.toContain(PAYLOAD);
  expect(pendingHtml).not.toContain(IMG_PAYLOAD);

  // Inspect that exact response as a DOM, with scripts disabled.
  const noJs = await browser.newContext({ javaScriptEnabled: false });
  try {
    const inspect = await noJs.newPage();
    await inspect.setContent(pendingHtml);
    const state = await inspect.locator('article#snippet').getAttribute('data-state');
    expect(
      PENDING_STATES,
      `the snippet was already "${state}" when first fetched; the pending view could not be checked`,
    ).toContain(state);
    await expect(inspect.locator('article#snippet progress')).toBeAttached();
    await expect(inspect.locator('#files > section.file')).toHaveCount(1);
    const source = (await inspect.locator('#files > section.file div.highlighted pre.source').textContent()) ?? '';
    expect(source).toContain(PAYLOAD);
    expect(source).toContain(IMG_PAYLOAD);
    await expectNoInjectedMarkup(inspect);
  } finally {
    await noJs.close();
  }

  // 2) Live page with JS: whatever view it starts in, nothing may execute.
  await page.goto(url);
  await waitHydrated(page);
  await expectNoInjectedMarkup(page);
  await expect(page.locator('article#snippet')).toHaveAttribute('data-state', 'queued');
  await expect(page.locator('#files > section.file div.highlighted pre.source')).toContainText(PAYLOAD);
  expect(await page.evaluate(() => typeof window.__xss)).toBe('undefined');
  await wakeWorkers(request);

  // 3) Highlighted view (reached live, without reloading).
  await waitSucceeded(page);
  const highlighted = await highlightedText(page);
  expect(highlighted).toContain(PAYLOAD);
  expect(highlighted).toContain(IMG_PAYLOAD);
  expectSameText(highlighted, code, 'highlighted text');
  await expectNoInjectedMarkup(page);
  expect(await page.evaluate(() => typeof window.__xss)).toBe('undefined');

  // 4) Highlighted view rendered by the server and hydrated from scratch.
  const finalHtml = await (await request.get(url)).text();
  expect(finalHtml).not.toContain(PAYLOAD);
  expect(finalHtml).not.toContain(IMG_PAYLOAD);
  await page.reload();
  await waitHydrated(page);
  await waitSucceeded(page);
  expect(await highlightedText(page)).toContain(PAYLOAD);
  await expectNoInjectedMarkup(page);
  expect(await page.evaluate(() => typeof window.__xss)).toBe('undefined');
});

test('(d2) markup in file names is shown as text, server-rendered and rebuilt live', async ({ page, request }) => {
  // Names cannot hold slashes, so no closing tag; attributes and elements can still be tried.
  const first = `<img src=x onerror="window.__xss=3">${uniqueTag('name')}.py`;
  const second = `q"><svg onload=window.__xss=4>.md`;
  const renamed = `r'><img src=y onerror=window.__xss=5>.py`;
  const created = await submitViaApi(request, {
    files: [
      { name: first, language: 'python', code: 'x = 1\n' },
      { name: second, code: '# Title\n' },
    ],
  });
  await page.goto(`/s/${created.id}`);
  await waitHydrated(page);
  await waitSucceeded(page);

  const injected = async () => {
    await expect(page.locator('img[onerror], svg[onload], img[src="x"], img[src="y"]')).toHaveCount(0);
    expect(await page.evaluate(() => typeof window.__xss)).toBe('undefined');
  };
  await expect(page.locator('#files > section.file .file-head h2')).toHaveText([first, second]);
  await expect(fileSection(page, 0)).toHaveAttribute('data-name', first);
  await expect(fileSection(page, 1)).toHaveAttribute('data-name', second);
  await expect(page.locator('.snippet-head h1')).toHaveText(first);
  expect(await page.title()).toBe(`${first} · Highlighter`);
  await injected();

  // A new revision renames the first file: the page draws its sections itself.
  await saveRevisionViaApi(request, created.id, created.owner_token, {
    base_revision: 1,
    files: [
      { name: renamed, language: 'python', code: 'x = 1\n' },
      { name: second, code: '# Title\n' },
    ],
  });
  await expect(page.locator('article#snippet')).toHaveAttribute('data-revision', '2', { timeout: 30_000 });
  await expect(page.locator('#files > section.file .file-head h2')).toHaveText([renamed, second]);
  await expect(fileSection(page, 0)).toHaveAttribute('data-name', renamed);
  await injected();
});
