// Browser test of the demo app: headless Chromium uses it as a person would
// (types, clicks, reads what the page shows) against a real Tenantry server,
// cross-origin through the server's CORS allow-list.
//
// Environment:
//   TENANTRY_URL      required. The server, e.g. http://127.0.0.1:50051. It must
//                     allow the demo's origin: --cors-origin http://127.0.0.1:$DEMO_PORT
//   DEMO_PORT         port to serve the demo on, at http://127.0.0.1:$DEMO_PORT
//                     (default 0: any free port, printed on stderr before use).
//   DEMO_HOST         the host name of the demo's origin (default 127.0.0.1).
//                     With a domain such as `localhost` (passkeys need one),
//                     the person also adds a passkey (Chromium's virtual
//                     authenticator), signs in with it, and uses it as the
//                     second step after the password.
//   DEMO_DIR          the built demo to serve (default: built now, with esbuild,
//                     into a temporary folder).
//   DEMO_URL          use a demo already served there instead (DEMO_PORT and
//                     DEMO_DIR are then ignored; the page is told the server
//                     with ?server=).
//   SCREENSHOT        PNG to write (default test-output/demo.png in client/web);
//                     written on failure too.
//   TENANTRY_CHROMIUM Chromium to drive (default /usr/bin/chromium).
//   TEST_TIMEOUT_MS   how long one step may wait for the page (default 30000).
//
// Needs `npm ci` in client/web (esbuild, playwright-core). Prints one JSON
// line on stdout when everything worked, exit 0; otherwise a message on
// stderr naming the step that failed, exit 1. Progress goes to stderr.

import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { buildDemo } from '../scripts/build.mjs';
import { serveDemo } from '../scripts/serve.mjs';

const webDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const env = process.env;
const tenantryUrl = env.TENANTRY_URL?.replace(/\/+$/, '');
if (!tenantryUrl) fail('TENANTRY_URL is required (the Tenantry server, e.g. http://127.0.0.1:50051)');
const screenshot = path.resolve(env.SCREENSHOT || path.join(webDir, 'test-output/demo.png'));
const timeout = Number(env.TEST_TIMEOUT_MS || 30_000);
const started = Date.now();
const log = (line) => process.stderr.write(`demo.browser: ${line}\n`);

// The demo: one already served, or ours on the given port.
let demoUrl;
let stopServing = async () => {};
let scratch;
if (env.DEMO_URL) {
  const url = new URL(env.DEMO_URL);
  url.searchParams.set('server', tenantryUrl);
  demoUrl = url.href;
} else {
  let dir = env.DEMO_DIR;
  if (!dir) {
    scratch = mkdtempSync(path.join(tmpdir(), 'tenantry-demo-'));
    dir = await buildDemo(scratch);
  }
  const served = await serveDemo({ dir, port: Number(env.DEMO_PORT || 0), host: env.DEMO_HOST || '127.0.0.1', tenantryUrl });
  demoUrl = `${served.origin}/`;
  stopServing = served.close;
}
const origin = new URL(demoUrl).origin;
log(`demo at ${origin}, server ${tenantryUrl}`);

const browser = await chromium.launch({
  executablePath: env.TENANTRY_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  // Root in a container has no user namespace for the sandbox; the rest
  // keeps Chromium from calling out (refused here anyway).
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 960 } });
const page = await context.newPage();
page.setDefaultTimeout(timeout);
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(String(e)));
page.on('console', (m) => m.type() === 'error' && pageErrors.push(`console: ${m.text()}`));
// Every answer of the server as the page saw it: proof the calls crossed origins under CORS.
const serverAnswers = [];
page.on('response', (r) => {
  if (r.url().startsWith(tenantryUrl + '/')) serverAnswers.push({ url: r.url(), allowOrigin: r.headers()['access-control-allow-origin'] });
});

const n = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const email = `ann-${n}@example.com`;
const password = 'correct horse battery staple';
const result = { ok: true, origin, server: tenantryUrl, email };
let current = 'start';

async function step(name, run) {
  current = name;
  log(name);
  await run();
}

/** The element's text once it matches `pattern` (waits for the page to show it). */
async function textOf(locator, pattern) {
  await locator.filter({ hasText: pattern }).first().waitFor();
  return (await locator.first().textContent()).trim();
}

