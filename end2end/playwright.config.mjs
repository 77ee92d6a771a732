// Playwright end-to-end configuration for Highlighter.
//
// Runs the tests against the *real* release server binary:
//
//   HIGHLIGHTER_BIN=/abs/path/to/target/release/highlighter \
//   LEPTOS_SITE_ROOT=/abs/path/to/target/site \
//   npx playwright test -c end2end/playwright.config.mjs
//
// Optional: E2E_PORT (default 3107).
//
// Browsers are NOT downloaded by Playwright (`npx playwright install` is not
// used); the system Chromium at /usr/bin/chromium is launched instead.

import { defineConfig, devices } from '@playwright/test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const CONFIG_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(CONFIG_DIR, '..');

function configError(message) {
  return new Error(`[end2end/playwright.config.mjs] ${message}`);
}

function requireAbsoluteEnv(name, description) {
  const value = process.env[name];
  if (!value || !value.trim()) {
    throw configError(
      `environment variable ${name} is required: ${description}. ` +
        'Example: HIGHLIGHTER_BIN=$PWD/target/release/highlighter ' +
        'LEPTOS_SITE_ROOT=$PWD/target/site npx playwright test -c end2end/playwright.config.mjs',
    );
  }
  if (!path.isAbsolute(value)) {
    throw configError(`${name} must be an absolute path, got ${JSON.stringify(value)}`);
  }
  return value;
}

const HIGHLIGHTER_BIN = requireAbsoluteEnv(
  'HIGHLIGHTER_BIN',
  'absolute path to the built Highlighter server binary',
);
try {
  fs.accessSync(HIGHLIGHTER_BIN, fs.constants.X_OK);
} catch {
  throw configError(`HIGHLIGHTER_BIN=${HIGHLIGHTER_BIN} does not exist or is not executable`);
}

const LEPTOS_SITE_ROOT = requireAbsoluteEnv(
  'LEPTOS_SITE_ROOT',
  'absolute path to the built site directory (contains pkg/ with the wasm + js + css)',
);
if (!fs.existsSync(LEPTOS_SITE_ROOT) || !fs.statSync(LEPTOS_SITE_ROOT).isDirectory()) {
  throw configError(`LEPTOS_SITE_ROOT=${LEPTOS_SITE_ROOT} is not a directory`);
}

const PORT = Number.parseInt(process.env.E2E_PORT ?? '3107', 10);
if (!Number.isInteger(PORT) || PORT <= 0 || PORT > 65535) {
  throw configError(`E2E_PORT must be a TCP port number, got ${JSON.stringify(process.env.E2E_PORT)}`);
}
const ADDR = `127.0.0.1:${PORT}`;
const BASE_URL = `http://${ADDR}`;
// The web-only node (see webServer below).
const WEB_ONLY_ADDR = `127.0.0.1:${PORT + 1}`;
const WEB_ONLY_BASE_URL = `http://${WEB_ONLY_ADDR}`;
process.env.E2E_WEB_ONLY_BASE_URL = WEB_ONLY_BASE_URL;
// The dashboard's node (see webServer below): its own database, tokens
// set, and a remote engine that is down, so its jobs fail on demand.
const ADMIN_ADDR = `127.0.0.1:${PORT + 2}`;
const ADMIN_BASE_URL = `http://${ADMIN_ADDR}`;
process.env.E2E_ADMIN_BASE_URL = ADMIN_BASE_URL;
process.env.E2E_ADMIN_TOKEN = 'e2e-full-token-0123456789';
process.env.E2E_ADMIN_READONLY_TOKEN = 'e2e-read-only-token-0123456789';

