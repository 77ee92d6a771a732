import { test, expect } from '@playwright/test';
import {
  ANY_STATE_RE,
  HIGHLIGHT_TIMEOUT,
  expectNoReload,
  expectSameText,
  fileSection,
  fillFile,
  highlightedText,
  isSnippetUrl,
  markNoReload,
  normalizeNewlines,
  snippetIdFromUrl,
  uniqueTag,
  waitHydrated,
  waitSucceeded,
} from './helpers.mjs';

test('(a) JS on: submitting the form navigates client-side to the highlighted snippet', async ({ page }) => {
  const tag = uniqueTag('rust');
  const code = [
    `// ${tag}`,
    'use std::collections::HashMap;',
    '',
    '/// Counts words & prints the <top> entries.',
    'fn main() {',
    '    let mut counts: HashMap<&str, usize> = HashMap::new();',
    '    for word in "a b a c".split_whitespace() {',
    '        *counts.entry(word).or_insert(0) += 1;',
    '    }',
    '    println!("{:?} {}", counts, r#"raw "string""#);',
    '}',
  ].join('\n');

  await page.goto('/');
  await waitHydrated(page);

  const form = page.locator('form#paste-form');
  await expect(form).toBeVisible();
  // One file to start with, and no "Remove" for it.
  await expect(form.locator('fieldset.file-fields')).toHaveCount(1);
  await expect(form.locator('button.remove-file')).toHaveCount(0);
  // A searchable picker: an input over a datalist of every language; empty is auto.
  const language = form.locator('input#language-0[name="files[0][language]"]');
  await expect(language).toHaveValue('');
  await expect(language).toHaveAttribute('list', 'language-list');
  await expect(page.locator('datalist#language-list option[value="Rust"]')).toHaveCount(1);
  await expect(page.locator('datalist#language-list option[value="Python"]')).toHaveCount(1);

  await fillFile(form, 0, { name: 'main.rs', code });

  await markNoReload(page);
  await form.locator('button#submit').click();
  await page.waitForURL(isSnippetUrl);
  snippetIdFromUrl(page.url());

  const article = page.locator('article#snippet');
  await expect(article).toHaveAttribute('data-state', ANY_STATE_RE);
  await expect(article).toHaveAttribute('data-revision', '1');
  await expect(page.locator('article#snippet .snippet-head .state-label')).toBeVisible();

  await waitSucceeded(page);
  const file = fileSection(page, 'main.rs');
  await expect(page.locator('#files > section.file')).toHaveCount(1);
  await expect(file).toHaveAttribute('id', 'file-main-rs');
  await expect(file.locator('div.highlighted pre.hl code > *').first()).toBeVisible();
  // language "auto" + filename "main.rs" must be detected as Rust.
  await expect(file.locator('.file-head span.language')).toHaveText('Rust');
  await expect(file).toHaveAttribute('data-language', 'Rust');
  await expect(file.locator('div.highlighted pre.hl x-k').first()).toBeAttached();
  await expect(page.locator('article#snippet progress')).toHaveCount(0);
  await expect(page.locator('.snippet-head h1')).toHaveText('main.rs');
  await expect(page.locator('.snippet-head .count')).toHaveText('1 file');

  expectSameText(normalizeNewlines(await highlightedText(page, 'main.rs')), code, 'highlighted text');
  await expectNoReload(page);
});

test('(a2) JS on: a refused submit says why beside the form, and the page stays', async ({ page }) => {
  await page.goto('/');
  await waitHydrated(page);
  const form = page.locator('form#paste-form');
  // Blank code passes the browser's `required` check; the server refuses it.
  await fillFile(form, 0, { code: '   \n  ' });
  await markNoReload(page);
  await form.locator('button#submit').click();
  await expect(form.locator('p.form-error')).toHaveText('The snippet is empty: paste some code first.');
  await expect(form.locator('button#submit')).toHaveText('Highlight');
  await expect(form.locator('button#submit')).toBeEnabled();
  // What was typed is still there.
  await expect(form.locator('textarea#code-0')).toHaveValue('   \n  ');
  expect(new URL(page.url()).pathname).toBe('/');
  await expectNoReload(page);
});

test('(c) JS off: plain form POST redirects to the snippet, reloading shows the highlight', async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  try {
    const page = await context.newPage();
    const tag = uniqueTag('nojs');
    const code = [
      `# ${tag}`,
      'def greet(name: str) -> str:',
      '    return f"Hello, {name} <&>"',
      '',
      'print(greet("world"))',
    ].join('\n');

    await page.goto('/');
    const form = page.locator('form#paste-form');
    await expect(form).toBeVisible();
    await expect(form.locator('input#language-0[name="files[0][language]"]')).toHaveValue('');
    await fillFile(form, 0, { language: 'Python', code });
    await form.locator('button#submit').click();

    await page.waitForURL(isSnippetUrl);
    snippetIdFromUrl(page.url());
    // Sanity: without JS the page must never hydrate.
    await expect(page.locator('html')).not.toHaveAttribute('data-hydrated', 'true');

    const article = page.locator('article#snippet');
    await expect(article).toHaveAttribute('data-state', ANY_STATE_RE);

    // No JS means no live updates: reload until the worker is done.
    const deadline = Date.now() + Math.min(HIGHLIGHT_TIMEOUT, 30_000);
    let state = await article.getAttribute('data-state');
    while (state !== 'succeeded' && state !== 'failed' && Date.now() < deadline) {
      // Server-rendered pending view: progress bar + escaped source.
      await expect(page.locator('#files > section.file pre.source')).toBeAttached();
      await page.waitForTimeout(500);
      await page.reload();
      state = await article.getAttribute('data-state');
    }
    if (state === 'failed') {
      throw new Error(`snippet failed: ${await page.locator('article#snippet .error').first().textContent()}`);
    }
    expect(state, 'snippet did not reach "succeeded" before the deadline').toBe('succeeded');

    await waitSucceeded(page);
    await expect(page.locator('#files > section.file')).toHaveCount(1);
    await expect(fileSection(page, 0).locator('.file-head span.language')).toHaveText('Python');
    await expect(fileSection(page, 0).locator('div.highlighted pre.hl x-k').first()).toBeAttached();
    expectSameText(normalizeNewlines(await highlightedText(page)), code, 'highlighted text');
  } finally {
    await context.close();
  }
});
