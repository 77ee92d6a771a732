// Owners, privacy and the Content-Security-Policy, in the browser.
//
// DOM contract (in addition to helpers.mjs):
//   /s/{id}     article#snippet[data-owner=true|false]; the owner's controls
//               (a#edit, form.language-form with input[name=language] and
//               select[name=file], details.delete > button#delete, the
//               "Try again" form) only when data-owner=true; button#fork for
//               every reader. Errors: article#snippet > p.form-error (the
//               fork's, then the owner's forms').
//               Each file: #files > section.file with .file-head span.language.
//               A burn-after-reading snippet seen by anyone else: section.sealed
//               with button#reveal ("Show it once"); once read, gone (410).
//   gone        section.gone[data-reason=expired|deleted|burned]

import { test, expect } from '@playwright/test';
import {
  HIGHLIGHT_TIMEOUT,
  fileSection,
  fillFile,
  isSnippetUrl,
  snippetIdFromUrl,
  submitPending,
  uniqueTag,
  waitHydrated,
  waitSucceeded,
} from './helpers.mjs';

/** Init script: records every CSP violation the page reports. */
function recordViolations() {
  window.__cspViolations = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
  });
}

async function expectNoViolations(page, what) {
  const violations = await page.evaluate(() => window.__cspViolations ?? []);
  expect(violations, `${what}: CSP violations`).toEqual([]);
}

/** Submits through the page's form and returns the new snippet's id. */
async function submitThroughForm(page, code, { language = 'python', listed = false, burn = false } = {}) {
  await page.goto('/');
  await waitHydrated(page);
  const form = page.locator('form#paste-form');
  await fillFile(form, 0, { language, code });
  if (listed) await form.locator('input[name="public"]').check();
  if (burn) await form.locator('input[name="burn_after_reading"]').check();
  await form.locator('button#submit').click();
  await page.waitForURL(isSnippetUrl);
  return snippetIdFromUrl(page.url());
}

test('(o1) the owner sees the controls, another browser does not; the owner deletes with a confirm step', async ({
  browser,
}) => {
  const owner = await browser.newContext();
  const other = await browser.newContext();
  try {
    const page = await owner.newPage();
    const id = await submitThroughForm(page, `# ${uniqueTag('owner')}\nprint("mine")\n`, { listed: true });
    await waitSucceeded(page);
    await expect(page.locator('article#snippet')).toHaveAttribute('data-owner', 'true');
    await expect(page.locator('form.language-form')).toBeVisible();
    await expect(page.locator('details.delete')).toBeVisible();
    await expect(page.locator('.snippet-head a#edit')).toHaveAttribute('href', `/s/${id}/edit`);
    await expect(page.locator('.snippet-head button#fork')).toBeVisible();

    const stranger = await other.newPage();
    await stranger.goto(`/s/${id}`);
    await waitHydrated(stranger);
    await waitSucceeded(stranger);
    await expect(stranger.locator('article#snippet')).toHaveAttribute('data-owner', 'false');
    await expect(stranger.locator('form.language-form')).toHaveCount(0);
    await expect(stranger.locator('details.delete')).toHaveCount(0);
    await expect(stranger.locator('a#edit')).toHaveCount(0);
    // Anyone who can read it can fork it; nobody else can edit it.
    await expect(stranger.locator('.snippet-head button#fork')).toBeVisible();
    const editPage = await stranger.request.get(`/s/${id}/edit`);
    expect(editPage.status(), 'a stranger on the edit page').toBe(403);
    // A stranger's own request is refused even if crafted by hand.
    const refused = await stranger.request.delete(`/api/snippets/${id}`);
    expect(refused.status()).toBe(403);

    // Re-highlight: a language the server does not know is refused in
    // words beside the form; a known one queues the snippet again and the
    // page follows the new run.
    const languageForm = page.locator('form.language-form');
    // Every file (the default), or one of them.
    await expect(languageForm.locator('select[name="file"]')).toHaveValue('');
    const errors = page.locator('article#snippet > p.form-error');
    await languageForm.locator('input[name="language"]').fill('No Such Language');
    await languageForm.locator('button[type="submit"]').click();
    // The fork's error line stays empty; the owner forms' says why.
    await expect(errors).toHaveText(['', /No Such Language/]);
    await expect(languageForm.locator('button[type="submit"]')).toBeEnabled();
    await languageForm.locator('input[name="language"]').fill('Ruby');
    await languageForm.locator('button[type="submit"]').click();
    await expect(fileSection(page, 0).locator('.file-head span.language')).toHaveText('Ruby', {
      timeout: HIGHLIGHT_TIMEOUT,
    });
    await waitSucceeded(page);
    await expect(fileSection(page, 0)).toHaveAttribute('data-language', 'Ruby');
    await expect(errors).toHaveText(['', '']);

    // Delete: hidden behind a confirm step, then gone for everyone, live.
    await expect(page.locator('button#delete')).toBeHidden();
    await page.locator('details.delete summary').click();
    await page.locator('button#delete').click();
    await page.waitForURL((url) => url.pathname === '/');
    // A finished snippet's page holds no stream: the next visit finds it gone.
    const after = await stranger.reload();
    expect(after.status()).toBe(410);
    await expect(stranger.locator('section.gone')).toHaveAttribute('data-reason', 'deleted');
  } finally {
    await owner.close();
    await other.close();
  }
});

