import { test, expect } from '@playwright/test';
import {
  expectNoReload,
  fileSection,
  fillFile,
  isSnippetUrl,
  markNoReload,
  submitViaApi,
  uniqueTag,
  waitHydrated,
  waitSucceeded,
} from './helpers.mjs';

test('(f) the home page lists a public snippet under #recent, an unlisted one nowhere', async ({ page, request }) => {
  const code = `fn main() { println!("${uniqueTag('recent')}"); }`;
  const { id } = await submitViaApi(request, { code, language: 'auto', filename: 'recent.rs', visibility: 'public' });
  const { id: unlisted } = await submitViaApi(request, { code: `// ${uniqueTag('unlisted')}\n`, language: 'rust' });

  await page.goto('/');
  await waitHydrated(page);

  const item = page.locator('ul#recent li').filter({ has: page.locator(`a[href="/s/${id}"]`) });
  await expect(item).toHaveCount(1);
  const link = item.locator(`a[href="/s/${id}"]`);
  await expect(link).toBeVisible();
  await expect(item.locator('.state')).toHaveCount(1);
  await expect(item.locator('.state')).not.toBeEmpty();
  await expect(page.locator(`a[href="/s/${unlisted}"]`)).toHaveCount(0);

  // The link leads to the snippet; a reader who does not own it gets no
  // controls that change it.
  await link.click();
  await page.waitForURL((url) => url.pathname === `/s/${id}`);
  await waitSucceeded(page);
  await expect(page.locator('article#snippet')).toHaveAttribute('data-owner', 'false');
  await expect(page.locator('form.language-form')).toHaveCount(0);
  await expect(page.locator('a#edit')).toHaveCount(0);
  await expect(fileSection(page, 'recent.rs')).toHaveAttribute('data-language', 'Rust');
});

test('(f2) your own snippets are listed for you, and reached by client-side navigation the page still offers every language', async ({ page }) => {
  await page.goto('/');
  await waitHydrated(page);
  const form = page.locator('form#paste-form');
  await fillFile(form, 0, { language: 'python', code: `# ${uniqueTag('mine')}\nprint(1)\n` });
  await form.locator('button#submit').click();
  await page.waitForURL(isSnippetUrl);
  const id = new URL(page.url()).pathname.slice(3);
  await waitSucceeded(page);

  await page.goto('/');
  await waitHydrated(page);
  const mine = page.locator('ul#mine li').filter({ has: page.locator(`a[href="/s/${id}"]`) });
  await expect(mine).toHaveCount(1);
  await expect(mine.locator('.visibility')).toHaveText('unlisted');
  await markNoReload(page);
  await mine.locator(`a[href="/s/${id}"]`).click();
  await page.waitForURL((url) => url.pathname === `/s/${id}`);
  await waitSucceeded(page);
  await expectNoReload(page, 'following a link in the list');
  await expect(page.locator('article#snippet')).toHaveAttribute('data-owner', 'true');
  await expect(page.locator('form.language-form input[name="language"]')).toHaveAttribute('list', 'language-list');
  await expect(page.locator('datalist#language-list option[value="Python"]')).toHaveCount(1);
  await expect(fileSection(page, 0).locator('.file-head span.language')).toHaveText('Python');
});
