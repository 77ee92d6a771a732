import { test, expect } from '@playwright/test';
import {
  collectErrors,
  generatePython,
  submitPending,
  uniqueTag,
  waitHydrated,
  waitSucceeded,
  wakeWorkers,
} from './helpers.mjs';

// Time given to the client after hydration to surface late errors
// (hydration mismatches, panics in effects, failed stream connections).
const SETTLE_MS = 1_500;

async function settle(page) {
  await page.waitForTimeout(SETTLE_MS);
}

test('(e) home page hydrates without console errors', async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto('/');
  await waitHydrated(page);
  await expect(page.locator('form#paste-form')).toBeVisible();
  await settle(page);
  expect(errors).toEqual([]);
});

test('a visitor\'s page never downloads the dashboard\'s code', async ({ page }) => {
  const wasm = [];
  page.on('request', (request) => {
    if (new URL(request.url()).pathname.endsWith('.wasm')) wasm.push(new URL(request.url()).pathname);
  });
  await page.goto('/');
  await waitHydrated(page);
  await settle(page);
  // The main bundle only: the dashboard is a lazy island in a chunk of its
  // own (built with `cargo leptos --split`), fetched when /admin opens.
  expect(wasm).toEqual(['/pkg/highlighter.wasm']);
  const manifest = await (await page.request.get('/pkg/__wasm_split_manifest.json')).json();
  const chunks = Object.values(manifest).flat();
  expect(chunks.length).toBeGreaterThan(0);
  expect(chunks.some((chunk) => chunk.includes('admin'))).toBe(true);
});

test('(e) snippet page hydrates without console errors (pending at load, then succeeded at load)', async ({ page, request, playwright }) => {
  const code = `# ${uniqueTag('hydrate')}\n` + generatePython(1500);
  const { id } = await submitPending(playwright, { code, language: 'python' });

  // Rendered pending, hydrated, then updated live.
  const errors = collectErrors(page);
  await page.goto(`/s/${id}`);
  await waitHydrated(page);
  await expect(page.locator('article#snippet')).toHaveAttribute('data-state', 'queued');
  await wakeWorkers(request);
  await waitSucceeded(page);
  await settle(page);
  expect(errors, 'errors while loading a pending snippet page').toEqual([]);

  // Fresh load of the finished snippet: server-rendered highlighted HTML must
  // hydrate cleanly too.
  await page.reload();
  await waitHydrated(page);
  await waitSucceeded(page);
  await settle(page);
  expect(errors, 'errors while loading a highlighted snippet page').toEqual([]);
});
