// Shared helpers for the Highlighter end-to-end tests.
//
// DOM contract (implemented by the app):
//   /            form#paste-form; one fieldset.file-fields[data-key=N] per file with
//                input#name-N[name="files[N][name]"],
//                input#language-N[name="files[N][language]"][list=language-list]
//                (over datalist#language-list; empty = auto-detect) and
//                textarea#code-N[name="files[N][code]"]; button#add-file ("Add file":
//                in place with JS, a post to / that draws the form again without);
//                button.remove-file per file when there are 2+; select[name=expires_in];
//                input[name=public] (List on the front page), input[name=burn_after_reading];
//                button#submit ("Highlight"); p.form-error.
//                ul#mine (the browser's own) and ul#recent (public) > li[data-id] >
//                a[href^="/s/"] + span.state (live, one EventSource)
//   /s/{id}      article#snippet[data-state=queued|processing|retrying|succeeded|failed]
//                [data-revision][data-owner]; header.snippet-head with h1, .revision,
//                .count, .state-label, a#raw (one file only), a#download, button#fork,
//                a#edit (owner); pending: <progress>.
//                #files > section.file#file-{slug}[data-name][data-hash][data-language]
//                [data-lines][data-highlighted=true|false] with .file-head (h2,
//                span.language, button.copy, a.raw) and div.code-view > div.gutter
//                (a.line-number#file-{slug}-L{n}; the first file's also name="L{n}") +
//                div.code-scroll > (div.line-mark, div.highlighted > pre.hl with
//                runs (x-k, x-s…) once highlighted, pre.source (escaped) while pending);
//                failed: .error with the reason
//   <html data-hydrated="true"> once the WASM client has hydrated the page it
//   loaded first; [data-live="false"] on an island's root until that island
//   runs (islands a client-side navigation brings in hydrate after it).

import { expect } from '@playwright/test';
import os from 'node:os';

export const SNIPPET_ID_RE = /^[0-9A-Za-z]{12}$/;
export const SNIPPET_PATH_RE = /^\/s\/[0-9A-Za-z]{12}$/;
export const PENDING_STATES = ['queued', 'processing', 'retrying'];
export const ALL_STATES = [...PENDING_STATES, 'succeeded', 'failed'];
export const ANY_STATE_RE = new RegExp(`^(${ALL_STATES.join('|')})$`);

/** How long a snippet may take to go from submitted to succeeded/failed. */
export const HIGHLIGHT_TIMEOUT = 45_000;
/** How long the WASM client may take to load and hydrate. */
export const HYDRATE_TIMEOUT = 30_000;

/** Predicate for page.waitForURL(): the URL is a snippet page /s/{id}. */
export const isSnippetUrl = (url) => SNIPPET_PATH_RE.test(url.pathname);

/** Extract the snippet id from a page URL (asserting it is a snippet page). */
export function snippetIdFromUrl(pageUrl) {
  const { pathname } = new URL(pageUrl);
  expect(pathname, `expected to be on /s/{id}, got ${pageUrl}`).toMatch(SNIPPET_PATH_RE);
  return pathname.slice('/s/'.length);
}

/**
 * Create a snippet through the JSON API (`POST /api/snippets`).
 * `request` is any APIRequestContext (the `request` fixture or `page.request`).
 * Either `files` ([{ name, language, code }]) or the one-file `code`,
 * `language`, `filename`.
 * Returns the parsed `{ id, url, state, owner_token, revision }` body.
 */
export async function submitViaApi(
  request,
  { files, code, language = 'auto', filename, visibility, burn_after_reading } = {},
) {
  const data = files !== undefined ? { files } : { code, language };
  if (visibility !== undefined) data.visibility = visibility;
  if (burn_after_reading !== undefined) data.burn_after_reading = burn_after_reading;
  if (filename !== undefined) data.filename = filename;
  const response = await request.post('/api/snippets', { data });
  const bodyText = await response.text();
  expect(response.status(), `POST /api/snippets answered: ${bodyText.slice(0, 500)}`).toBe(201);
  expect(response.headers()['content-type'] ?? '').toContain('application/json');
  const body = JSON.parse(bodyText);
  expect(body.id, 'snippet id').toMatch(SNIPPET_ID_RE);
  expect(body.url, 'snippet url').toMatch(new RegExp(`(^|/)s/${body.id}$`));
  expect(body.state, 'initial state').toMatch(ANY_STATE_RE);
  expect(body.owner_token, 'owner token').toMatch(/^[0-9A-Za-z]{32}$/);
  expect(body.revision, 'a new snippet is revision 1').toBe(1);
  return body;
}

/**
 * Save a new revision through the JSON API (`PUT /api/snippets/{id}`) with
 * the owner's token. Returns the parsed body (`{ id, url, state, revision }`).
 */
export async function saveRevisionViaApi(request, id, ownerToken, { base_revision, files }) {
  const response = await request.put(`/api/snippets/${id}`, {
    headers: { authorization: `Bearer ${ownerToken}` },
    data: { base_revision, files },
  });
  const bodyText = await response.text();
  expect(response.status(), `PUT /api/snippets/${id} answered: ${bodyText.slice(0, 500)}`).toBe(201);
  const body = JSON.parse(bodyText);
  expect(body.revision, 'the saved revision').toBe(base_revision + 1);
  return body;
}

