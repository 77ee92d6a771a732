import fs from 'node:fs';
import path from 'node:path';
import { test, expect } from '@playwright/test';
import {
  collectErrors,
  generatePython,
  saveRevisionViaApi,
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

// The client's files as the build named them: `hash.txt` beside the
// server binary (xtask/src/names.rs) gives each its content hash.
function siteFileNames() {
  const hashes = {};
  try {
    const text = fs.readFileSync(path.join(path.dirname(process.env.HIGHLIGHTER_BIN), 'hash.txt'), 'utf8');
    for (const line of text.split('\n')) {
      const [kind, hash] = line.split(':').map((part) => part && part.trim());
      if (kind && hash) hashes[kind] = hash;
    }
  } catch {
    // No hash file: the plain names.
  }
  return {
    wasm: hashes.wasm ? `/pkg/highlighter.${hashes.wasm}.wasm` : '/pkg/highlighter.wasm',
    manifest: hashes.manifest ? `/pkg/__wasm_split_manifest.${hashes.manifest}.json` : '/pkg/__wasm_split_manifest.json',
    hashed: Boolean(hashes.wasm),
  };
}

test('a visitor\'s page never downloads the dashboard\'s code, and keeps the client for good', async ({ page }) => {
  const names = siteFileNames();
  const wasm = [];
  const caching = {};
  page.on('response', (response) => {
    const pathname = new URL(response.url()).pathname;
    if (pathname.startsWith('/pkg/')) caching[pathname] = response.headers()['cache-control'];
    if (pathname.endsWith('.wasm')) wasm.push(pathname);
  });
  await page.goto('/');
  await waitHydrated(page);
  await settle(page);
  // The main bundle and the home page's own lazy islands (the paste form,
  // the lists), never the dashboard's: it is a lazy island in a chunk of
  // its own (split out by xtask), fetched when /admin opens.
  expect(wasm[0]).toBe(names.wasm);
  expect(wasm.filter((file) => file.includes('highlighter.'))).toEqual([names.wasm]);
  expect(wasm.some((file) => file.includes('paste_form'))).toBe(true);
  expect(wasm.filter((file) => file.includes('admin'))).toEqual([]);
  // Named by their content, the client's files are kept for good.
  expect(names.hashed).toBe(true);
  expect(Object.keys(caching).length).toBeGreaterThanOrEqual(2);
  for (const [file, value] of Object.entries(caching)) {
    expect(value, file).toBe('public, max-age=31536000, immutable');
  }
  const manifest = await (await page.request.get(names.manifest)).json();
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

test('(e) a snippet of several files with Markdown hydrates without console errors, pending and done, and so do its old revision, diff and edit pages', async ({
  page,
  request,
  playwright,
}) => {
  const files = [
    { name: 'main.py', language: 'python', code: `# ${uniqueTag('hydrate_files')}\n` + generatePython(300) },
    { name: 'README.md', code: '# Read me\n\nSome *text*.\n\n```rust\nfn main() {}\n```\n' },
    { name: 'lib.rs', code: 'pub fn answer() -> u32 {\n    42\n}\n' },
  ];
  const created = await submitPending(playwright, { files });
  const id = created.id;

  const errors = collectErrors(page);
  await page.goto(`/s/${id}`);
  await waitHydrated(page);
  await expect(page.locator('article#snippet')).toHaveAttribute('data-state', 'queued');
  await expect(page.locator('#files > section.file')).toHaveCount(3);
  await wakeWorkers(request);
  await waitSucceeded(page);
  await expect(page.locator('#files > section.file[data-name="README.md"] .rendered h1')).toHaveText('Read me');
  await settle(page);
  expect(errors, 'errors while a snippet of three files was highlighted').toEqual([]);

  await page.reload();
  await waitHydrated(page);
  await waitSucceeded(page);
  await settle(page);
  expect(errors, 'errors while loading a highlighted snippet of three files').toEqual([]);

  // Revision 2, then the pages about revisions.
  await saveRevisionViaApi(request, id, created.owner_token, {
    base_revision: 1,
    files: [files[0], files[1], { name: 'lib.rs', code: 'pub fn answer() -> u32 {\n    43\n}\n' }],
  });
  await expect(page.locator('article#snippet')).toHaveAttribute('data-revision', '2', { timeout: 30_000 });
  await settle(page);
  expect(errors, 'errors while switching live to revision 2').toEqual([]);

  await page.goto(`/s/${id}/r/1`);
  await waitHydrated(page);
  await expect(page.locator('article#snippet')).toHaveAttribute('data-revision', '1');
  await expect(page.locator('article#snippet .newer')).toBeVisible();
  await settle(page);
  expect(errors, 'errors on the page of revision 1').toEqual([]);

  await page.goto(`/s/${id}/diff/1/2`);
  await waitHydrated(page);
  await expect(page.locator('section.diff-file')).toHaveCount(1);
  await settle(page);
  expect(errors, 'errors on the diff page').toEqual([]);

  // Not this browser's snippet: the edit page refuses, cleanly.
  const refused = await page.goto(`/s/${id}/edit`);
  expect(refused.status()).toBe(403);
  await waitHydrated(page);
  await settle(page);
  // Chromium reports the document's own 403 on the console; nothing else may be there.
  const own403 = `console.error: Failed to load resource: the server responded with a status of 403 (Forbidden) (at ${new URL(`/s/${id}/edit`, page.url()).href})`;
  expect(errors.filter((e) => e !== own403), 'errors on the refused edit page').toEqual([]);
});
