import { test, expect } from '@playwright/test';
import { isSnippetUrl, submitPending, uniqueTag, waitHydrated } from './helpers.mjs';

/** Event streams open on the main node, as /metrics counts them. */
async function openStreams(request) {
  const response = await request.get('/metrics');
  expect(response.status(), '/metrics answers this machine').toBe(200);
  const text = await response.text();
  const line = text.split('\n').find((l) => l.startsWith('highlighter_event_streams_open '));
  expect(line, 'the open-streams gauge').toBeTruthy();
  return Number(line.split(' ')[1]);
}

// A page left by the islands router must let go of its event stream: with
// a stream left behind per visit, the browser's six connections per host
// ran out after a few clicks and the tab froze.
test('(n1) ten round trips home -> snippet by clicking: every navigation completes, and the tab never holds more than two streams', async ({
  page,
  playwright,
  request,
}) => {
  // Pending snippets (queued on the node without workers) keep a stream
  // open on their own pages too, not only on the home page.
  const tag = uniqueTag('nav');
  const snippets = [];
  for (const n of [1, 2]) {
    const { id } = await submitPending(playwright, {
      code: `# ${tag} ${n}\nprint(${n})\n`,
      language: 'python',
      visibility: 'public',
    });
    snippets.push(id);
  }

  await page.goto('/');
  await waitHydrated(page);
  let most = await openStreams(request);
  for (let trip = 0; trip < 10; trip++) {
    const id = snippets[trip % 2];
    await page.locator(`ul#recent a[href="/s/${id}"]`).click();
    await page.waitForURL((url) => url.pathname === `/s/${id}`, { timeout: 10_000 });
    await expect(page.locator('article#snippet[data-live="true"]')).toBeVisible();
    await expect.poll(() => openStreams(request), { message: `streams after trip ${trip}, on the snippet` }).toBeLessThanOrEqual(2);
    most = Math.max(most, await openStreams(request));

    await page.locator('header.site a.brand').click();
    await page.waitForURL((url) => url.pathname === '/', { timeout: 10_000 });
    await expect(page.locator('div.lists[data-live="true"]')).toBeVisible();
    await expect.poll(() => openStreams(request), { message: `streams after trip ${trip}, home` }).toBeLessThanOrEqual(2);
    most = Math.max(most, await openStreams(request));
  }
  expect(most, 'the most streams seen open at once').toBeLessThanOrEqual(2);
  // Each page really had its stream: the last one still works.
  expect(await openStreams(request), 'the home page holds its one stream').toBeGreaterThanOrEqual(1);
  expect(isSnippetUrl(new URL(page.url()))).toBe(false);
});
