// The operators' dashboard in a browser, on its own node (tokens set, a
// remote engine that is down, one attempt per job): sign-in, live counts
// as jobs finish, bulk retry with its confirmation, and a read-only
// session without a single action button.

import { test, expect } from '@playwright/test';
import { collectErrors, submitViaApi, uniqueTag, waitHydrated } from './helpers.mjs';

const BASE = process.env.E2E_ADMIN_BASE_URL;
const FULL = process.env.E2E_ADMIN_TOKEN;
const READ_ONLY = process.env.E2E_ADMIN_READONLY_TOKEN;

async function signIn(page, token) {
  await page.goto(`${BASE}/admin`);
  // No session: sent to the sign-in form.
  await expect(page).toHaveURL(`${BASE}/admin/login`);
  // A person types slower than the client loads; the test waits for it, so
  // that the islands router (not a full load) carries the form post.
  await waitHydrated(page);
  await page.fill('input[name=token]', token);
  await page.click('#sign-in button[type=submit]');
  await expect(page).toHaveURL(`${BASE}/admin`);
  await waitHydrated(page);
}

const failedCount = (page) => page.locator('#counts a[data-state=failed] .number');

test('a wrong token is refused, the right one opens the dashboard', async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto(`${BASE}/admin/login`);
  await waitHydrated(page);
  await page.fill('input[name=token]', 'not-the-token-0123456789');
  await page.click('#sign-in button[type=submit]');
  await expect(page).toHaveURL(`${BASE}/admin/login?failed=token`);
  await expect(page.locator('.sign-in .error')).toContainText('not a dashboard token');
  await signIn(page, FULL);
  await expect(page.locator('.admin-title .role')).toHaveText('full access');
  await expect(page.locator('#nodes tbody tr')).toHaveCount(1);
  expect(errors).toEqual([]);
});

test('counts move live as jobs finish, and a bulk retry asks with the count first', async ({ page, playwright }) => {
  const errors = collectErrors(page);
  await signIn(page, FULL);
  const before = Number(await failedCount(page).textContent());
  await page.evaluate(() => {
    window.__noReload = 1;
  });

  // Two jobs fail (the engine is down), while the page is open.
  const api = await playwright.request.newContext({ baseURL: BASE });
  const tag = uniqueTag('admin');
  for (let i = 0; i < 2; i++) {
    await submitViaApi(api, { code: `# ${tag}\nprint(${i})\n`, language: 'python' });
  }
  await expect(failedCount(page)).toHaveText(String(before + 2), { timeout: 30_000 });
  expect(await page.evaluate(() => window.__noReload)).toBe(1);

  // Filter to them: the table shows exactly those two, failed.
  await page.fill('#job-filters input[name=q]', tag);
  await page.click('#job-filters button[type=submit]');
  await expect(page).toHaveURL(new RegExp(`q=${tag}`));
  await expect(page.locator('#jobs-total')).toHaveText('2 matching');
  await expect(page.locator('#jobs tr.job[data-state=failed]')).toHaveCount(2);
  // The filter is an address: back returns to the whole table, forward to
  // the filtered one, without a reload.
  await page.goBack();
  await expect(page).toHaveURL(`${BASE}/admin`);
  await expect(page.locator('#job-filters input[name=q]')).toHaveValue('');
  await page.goForward();
  await expect(page).toHaveURL(new RegExp(`q=${tag}`));
  await expect(page.locator('#job-filters input[name=q]')).toHaveValue(tag);
  await expect(page.locator('#jobs-total')).toHaveText('2 matching');
  expect(await page.evaluate(() => window.__noReload)).toBe(1);

  // A job's attempts open under its row.
  await page.locator('#jobs tr.job button.details').first().click();
  await expect(page.locator('.attempt-list li').first()).toContainText('failed');

  // Retry everything the filter matches: the count first, then the act.
  await page.click('#bulk-retry');
  await expect(page.locator('#bulk-confirm')).toContainText('Retry 2 failed or retrying jobs?');
  await page.click('#bulk-confirm-yes');
  await expect(page.locator('#bulk-done')).toHaveText('Queued anew: 2 jobs.');
  // They run again (and fail again: the engine is still down): each job's
  // history now holds two failed attempts, and the table follows.
  const auth = { headers: { authorization: `Bearer ${FULL}` } };
  const { jobs } = await (await api.get(`/api/admin/jobs?q=${tag}`, auth)).json();
  for (const job of jobs) {
    await expect
      .poll(async () => (await (await api.get(`/api/admin/jobs/${job.id}`, auth)).json()).attempts.map((a) => a.outcome), {
        timeout: 30_000,
      })
      .toEqual(['failed', 'failed']);
  }
  await expect(page.locator('#jobs tr.job[data-state=failed]')).toHaveCount(2, { timeout: 30_000 });
  expect(errors).toEqual([]);
});

test('pause and resume show on the page', async ({ page }) => {
  await signIn(page, FULL);
  await page.click('#pause-toggle');
  await expect(page.locator('#pause')).toHaveClass(/paused/);
  await expect(page.locator('#pause-toggle')).toHaveText('Resume');
  await page.click('#pause-toggle');
  await expect(page.locator('#pause')).not.toHaveClass(/paused/);
});

test('a read-only session sees everything and no action button', async ({ page }) => {
  const errors = collectErrors(page);
  await signIn(page, READ_ONLY);
  await expect(page.locator('.admin-title .role')).toHaveText('read-only');
  await expect(page.locator('#counts')).toBeVisible();
  await expect(page.locator('#jobs-total')).toBeVisible();
  await expect(page.locator('#pause-toggle')).toHaveCount(0);
  await expect(page.locator('#bulk-retry')).toHaveCount(0);
  await expect(page.locator('#bulk-delete')).toHaveCount(0);
  expect(errors).toEqual([]);
});

test('the dashboard fits a 390 px screen', async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await signIn(page, FULL);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
});