test('(o2) a page served from another origin cannot change a snippet', async ({ browser }) => {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const id = await submitThroughForm(page, `# ${uniqueTag('csrf')}\nprint(1)\n`);
    await waitSucceeded(page);
    await expect(fileSection(page, 0).locator('.file-head span.language')).toHaveText('Python');

    // The same browser (its owner cookie is sent along: cookies ignore
    // ports, so another origin on this host is the same site) visits a page
    // of another origin, which posts a form and fires a fetch at us.
    const base = new URL(page.url()).origin;
    const attacker = `http://127.0.0.1:${Number(new URL(base).port) + 7}`;
    await page.route(`${attacker}/**`, (route) =>
      route.fulfill({
        contentType: 'text/html',
        body: `<!doctype html>
          <form id="f" method="post" action="${base}/rpc/language">
            <input name="id" value="${id}"><input name="language" value="text">
          </form>
          <script>
            fetch('${base}/rpc/delete', { method: 'POST', body: new URLSearchParams({ id: '${id}' }),
              credentials: 'include', mode: 'no-cors' })
              .finally(() => document.getElementById('f').submit());
          </script>`,
      }),
    );
    await page.goto(`${attacker}/`);
    await page.waitForURL((url) => url.origin === base);
    await expect(page.locator('body')).toContainText('other sites');

    const snippet = await page.request.get(`${base}/api/snippets/${id}`);
    expect(snippet.status()).toBe(200);
    const view = await snippet.json();
    expect(view.language).toBe('Python');
    expect(view.files.map((f) => f.language)).toEqual(['Python']);
    expect(view.revision, 'no revision was saved').toBe(1);
  } finally {
    await context.close();
  }
});

test('(o3) burn after reading: the owner reads freely, another reader once, then it is gone', async ({ browser }) => {
  const owner = await browser.newContext();
  const reader = await browser.newContext();
  try {
    await owner.addInitScript(recordViolations);
    await reader.addInitScript(recordViolations);
    const page = await owner.newPage();
    const secret = `launch_code = "${uniqueTag('burn')}"`;
    const id = await submitThroughForm(page, `${secret}\n`, { burn: true });
    await waitSucceeded(page);
    await expect(page.locator('.burns')).toBeVisible();
    await page.reload();
    await waitSucceeded(page);

    const other = await reader.newPage();
    await other.goto(`/s/${id}`);
    await waitHydrated(other);
    await expect(other.locator('section.sealed')).toBeVisible();
    await expect(other.locator('body')).not.toContainText(secret);
    // Looking did not burn it.
    await other.reload();
    await waitHydrated(other);
    await other.locator('button#reveal').click();
    await expect(other.locator('article#snippet #files > section.file').first()).toBeVisible();
    await expect(other.locator('article#snippet #files > section.file :is(div.highlighted pre, pre.source)').first()).toContainText(secret);
    await expectNoViolations(other, 'revealed page');

    await other.reload();
    await expect(other.locator('section.gone')).toHaveAttribute('data-reason', 'burned');
    await page.reload();
    await expect(page.locator('section.gone')).toHaveAttribute('data-reason', 'burned');
    await expectNoViolations(page, 'gone page');
  } finally {
    await owner.close();
    await reader.close();
  }
});

