// Accessibility: axe-core 4 on every kind of page, in the light and the
// dark colour scheme, failing on any violation at all.
//
// axe is injected with page.evaluate (DevTools' own channel), which the
// pages' Content-Security-Policy does not govern; no script tag is added.

import { test, expect } from '@playwright/test';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import {
  fillFile,
  isSnippetUrl,
  snippetIdFromUrl,
  submitPending,
  submitViaApi,
  uniqueTag,
  waitHydrated,
  waitSucceeded,
} from './helpers.mjs';

const require = createRequire(import.meta.url);
const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const ADMIN = process.env.E2E_ADMIN_BASE_URL;
const FULL = process.env.E2E_ADMIN_TOKEN;

/** Every axe violation on the page, as readable lines. */
async function violations(page) {
  await page.evaluate(AXE_SOURCE);
  const found = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')),
    }));
  });
  return found.map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.join(', ')})`);
}

for (const scheme of ['light', 'dark']) {
  test.describe(`(a11y) in the ${scheme} scheme`, () => {
    test.use({ colorScheme: scheme });

    async function check(page, what) {
      // The scheme the page paints with is the one asked for.
      const dark = await page.evaluate(() => matchMedia('(prefers-color-scheme: dark)').matches);
      expect(dark, `${what}: the emulated scheme`).toBe(scheme === 'dark');
      expect(await violations(page), `${what}: axe violations`).toEqual([]);
    }

    test('home, snippet pending and done, 404 and 410', async ({ page, playwright, request }) => {
      await page.goto('/');
      await waitHydrated(page);
      await check(page, 'home');

      const pending = await submitPending(playwright, {
        code: `# ${uniqueTag('a11y')}\nprint("pending")\n`,
        language: 'python',
      });
      await page.goto(`/s/${pending.id}`);
      await waitHydrated(page);
      await expect(page.locator('article#snippet')).toHaveAttribute('data-state', /^(queued|processing)$/);
      await check(page, 'a pending snippet');

      const done = await submitViaApi(request, {
        code: `fn main() {\n    println!("{}", "${uniqueTag('a11y')}");\n}\n`,
        language: 'rust',
      });
      await page.goto(`/s/${done.id}`);
      await waitHydrated(page);
      await waitSucceeded(page);
      await check(page, 'a highlighted snippet');

      const missing = await page.goto('/s/000000000000');
      expect(missing.status()).toBe(404);
      await waitHydrated(page);
      await check(page, 'the 404 page');

      const doomed = await submitViaApi(request, { code: 'print(1)\n', language: 'python' });
      const deleted = await request.delete(`/api/snippets/${doomed.id}`, {
        headers: { authorization: `Bearer ${doomed.owner_token}` },
      });
      expect(deleted.status()).toBe(204);
      const gone = await page.goto(`/s/${doomed.id}`);
      expect(gone.status()).toBe(410);
      await waitHydrated(page);
      await check(page, 'the 410 page');
    });

    test('a snippet of several files with Markdown, its edit page, an old revision and a diff', async ({ page }) => {
      await page.goto('/');
      await waitHydrated(page);
      const form = page.locator('form#paste-form');
      await fillFile(form, 0, { name: 'main.rs', code: `fn main() {\n    println!("${uniqueTag('a11y')}");\n}\n` });
      await form.locator('button#add-file').click();
      await fillFile(form, 1, {
        name: 'README.md',
        code: '# Notes\n\nA [link](https://example.com) and *emphasis*.\n\n```rust\nfn main() {}\n```\n',
      });
      await check(page, 'the paste form with two files');
      await form.locator('button#submit').click();
      await page.waitForURL(isSnippetUrl);
      const id = snippetIdFromUrl(page.url());
      await waitHydrated(page);
      await waitSucceeded(page);
      await check(page, 'a highlighted snippet of two files with Markdown');

      await page.locator('a#edit').click();
      await expect(page).toHaveURL(new RegExp(`/s/${id}/edit$`));
      await waitHydrated(page);
      await expect(page.locator('form#edit-form fieldset.file-fields')).toHaveCount(2);
      await check(page, 'the edit page');
      // Revision 2, posted as the edit form posts it (with this browser's owner cookie).
      const saved = await page.request.post(`/s/${id}/edit`, {
        form: {
          base_revision: '1',
          'files[0][name]': 'main.rs',
          'files[0][code]': 'fn main() {\n    println!("two");\n}\n',
          'files[1][name]': 'README.md',
          'files[1][code]': await page.locator('textarea#code-1').inputValue(),
          action: 'save',
        },
        maxRedirects: 0,
      });
      expect(saved.status(), 'the edit form saved').toBe(303);
      await page.goto(`/s/${id}`);
      await waitHydrated(page);
      await expect(page.locator('article#snippet')).toHaveAttribute('data-revision', '2');
      await waitSucceeded(page);
      await check(page, 'a snippet of two revisions');

      await page.goto(`/s/${id}/r/1`);
      await waitHydrated(page);
      await expect(page.locator('article#snippet .newer')).toBeVisible();
      await check(page, 'an old revision');

      await page.goto(`/s/${id}/diff/1/2`);
      await waitHydrated(page);
      await expect(page.locator('section.diff-file')).toHaveCount(1);
      await check(page, 'a diff');
    });

    test('the dashboard and its sign-in page', async ({ page, playwright }) => {
      // A job in the table (its engine is down: it fails, once).
      const api = await playwright.request.newContext({ baseURL: ADMIN });
      await submitViaApi(api, { code: `# ${uniqueTag('a11y')}\nprint(1)\n`, language: 'python' });
      await api.dispose();

      await page.goto(`${ADMIN}/admin/login`);
      await waitHydrated(page);
      await check(page, 'the sign-in page');

      await page.fill('input[name=token]', FULL);
      await page.click('#sign-in button[type=submit]');
      await expect(page).toHaveURL(`${ADMIN}/admin`);
      await waitHydrated(page);
      await expect(page.locator('#nodes tbody tr')).toHaveCount(1);
      await expect(page.locator('table#jobs tbody tr.job').first()).toBeVisible();
      await check(page, 'the dashboard');
    });
  });
}
