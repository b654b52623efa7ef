// The seed's walk-through in the web console, in Debian's Chromium, driven by
// playwright-core. Run by crates/skms/tests/console_e2e.rs, in two phases
// around the KMIP part the Rust test does itself (PyKMIP creates a key with
// the app's credentials, vCenter's captured Add Attribute tags it):
//
//   node walkthrough.mjs setup   sign in as the account admin, create the app
//                                "vcenter" (KMIP, API key), VIEW CREDENTIALS;
//                                writes the credentials to $OUT
//   node walkthrough.mjs verify  the key under Security Objects with its VM,
//                                its detail and audit trail, the app switched
//                                to certificate authentication with a pinned
//                                PEM, the audit log and its chain; an auditor
//                                sees no action button; another account's
//                                admin does not see the key; the sysadmin's
//                                accounts page
//
// Screenshots of every main page go to $SHOTS. Any JavaScript error or CSP
// violation in the browser fails the run.

import { chromium } from 'playwright-core';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const URL = env('SKMS_URL');
const SHOTS = env('SHOTS');
const STATE = env('STATE');
mkdirSync(SHOTS, { recursive: true });

const problems = [];
const sel = (test) => `[data-test="${test}"]`;

async function open(browser, storageState) {
  const context = await browser.newContext({
    ignoreHTTPSErrors: true,
    viewport: { width: 1360, height: 860 },
    storageState,
  });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  page.on('console', (m) => {
    // A refused request (401, 403, 404) is logged by Chromium as an error: expected in this test.
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) {
      problems.push(`console error: ${m.text()}`);
    }
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  return { context, page };
}

async function shot(page, name) {
  await page.waitForTimeout(150);
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

async function signIn(page, user, password) {
  await page.goto(`${URL}/console/`);
  await page.waitForSelector(sel('signin-form'));
  await page.fill(sel('signin-username'), user);
  await page.fill(sel('signin-password'), password);
  await page.click(sel('signin-submit'));
  await page.waitForSelector(sel('signout'));
}

async function text(page, test) {
  return (await page.locator(sel(test)).first().innerText()).trim();
}

function check(cond, what) {
  if (!cond) throw new Error(`expected: ${what}`);
}

async function setup(browser) {
  const { context, page } = await open(browser);
  await page.goto(`${URL}/console/`);
  await page.waitForSelector(sel('signin-form'));
  await shot(page, '01-sign-in');
  await signIn(page, env('ADMIN_USER'), env('ADMIN_PASSWORD'));
  await page.waitForSelector(sel('dashboard-counts'));
  check((await text(page, 'topbar-account')).includes('acme'), 'the top bar names the account');
  await shot(page, '02-dashboard');

  // Create the app vCenter uses: interface KMIP, authentication API key.
  await page.click(sel('nav-apps'));
  await page.waitForSelector(sel('app-create'));
  await shot(page, '03-apps-empty');
  await page.click(sel('app-create'));
  await page.fill(sel('app-name'), 'vcenter');
  check(await page.isChecked(sel('app-iface-kmip')), 'KMIP is the default interface');
  await page.check(sel('app-auth-api-key'));
  await page.click(sel('confirm-ok'));

  // VIEW CREDENTIALS: the secret only after an explicit click.
  await page.waitForSelector(sel('app-credentials-show'));
  check((await page.locator(sel('credential-password')).count()) === 0, 'no secret before the click');
  await page.click(sel('app-credentials-show'));
  await page.waitForSelector(sel('credential-password'));
  const username = await page.inputValue(sel('credential-username'));
  const password = await page.inputValue(sel('credential-password'));
  check(/^[0-9a-f-]{36}$/.test(username), `a UUID username, got ${username}`);
  check(password.length >= 32, 'a secret');
  await shot(page, '04-app-credentials');
  writeFileSync(env('OUT'), JSON.stringify({ username, password, app: page.url() }));
  await context.storageState({ path: STATE });
  await context.close();
}

async function verify(browser) {
  const keyId = env('KEY_ID');
  const app = JSON.parse(readFileSync(env('OUT'), 'utf8')).app;
  const { context, page } = await open(browser, STATE);

  // The key vCenter (PyKMIP here) created, with the VM it belongs to.
  await page.goto(`${URL}/console/#/objects`);
  await page.waitForSelector(sel('object-row'));
  const row = page.locator(sel('object-row'), { hasText: 'test01' });
  check((await row.count()) === 1, 'the key shows its x-Name "test01"');
  check((await row.innerText()).includes('Virtual Machine'), 'and its x-Component');
  await shot(page, '05-security-objects');

  // Search by the VM's name: just this key.
  await page.fill(sel('objects-filter-attr-key'), 'x-Name');
  await page.fill(sel('objects-filter-attr-value'), 'test01');
  await page.click(sel('objects-filter-apply'));
  await page.waitForFunction(
    (s) => document.querySelectorAll(s).length === 1,
    sel('object-row'),
  );

  // Its detail: attributes, and its own audit trail with the KMIP operations.
  await page.goto(`${URL}/console/#/objects/${keyId}`);
  await page.waitForSelector(sel('object-attributes'));
  check((await text(page, 'object-id')).includes(keyId), 'the detail names the key');
  check((await text(page, 'object-attributes')).includes('x-Name'), 'the attributes list x-Name');
  await page.waitForSelector(`${sel('object-audit')} >> text=/Create/`);
  await shot(page, '06-object-detail');

  // The admin may act: Activate, behind a confirmation naming the key.
  await page.click(sel('object-action-activate'));
  const dialog = page.locator('dialog[open]');
  check((await dialog.innerText()).includes(keyId), 'the confirmation names the key');
  await shot(page, '07-confirm-activate');
  await page.click(sel('confirm-ok'));
  await page.waitForSelector(`${sel('state-badge')} >> text=/Active/`);

  // Switch the app to certificate authentication with a pinned certificate.
  await page.goto(app.replace(/\?.*$/, '') + '?tab=certificates');
  await page.waitForSelector(sel('app-pin-pem'));
  await page.fill(sel('app-pin-pem'), readFileSync(env('PIN_PEM'), 'utf8'));
  await page.click(sel('app-pin-submit'));
  await page.waitForSelector(`${sel('app-certs-table')} >> text=/vcenter.example/`);
  await page.check(sel('app-auth-certificate'));
  await page.click(sel('app-auth-method-save'));
  await page.waitForSelector(sel('toast'));
  await shot(page, '08-app-certificates');

  // vCenter's "KMS certificate and private key": a PKCS#12 file the account CA issues.
  await page.selectOption(sel('app-issue-format'), 'pkcs12');
  await page.fill(sel('app-issue-password'), env('P12_PASSWORD'));
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.click(sel('app-issue-submit')),
  ]);
  check(download.suggestedFilename() === 'vcenter.p12', `a .p12 file, got ${download.suggestedFilename()}`);
  await download.saveAs(env('P12_OUT'));
  await page.waitForSelector(sel('issued-p12'));

  // The audit log: the app's creation, the viewed credentials, the KMIP
  // operations; the chain verifies.
  await page.click(sel('nav-audit'));
  await page.waitForSelector(sel('audit-row'));
  const log = await text(page, 'audit-table');
  check(/credentials/.test(log), 'the credentials view is audited');
  check(/Create/.test(log), 'the KMIP Create is in the log');
  await page.click(sel('audit-verify'));
  await page.waitForSelector(`${sel('audit-verify-result')} >> text=/intact/i`);
  await shot(page, '09-audit-log');

  // Users and roles: the auditor, its group roles as held now.
  await page.click(sel('nav-users'));
  await page.waitForSelector(`${sel('user-row')} >> text=/acme-auditor/`);
  await page.locator(sel('user-row'), { hasText: 'acme-auditor' }).locator(sel('user-action-groups')).click();
  await page.waitForSelector('dialog[open] select');
  await shot(page, '10-user-group-roles');
  await page.click(sel('confirm-cancel'));
  await page.click(sel('signout'));
  await page.waitForSelector(sel('signin-form'));
  await context.close();

  // An auditor looks and cannot act: no action button anywhere.
  {
    const { context, page } = await open(browser);
    await signIn(page, env('AUDITOR_USER'), env('AUDITOR_PASSWORD'));
    await page.goto(`${URL}/console/#/objects`);
    await page.waitForSelector(sel('object-row'));
    check((await page.locator(sel('object-create')).count()) === 0, 'an auditor has no Create');
    check((await page.locator(sel('object-import')).count()) === 0, 'an auditor has no Import');
    await page.goto(`${URL}/console/#/objects/${keyId}`);
    await page.waitForSelector(sel('object-attributes'));
    check(
      (await page.locator('[data-test^="object-action-"]').count()) === 0,
      'an auditor sees no action button',
    );
    await shot(page, '11-auditor-object');
    await context.close();
  }

  // Another account's admin: the key does not exist for it.
  {
    const { context, page } = await open(browser);
    await signIn(page, env('OTHER_USER'), env('OTHER_PASSWORD'));
    await page.goto(`${URL}/console/#/objects`);
    await page.waitForSelector(sel('objects-table'));
    check((await page.locator(sel('object-row')).count()) === 0, 'another account sees no key');
    await page.goto(`${URL}/console/#/objects/${keyId}`);
    await page.waitForSelector(sel('error-message'));
    check(/no object|not found/i.test(await text(page, 'error-message')), 'not found');
    await shot(page, '12-other-account');
    await context.close();
  }

  // The provider: accounts with their usage, the server's certificate.
  {
    const { context, page } = await open(browser);
    await signIn(page, env('SYSADMIN_USER'), env('SYSADMIN_PASSWORD'));
    await page.waitForSelector(sel('account-row'));
    check((await page.locator(sel('account-row')).count()) === 2, 'two accounts');
    await shot(page, '13-accounts');
    await page.click(sel('nav-server'));
    await page.waitForSelector(sel('server-cert'));
    await shot(page, '14-server-certificate');
    await context.close();
  }
}

const phase = process.argv[2];
const browser = await chromium.launch({
  executablePath: env('CHROMIUM'),
  args: ['--no-sandbox'],
});
try {
  if (phase === 'setup') await setup(browser);
  else if (phase === 'verify') await verify(browser);
  else throw new Error(`unknown phase ${phase}: setup or verify`);
} finally {
  await browser.close();
}
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(`${phase}: ok`);
