import { test, expect } from '@playwright/test';
import { submitViaApi, uniqueTag, waitHydrated, waitSucceeded } from './helpers.mjs';

test('(f) the home page lists a submitted snippet under #recent', async ({ page, request }) => {
  const code = `fn main() { println!("${uniqueTag('recent')}"); }`;
  const { id } = await submitViaApi(request, { code, language: 'auto', filename: 'recent.rs' });

  await page.goto('/');
  await page.reload();
  await waitHydrated(page);

  const item = page.locator('ul#recent li').filter({ has: page.locator(`a[href="/s/${id}"]`) });
  await expect(item).toHaveCount(1);
  const link = item.locator(`a[href="/s/${id}"]`);
  await expect(link).toBeVisible();
  await expect(item.locator('.state')).toHaveCount(1);
  await expect(item.locator('.state')).not.toBeEmpty();

  // The link leads to the snippet.
  await link.click();
  await page.waitForURL((url) => url.pathname === `/s/${id}`);
  await waitSucceeded(page);
  // Reached without a server render, the page still offers every language
  // to change to (the client fetches the list the server would have written).
  await expect(page.locator('datalist#language-list option[value="Python"]')).toHaveCount(1);
});