test('(o4) every page hydrates under the Content-Security-Policy without a violation', async ({ page }) => {
  await page.addInitScript(recordViolations);
  const messages = [];
  page.on('console', (msg) => {
    if (/Content Security Policy|Refused to/i.test(msg.text())) messages.push(msg.text());
  });
  const id = await submitThroughForm(page, `# ${uniqueTag('csp')}\nprint("csp")\n`, { listed: true });
  await waitSucceeded(page);
  await expectNoViolations(page, 'snippet page (client navigation)');
  for (const path of ['/', `/s/${id}`, `/s/${id}#L1`, '/no/such/page']) {
    // A fresh load each time (a hash-only change would not load at all).
    await page.goto('about:blank');
    const response = await page.goto(path);
    const policy = response.headers()['content-security-policy'] ?? '';
    expect(policy, path).toMatch(/script-src 'self' 'nonce-[^']+'/);
    expect(policy, path).not.toContain('unsafe-inline');
    await waitHydrated(page);
    await expectNoViolations(page, path);
  }
  // The theme toggle's before-paint script runs under the policy too.
  await page.goto('/');
  await waitHydrated(page);
  await page.locator('#theme-toggle').click();
  await page.reload();
  await waitHydrated(page);
  expect(await page.evaluate(() => document.documentElement.dataset.theme)).toMatch(/^(dark|light)$/);
  await expectNoViolations(page, 'home after reload');
  expect(messages, 'console CSP messages').toEqual([]);
});

test('(o5) both lists read well at 390 px wide', async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  try {
    const page = await context.newPage();
    await submitThroughForm(page, `# ${uniqueTag('narrow')} a fairly long first line that would wrap badly\n`, {
      listed: true,
    });
    await page.goto('/');
    await waitHydrated(page);
    for (const list of ['ul#mine', 'ul#recent']) {
      const row = page.locator(`${list} li`).first();
      await expect(row).toBeVisible();
      const title = await row.locator('a.title').boundingBox();
      const meta = await row.locator('.meta').boundingBox();
      // The title has the row's whole width; the facts sit under it.
      expect(title.width, `${list}: title width`).toBeGreaterThan(300);
      expect(meta.y, `${list}: facts under the title`).toBeGreaterThanOrEqual(title.y + title.height - 1);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, 'no horizontal scrolling').toBeLessThanOrEqual(0);
    }
    await page.screenshot({ path: 'test-results/home-390.png', fullPage: true });
  } finally {
    await context.close();
  }
});

test('(o6) a page showing a pending snippet learns live that its owner deleted it', async ({
  page,
  request,
  playwright,
}) => {
  const { id, owner_token } = await submitPending(playwright, {
    code: `# ${uniqueTag('live_delete')}\nprint(1)\n`,
    language: 'python',
  });
  await page.goto(`/s/${id}`);
  await waitHydrated(page);
  await expect(page.locator('article#snippet')).toHaveAttribute('data-state', 'queued');
  const deleted = await request.delete(`/api/snippets/${id}`, {
    headers: { authorization: `Bearer ${owner_token}` },
  });
  expect(deleted.status()).toBe(204);
  await expect(page.locator('section.gone')).toHaveAttribute('data-reason', 'deleted');
  await expect(page.locator('section.gone')).toBeVisible();
  // The files are the island's children, drawn once: hidden, not taken down.
  await expect(page.locator('article#snippet')).toBeHidden();
  await expect(page.locator('article#snippet')).toHaveAttribute('hidden', '');
  await expect(page.locator('#files > section.file').first()).toBeHidden();
});