/** Wait until the WASM client has hydrated the current document, every island of it. */
export async function waitHydrated(page, { timeout = HYDRATE_TIMEOUT } = {}) {
  await page.waitForSelector('html[data-hydrated="true"]', { state: 'attached', timeout });
  await page.waitForFunction(() => !document.querySelector('[data-live="false"]'), null, { timeout });
}

/**
 * Collect console errors and uncaught page errors from `page`.
 * Returns a live array of strings; only the favicon 404 is ignored.
 */
export function collectErrors(page) {
  const errors = [];
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    const where = msg.location()?.url ?? '';
    if (/favicon/i.test(text) || /favicon/i.test(where)) return;
    errors.push(`console.error: ${text}${where ? ` (at ${where})` : ''}`);
  });
  page.on('pageerror', (err) => {
    errors.push(`pageerror: ${err?.stack || err?.message || String(err)}`);
  });
  return errors;
}

/** Marker for "no full page reload happened": set before, check after. */
export async function markNoReload(page) {
  await page.evaluate(() => {
    window.__noReload = 1;
  });
}

export async function expectNoReload(page, what = 'page') {
  const marker = await page.evaluate(() => window.__noReload);
  expect(marker, `${what}: window.__noReload was lost, i.e. a full page reload happened`).toBe(1);
}

/**
 * Wait (auto-retrying, no reloads) until the snippet page reaches a terminal
 * state; fail fast with the reason when it failed. Then wait until every
 * file shows its highlighted markup.
 */
export async function waitSucceeded(page, { timeout = HIGHLIGHT_TIMEOUT } = {}) {
  const article = page.locator('article#snippet');
  await expect(article).toHaveAttribute('data-state', /^(succeeded|failed)$/, { timeout });
  const state = await article.getAttribute('data-state');
  if (state === 'failed') {
    const reason = await page.locator('article#snippet .error').first().textContent().catch(() => null);
    throw new Error(`snippet ${page.url()} failed to highlight: ${reason ?? '(no .error element)'}`);
  }
  const sections = page.locator('#files > section.file');
  await expect(sections.first()).toBeAttached();
  await expect(page.locator('#files > section.file:not([data-highlighted="true"])')).toHaveCount(0);
  await expect(page.locator('#files > section.file pre.source')).toHaveCount(0);
  await expect(page.locator('#files > section.file div.highlighted pre.hl code > *').first()).toBeAttached();
}

/** The anchor (section id) of a file name: `main.rs` -> `file-main-rs`. */
export function fileAnchor(name) {
  let slug = 'file-';
  let dash = false;
  for (const c of name.toLowerCase()) {
    if (/[\p{L}\p{N}]/u.test(c)) {
      slug += c;
      dash = false;
    } else if (!dash) {
      slug += '-';
      dash = true;
    }
  }
  return slug.replace(/-+$/, '');
}

/** The section of the file named `name` (or the `n`th file, 0-based, for a number). */
export function fileSection(page, nameOrIndex = 0) {
  return typeof nameOrIndex === 'number'
    ? page.locator('#files > section.file').nth(nameOrIndex)
    : page.locator(`#files > section.file[data-name="${nameOrIndex}"]`);
}

/** textContent of a file's code (highlighted or pending): the first file by default. */
export async function highlightedText(page, nameOrIndex = 0) {
  return (await fileSection(page, nameOrIndex).locator('div.highlighted pre').first().textContent()) ?? '';
}

/** Fill the file fieldset `key` of a form of files. */
export async function fillFile(form, key, { name, language, code }) {
  const fieldset = form.locator(`fieldset.file-fields[data-key="${key}"]`);
  if (name !== undefined) await fieldset.locator(`input#name-${key}[name="files[${key}][name]"]`).fill(name);
  if (language !== undefined) {
    await fieldset.locator(`input#language-${key}[name="files[${key}][language]"]`).fill(language);
  }
  if (code !== undefined) await fieldset.locator(`textarea#code-${key}[name="files[${key}][code]"]`).fill(code);
}

/**
 * Compare two (possibly large) strings; on mismatch report the first differing
 * position with some context instead of dumping megabytes of diff.
 */
export function expectSameText(actual, expected, what = 'text') {
  if (actual === expected) return;
  let i = 0;
  while (i < actual.length && i < expected.length && actual[i] === expected[i]) i++;
  const ctx = (s) => JSON.stringify(s.slice(Math.max(0, i - 40), i + 40));
  throw new Error(
    `${what} differs at index ${i} (actual length ${actual.length}, expected length ${expected.length})\n` +
      `  actual:   ...${ctx(actual)}...\n` +
      `  expected: ...${ctx(expected)}...`,
  );
}

/** Browsers submit textarea line breaks as CRLF; the DOM shows LF. */
export const normalizeNewlines = (s) => s.replace(/\r\n?/g, '\n');