// A fresh, empty database for every run. The config file is evaluated in the
// runner process *and* again in every worker process; the directory is created
// once in the runner and handed to the workers through the environment so that
// only one directory is created per run.
// (`--list` never starts the server, so it creates nothing.)
const LIST_ONLY = process.argv.includes('--list');
// The runner removes the directory when it exits (after the server has been
// stopped); set E2E_KEEP_DB=1 to keep it for debugging.
if (!process.env.HIGHLIGHTER_E2E_TMPDIR && !LIST_ONLY) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'highlighter-e2e-'));
  process.env.HIGHLIGHTER_E2E_TMPDIR = dir;
  process.on('exit', () => {
    if (process.env.E2E_KEEP_DB) {
      console.log(`[e2e] database kept in ${dir}`);
    } else {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}
const DB_PATH = path.join(process.env.HIGHLIGHTER_E2E_TMPDIR ?? os.tmpdir(), 'e2e.db');
const DATABASE_URL = `sqlite://${DB_PATH}`;

// The webServer command is run through a shell: quote the binary path.
const shellQuote = (s) => `'${s.replace(/'/g, `'\\''`)}'`;

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

/** One server process (on the shared database unless `env` names another), answering at `baseUrl`. */
function node(baseUrl, env) {
  return {
    command: shellQuote(HIGHLIGHTER_BIN),
    cwd: REPO_ROOT,
    // Ready, not just alive: tests start on a node whose engine is warm.
    url: `${baseUrl}/api/ready`,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: 'pipe',
    stderr: 'pipe',
    gracefulShutdown: { signal: 'SIGTERM', timeout: 5_000 },
    env: {
      HIGHLIGHTER_DATABASE_URL: DATABASE_URL,
      LEPTOS_SITE_ROOT,
      RUST_LOG: 'info',
      // Every page of the suite is one client (127.0.0.1): the per-client
      // limits, tested by the integration tests, are off here.
      HIGHLIGHTER_SUBMIT_PER_MINUTE: '0',
      HIGHLIGHTER_STREAMS_PER_CLIENT: '0',
      ...env,
    },
  };
}

export default defineConfig({
  testDir: './tests',
  // Root-level dirs so that the repository .gitignore entries apply.
  outputDir: path.join(REPO_ROOT, 'test-results'),
  fullyParallel: false,
  workers: 1,
  // No retries: CI is noisy, but a test that only passes on retry is lying.
  retries: 0,
  forbidOnly: !!process.env.CI,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: 'list',

  use: {
    baseURL: BASE_URL,
    actionTimeout: 15_000,
    navigationTimeout: 30_000,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },

  projects: [
    {
      name: 'chromium',
      use: {
        ...devices['Desktop Chrome'],
        launchOptions: {
          executablePath: '/usr/bin/chromium',
          args: CHROMIUM_ARGS,
        },
      },
    },
  ],

  // Two processes on one database: the main node (pages, API, workers)
  // and a web-only node (no workers). A snippet submitted to the web-only
  // node waits in the queue until the main node's workers are woken, which
  // the live-update test does only once its pages are open and hydrated.
  // The main node's fallback poll is slowed down so nothing else wakes them.
  webServer: [
    node(BASE_URL, { HIGHLIGHTER_ADDR: ADDR, HIGHLIGHTER_POLL_SECS: '600' }),
    node(WEB_ONLY_BASE_URL, { HIGHLIGHTER_ADDR: WEB_ONLY_ADDR, HIGHLIGHTER_ROLE: 'web' }),
    node(ADMIN_BASE_URL, {
      HIGHLIGHTER_ADDR: ADMIN_ADDR,
      HIGHLIGHTER_DATABASE_URL: `sqlite://${path.join(process.env.HIGHLIGHTER_E2E_TMPDIR ?? os.tmpdir(), 'admin.db')}`,
      HIGHLIGHTER_ADMIN_TOKEN: process.env.E2E_ADMIN_TOKEN,
      HIGHLIGHTER_ADMIN_READONLY_TOKEN: process.env.E2E_ADMIN_READONLY_TOKEN,
      // The suite signs in eight times from one address, within a minute
      // on a fast host: more than the default 10 a minute, 5 at once.
      HIGHLIGHTER_SIGN_INS_PER_MINUTE: '120',
      // Nothing listens on the discard port: every attempt fails, once.
      HIGHLIGHTER_ENGINE: 'remote',
      HIGHLIGHTER_REMOTE_URL: 'http://127.0.0.1:9/api',
      HIGHLIGHTER_MAX_ATTEMPTS: '1',
    }),
  ],
});
