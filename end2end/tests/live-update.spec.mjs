import { test, expect } from '@playwright/test';
import {
  expectNoReload,
  expectSameText,
  fileSection,
  generatePython,
  highlightedText,
  markNoReload,
  submitViaApi,
  uniqueTag,
  waitHydrated,
  waitSucceeded,
} from './helpers.mjs';

test('(b) two open pages both receive the push and switch to the highlighted view without reloading', async ({
  context,
  playwright,
}) => {
  // Submitted to the web-only node: it stays queued, because nothing wakes
  // the main node's workers (their fallback poll is 10 minutes in e2e).
  const webOnly = await playwright.request.newContext({ baseURL: process.env.E2E_WEB_ONLY_BASE_URL });
  const code = `# ${uniqueTag('live')}\n` + generatePython(3000);
  const created = await submitViaApi(webOnly, { code, language: 'python' });
  const url = `/s/${created.id}`;

  const pageA = await context.newPage();
  const pageB = await context.newPage();
  await Promise.all([pageA.goto(url), pageB.goto(url)]);
  await Promise.all([waitHydrated(pageA), waitHydrated(pageB)]);
  await Promise.all([markNoReload(pageA), markNoReload(pageB)]);
  for (const page of [pageA, pageB]) {
    await expect(page.locator('article#snippet')).toHaveAttribute('data-state', 'queued');
    await expect(page.locator('article#snippet .state-label')).toHaveText('Queued');
    await expect(page.locator('article#snippet progress')).toBeVisible();
    await expect(fileSection(page, 0)).toHaveAttribute('data-highlighted', 'false');
    await expect(fileSection(page, 0).locator('div.highlighted pre.source')).toBeVisible();
  }

  // Any submit to the main node wakes its workers, which claim every due
  // job, ours included. The pages learn of it only by push.
  await submitViaApi(pageA.request, { code: 'print("wake up")\n', language: 'python' });

  await Promise.all([waitSucceeded(pageA), waitSucceeded(pageB)]);
  for (const [name, page] of [['page A', pageA], ['page B', pageB]]) {
    await expect(fileSection(page, 0).locator('.file-head span.language')).toHaveText('Python');
    await expect(fileSection(page, 0)).toHaveAttribute('data-highlighted', 'true');
    await expect(fileSection(page, 0).locator('div.highlighted pre.hl x-k').first()).toBeAttached();
    await expect(page.locator('article#snippet .state-label')).toHaveText(/^Highlighted in \d+ ms$/);
    await expect(page.locator('article#snippet progress')).toHaveCount(0);
    // The same revision finished: no "Updated just now".
    await expect(page.locator('article#snippet .updated')).toHaveCount(0);
    expectSameText(await highlightedText(page), code, `${name} highlighted text`);
    await expectNoReload(page, name);
  }
  await webOnly.dispose();
});