try {
  await step('open the demo', async () => {
    await page.goto(demoUrl);
    await page.locator('#sign-up').waitFor();
  });

  const signUp = page.locator('#sign-up');
  await step('sign up with a short password: the error shows under the password field', async () => {
    await signUp.getByLabel('Email').fill(email);
    await signUp.getByLabel('Display name').fill('Ann Demo');
    await signUp.getByLabel('Password').fill('short');
    await signUp.getByRole('button', { name: 'Sign up' }).click();
    const slot = signUp.locator('.field-error[data-for="password"]');
    const text = await textOf(slot, /\S/);
    const input = await signUp.getByLabel('Password').boundingBox();
    const below = await slot.boundingBox();
    const gap = below.y - (input.y + input.height);
    if (gap < 0 || gap > 24 || Math.abs(below.x - input.x) > 24) {
      throw new Error(`the password error is not next to its field (input ${JSON.stringify(input)}, error ${JSON.stringify(below)})`);
    }
    const others = await signUp.locator('.field-error:not([data-for="password"]), .form-error').allTextContents();
    if (others.some((t) => t.trim())) throw new Error(`errors shown elsewhere too: ${JSON.stringify(others)}`);
    result.fieldError = { form: 'sign-up', field: 'password', text };
  });

  await step('sign up', async () => {
    await signUp.getByLabel('Password').fill(password);
    await signUp.getByRole('button', { name: 'Sign up' }).click();
    await textOf(page.locator('#whoami'), email);
  });

  await step('sign out', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('#sign-in').waitFor();
    await textOf(page.locator('#notice'), 'Signed out');
  });

  await step('sign in', async () => {
    const signIn = page.locator('#sign-in');
    await signIn.getByLabel('Email').fill(email);
    await signIn.getByLabel('Password').fill(password);
    await signIn.getByRole('button', { name: 'Sign in' }).click();
    result.signedInAs = await textOf(page.locator('#whoami'), email);
    await textOf(page.locator('#current-org'), 'no organization');
  });

  if (!/^[\d.]+$/.test(new URL(origin).hostname)) await passkeySteps();

  const createOrg = page.locator('#create-org');
  const slugA = `acme-${n}`;
  await step('create an organization with a bad slug: the error shows under the slug field', async () => {
    await createOrg.getByLabel('Name').fill('Acme');
    await createOrg.getByLabel('Slug').fill('Not a slug!');
    await createOrg.getByRole('button', { name: 'Create' }).click();
    result.slugError = await textOf(createOrg.locator('.field-error[data-for="slug"]'), /\S/);
  });

  await step('create two organizations and switch back to the first', async () => {
    await createOrg.getByLabel('Slug').fill(slugA);
    await createOrg.getByRole('button', { name: 'Create' }).click();
    await textOf(page.locator('#current-org'), 'Working in Acme as owner');
    await createOrg.getByLabel('Name').fill('Globex');
    await createOrg.getByLabel('Slug').fill(`globex-${n}`);
    await createOrg.getByRole('button', { name: 'Create' }).click();
    await textOf(page.locator('#current-org'), 'Working in Globex as owner');
    await page.getByRole('button', { name: 'Switch to Acme' }).click();
    result.organization = await textOf(page.locator('#current-org'), 'Working in Acme as owner');
  });

  await step('invite someone', async () => {
    const invite = page.locator('#invite');
    await invite.getByLabel('Email').fill(`bob-${n}@example.com`);
    await invite.getByLabel('Role').selectOption({ label: 'Member' });
    await invite.getByRole('button', { name: 'Invite' }).click();
    const text = await textOf(page.locator('#invite-result'), 'inv_');
    result.invitation = text.replace(/inv_\S+/, 'inv_…');
  });

  const bytes = randomBytes(1_300_000); // three chunks of the demo's 512 KiB
  const name = `report-${n}.bin`;
  await step('upload a file: the progress bar reaches 100% and the file is listed', async () => {
    // Every text the percentage shows, in order.
    await page.evaluate(() => {
      const el = document.querySelector('#upload-percent');
      window.seenProgress = [];
      new MutationObserver(() => window.seenProgress.push(el.textContent)).observe(el, { childList: true, characterData: true, subtree: true });
    });
    const upload = page.locator('#upload');
    await upload.getByLabel('File').setInputFiles({ name, mimeType: 'application/octet-stream', buffer: bytes });
    await upload.getByRole('button', { name: 'Upload' }).click();
    await textOf(page.locator('#notice'), `Uploaded ${name}`);
    const percent = await textOf(page.locator('#upload-percent'), /^100%/);
    const bar = await page.locator('#upload-progress').evaluate((p) => p.value);
    if (bar !== 100) throw new Error(`the progress bar shows ${bar}, not 100`);
    const seen = await page.evaluate(() => window.seenProgress);
    result.uploadProgress = [...new Set(seen.map((t) => Number.parseInt(t, 10)).filter((v) => !Number.isNaN(v)))];
    result.uploadShown = percent;
    const row = page.locator('#file-list tr', { hasText: name });
    await row.waitFor();
    result.listed = (await row.locator('td').allTextContents()).slice(0, 3);
  });

  await step('download the file: the same bytes come back', async () => {
    const row = page.locator('#file-list tr', { hasText: name });
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      row.getByRole('button', { name: `Download ${name}` }).click(),
    ]);
    const got = readFileSync(await download.path());
    if (!got.equals(bytes)) throw new Error(`downloaded ${got.length} bytes that differ from the ${bytes.length} uploaded`);
    result.downloaded = { bytes: got.length, suggestedName: download.suggestedFilename(), equal: true };
    result.downloadShown = await textOf(page.locator('#download-status'), 'SHA-256 matches');
  });

  await step('screenshot', async () => {
    mkdirSync(path.dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
    result.screenshot = screenshot;
  });

  await step('delete the file: it leaves the list', async () => {
    const row = page.locator('#file-list tr', { hasText: name });
    await row.getByRole('button', { name: `Delete ${name}` }).click();
    await textOf(page.locator('#notice'), `Deleted ${name}`);
    await row.waitFor({ state: 'detached' });
    result.deleted = true;
  });

  current = 'check the cross-origin answers';
  const refused = serverAnswers.filter((a) => a.allowOrigin !== origin);
  if (!serverAnswers.length || refused.length) {
    throw new Error(`answers without access-control-allow-origin ${origin}: ${JSON.stringify(refused.slice(0, 3))}`);
  }
  result.serverCalls = serverAnswers.length;
  if (pageErrors.length) throw new Error(`the page logged errors: ${pageErrors.join(' | ')}`);
  result.elapsedMs = Date.now() - started;
  process.stdout.write(JSON.stringify(result) + '\n');
  await finish(0);
} catch (e) {
  try {
    mkdirSync(path.dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
  } catch {
    // The page may be gone; the message below still says what failed.
  }
  const shown = await page.locator('#notice, .form-error, .field-error').allTextContents().catch(() => []);
  process.stderr.write(
    `demo browser test FAILED at step "${current}": ${e?.message ?? e}\n` +
      `  the page shows: ${JSON.stringify(shown.map((t) => t.trim()).filter(Boolean))}\n` +
      (pageErrors.length ? `  page errors: ${pageErrors.join(' | ')}\n` : '') +
      `  screenshot: ${screenshot}\n`,
  );
  await finish(1);
}

/** A passkey added, then used alone and as the second step (a domain origin only). */
async function passkeySteps() {
  await step('add a passkey: recovery codes are shown once', async () => {
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    });
    const add = page.locator('#add-passkey');
    await add.getByLabel('Your password').fill(password);
    await add.getByLabel('Name').fill('Laptop');
    await add.getByRole('button', { name: 'Add a passkey' }).click();
    const shown = await textOf(page.locator('#passkey-result'), 'Laptop');
    const codes = await page.locator('#passkey-result code').textContent();
    result.passkey = { added: shown.replace(/:.*/, ''), recoveryCodes: codes.trim().split(/\s+/).length };
    await textOf(page.locator('#passkey-count'), 'Laptop');
  });

  await step('sign out, then sign in with the passkey alone', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Use a passkey' }).click();
    result.passkey.signedInAs = await textOf(page.locator('#whoami'), email);
  });

  await step('sign out, sign in with the password: the passkey is the second step', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    const signIn = page.locator('#sign-in');
    await signIn.getByLabel('Email').fill(email);
    await signIn.getByLabel('Password').fill(password);
    await signIn.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Use my passkey' }).click();
    result.passkey.secondStepAs = await textOf(page.locator('#whoami'), email);
  });
}

async function finish(code) {
  await browser.close().catch(() => {});
  await stopServing();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  process.exit(code);
}

function fail(message) {
  process.stderr.write(`demo browser test: ${message}\n`);
  process.exit(1);
}