/** Deterministic, syntactically valid Python of roughly `lines` lines. */
export function generatePython(lines) {
  const out = ['import math', 'from dataclasses import dataclass', ''];
  let i = 0;
  while (out.length < lines) {
    out.push(
      `@dataclass`,
      `class Item${i}:`,
      `    """Item number ${i} with <angle> & "quotes"."""`,
      `    value: int = ${i}`,
      ``,
      `def compute_${i}(x, y=${i}, *args, **kwargs):`,
      `    # comment ${i}: multiply & add`,
      `    if x > y and not kwargs.get('skip', False):`,
      `        return math.sqrt(x * y) + ${i}.5`,
      `    return [v for v in args if v != '${i}'] or None`,
      ``,
    );
    i++;
  }
  return out.slice(0, lines).join('\n') + '\n';
}

/**
 * Queue enough big snippets to keep every highlighter worker busy for a while,
 * so that a snippet submitted right afterwards stays pending long enough to
 * observe its pending view and the live switch to the highlighted view.
 * The server runs on this machine with one worker per core by default
 * (HIGHLIGHTER_WORKERS), so queue two big jobs per core.
 */
export async function occupyWorkers(request, { perWorker = 2, lines = 3000 } = {}) {
  const cores = Math.min(Math.max(os.availableParallelism?.() ?? os.cpus().length, 1), 8);
  const jobs = [];
  for (let i = 0; i < cores * perWorker; i++) {
    jobs.push(submitViaApi(request, { code: `# blocker ${i}\n` + generatePython(lines), language: 'python' }));
  }
  return Promise.all(jobs);
}

/** Unique marker so tests can find "their" snippet in shared server state. */
export const uniqueTag = (prefix = 'e2e') =>
  `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;

/**
 * Submits through the web-only node (no workers): the snippet stays queued
 * until `wakeWorkers` is called, because the main node's fallback poll is
 * ten minutes in e2e. Deterministic pending state, no timing games.
 */
export async function submitPending(playwright, fields) {
  const webOnly = await playwright.request.newContext({ baseURL: process.env.E2E_WEB_ONLY_BASE_URL });
  try {
    return await submitViaApi(webOnly, fields);
  } finally {
    await webOnly.dispose();
  }
}

/** Any submit to the main node wakes its workers; they claim every due job. */
export async function wakeWorkers(request) {
  await submitViaApi(request, { code: `# ${uniqueTag('wake')}\n`, language: 'python' });
}

// ---------------------------------------------------------------------------
// Product features (end2end/tests/product.spec.mjs).

/**
 * Init script (for page/context.addInitScript): wraps window.EventSource so
 * that every stream the page opens is recorded in window.__eventSources.
 * Runs before any page script, so the app's streams are all counted.
 */
export function recordEventSources() {
  const Native = window.EventSource;
  if (!Native || window.__eventSources) return;
  window.__eventSources = [];
  class RecordingEventSource extends Native {
    constructor(...args) {
      super(...args);
      window.__eventSources.push(this);
    }
  }
  window.EventSource = RecordingEventSource;
}

/** `{ url, readyState }` of every EventSource the page has created. */
export async function eventSources(page) {
  return page.evaluate(() =>
    (window.__eventSources ?? []).map((es) => ({ url: es.url, readyState: es.readyState })),
  );
}

/**
 * Assert (auto-retrying) that the page created exactly one EventSource, to
 * `urlRe`, and that it is OPEN (readyState 1): the server has answered, so
 * the stream is subscribed. Returns its url.
 */
export async function expectOneOpenEventSource(page, urlRe, what = 'page') {
  await expect
    .poll(async () => (await eventSources(page)).length, { message: `${what}: EventSources created` })
    .toBe(1);
  await expect
    .poll(async () => (await eventSources(page))[0].readyState, {
      message: `${what}: readyState of its EventSource (0 connecting, 1 open, 2 closed)`,
    })
    .toBe(1);
  const [only] = await eventSources(page);
  expect(only.url, `${what}: EventSource url`).toMatch(urlRe);
  return only.url;
}

/**
 * Wait through the JSON API (no page) until the snippet has finished; fail
 * with the reason when it failed. Returns the snippet view.
 */
export async function waitSucceededViaApi(request, id, { timeout = HIGHLIGHT_TIMEOUT } = {}) {
  let view = null;
  await expect
    .poll(
      async () => {
        const response = await request.get(`/api/snippets/${id}`);
        if (!response.ok()) return `HTTP ${response.status()}`;
        view = await response.json();
        return view.state;
      },
      { timeout, message: `snippet ${id} state` },
    )
    .toMatch(/^(succeeded|failed)$/);
  if (view.state === 'failed') throw new Error(`snippet ${id} failed to highlight: ${view.error}`);
  return view;
}

/**
 * The colour the page is painted with: body's background-color, or the root
 * element's when body's is transparent (the background propagates).
 */
export async function pageBackground(page) {
  return page.evaluate(() => {
    const transparent = (c) => c === 'transparent' || /^rgba\(.*,\s*0\)$/.test(c);
    const body = getComputedStyle(document.body).backgroundColor;
    return transparent(body) ? getComputedStyle(document.documentElement).backgroundColor : body;
  });
}
